#include "gateway/daemon/security_setup.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace vcgate::daemon {

core::Result<std::optional<bus::CurveServer>> curveServerFrom(const config::SecurityConfig& security) {
  if (!security.curve) return std::optional<bus::CurveServer>{};
  auto keys = bus::readSecretKeyFile(security.secret_key_file);
  if (!keys) return core::makeError("security.secret_key_file: " + keys.error().message);
  bus::CurveServer server;
  server.keys = std::move(*keys);
  for (const auto& c : security.clients) {
    // The loader checked both; a role it let through is one of the three.
    server.clients.push_back({c.name, c.public_key, bus::parseRole(c.role).value_or(bus::Role::kViewer)});
  }
  return std::optional<bus::CurveServer>{std::move(server)};
}

void warnAboutClearText(const config::Config& config) {
  if (config.security.curve) return;
  std::vector<std::string> endpoints = config.bus.publish;
  endpoints.insert(endpoints.end(), config.bus.commands.begin(), config.bus.commands.end());
  for (const auto& e : endpoints) {
    if (!e.starts_with("tcp://")) continue;
    const std::string host = e.substr(6, e.rfind(':') == std::string::npos ? std::string::npos : e.rfind(':') - 6);
    if (host == "127.0.0.1" || host == "localhost" || host == "[::1]")
      spdlog::warn("bus endpoint {} is in the clear (security.curve is off): only for a demo or a test on "
                   "this machine",
                   e);
    else
      spdlog::warn("bus endpoint {} is not encrypted and lets anyone in: turn on security.curve "
                   "(docs/security.md)",
                   e);
  }
}

namespace {

// chown -R, without following symbolic links.
core::Result<void> handOver(const std::string& root, uid_t uid, gid_t gid) {
  std::error_code ec;
  if (std::filesystem::weakly_canonical(root, ec) == "/")
    return core::makeError("a storage directory is '/': refusing to hand the whole system to the user");
  if (!std::filesystem::exists(root, ec)) return {};
  const auto give = [&](const std::filesystem::path& p) -> core::Result<void> {
    if (::lchown(p.c_str(), uid, gid) != 0)
      return core::makeError(fmt::format("cannot hand {} to the user: {}", p.string(), std::strerror(errno)));
    return {};
  };
  if (auto given = give(root); !given) return given;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (auto given = give(it->path()); !given) return given;
  if (ec) return core::makeError(fmt::format("cannot hand {} to the user: {}", root, ec.message()));
  return {};
}

}  // namespace

core::Result<void> dropPrivileges(const std::string& user, const std::vector<std::string>& owned) {
  if (user.empty()) return {};
  errno = 0;
  const passwd* entry = ::getpwnam(user.c_str());
  if (!entry)
    return core::makeError(fmt::format("security.user: no user '{}' on this system{}", user,
                                       errno ? std::string(": ") + std::strerror(errno) : ""));
  if (::geteuid() == entry->pw_uid) return {};
  if (::geteuid() != 0)
    return core::makeError(fmt::format("security.user is '{}' but the daemon runs as uid {}, not root: it cannot "
                                       "switch (start it as root, or as '{}' directly)",
                                       user, ::geteuid(), user));
  for (const auto& path : owned)
    if (auto given = handOver(path, entry->pw_uid, entry->pw_gid); !given) return given;
  // Groups first: once the uid is gone, so is the right to change them.
  if (::initgroups(entry->pw_name, entry->pw_gid) != 0 || ::setgid(entry->pw_gid) != 0 ||
      ::setuid(entry->pw_uid) != 0)
    return core::makeError(fmt::format("cannot switch to user '{}': {}", user, std::strerror(errno)));
  // setuid as root drops the saved uid too; prove it cannot come back.
  if (::setuid(0) == 0) return core::makeError("dropped root but could regain it; refusing to run");
  return {};
}

}  // namespace vcgate::daemon
