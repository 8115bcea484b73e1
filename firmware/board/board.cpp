#include "firmware/board/board.h"

#include <cctype>
#include <set>

#include <fmt/format.h>

#include "firmware/board/linux_board.h"
#include "firmware/board/simulated_board.h"

namespace vcgate::board {

std::string_view toString(BoardKind kind) { return kind == BoardKind::kLinux ? "linux" : "simulated"; }

std::optional<BoardKind> parseBoardKind(std::string_view name) {
  if (name == "linux") return BoardKind::kLinux;
  if (name == "simulated") return BoardKind::kSimulated;
  return std::nullopt;
}

namespace {

bool validId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char ch : id)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.')) return false;
  return true;
}

}  // namespace

core::Result<void> validate(const BoardConfig& c) {
  std::set<std::string> ids;
  std::set<unsigned> lines;
  for (const auto& in : c.inputs) {
    if (!validId(in.id))
      return core::makeError(fmt::format("board input '{}': the id must be 1-64 characters of A-Z a-z 0-9 _ - .", in.id));
    if (!ids.insert(in.id).second) return core::makeError(fmt::format("board input '{}' is defined twice", in.id));
    if (in.debounce.count() < 0 || in.debounce.count() > 10'000)
      return core::makeError(fmt::format("board input '{}': debounce_ms must be in [0, 10000]", in.id));
    if (c.kind == BoardKind::kLinux && !lines.insert(in.line).second)
      return core::makeError(fmt::format("board input '{}': line {} is used twice", in.id, in.line));
  }
  std::set<std::string> out_ids;
  for (const auto& out : c.outputs) {
    if (!validId(out.id))
      return core::makeError(fmt::format("board output '{}': the id must be 1-64 characters of A-Z a-z 0-9 _ - .", out.id));
    if (!out_ids.insert(out.id).second)
      return core::makeError(fmt::format("board output '{}' is defined twice", out.id));
    if (c.kind == BoardKind::kLinux && !lines.insert(out.line).second)
      return core::makeError(fmt::format("board output '{}': line {} is used twice", out.id, out.line));
  }
  if (c.kind == BoardKind::kLinux && c.chip.empty()) return core::makeError("board.chip is empty");
  if (c.kind == BoardKind::kSimulated && c.control_path.empty()) return core::makeError("board.control_path is empty");
  if (c.watchdog.enabled && c.watchdog.device.empty()) return core::makeError("board.watchdog.device is empty");
  if (c.watchdog.timeout_s < 0 || c.watchdog.timeout_s > 3600)
    return core::makeError("board.watchdog.timeout_s must be in [0, 3600]");
  return {};
}

core::Result<std::unique_ptr<Board>> makeBoard(const BoardConfig& config, core::Clock& clock) {
  if (auto ok = validate(config); !ok) return ok.error();
  if (config.kind == BoardKind::kLinux) return std::unique_ptr<Board>(std::make_unique<LinuxBoard>(config, clock));
  return std::unique_ptr<Board>(std::make_unique<SimulatedBoard>(config, clock));
}

}  // namespace vcgate::board
