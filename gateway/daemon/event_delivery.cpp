#include "gateway/daemon/event_delivery.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "gateway/bus/protocol.h"

namespace vcgate::daemon {

EventDelivery::EventDelivery(std::unique_ptr<journal::Journal> journal, bus::Publisher& publisher, std::string site,
                             std::string active_file, const core::Clock& clock)
    : journal_(std::move(journal)),
      publisher_(publisher),
      site_(std::move(site)),
      active_file_(std::move(active_file)),
      clock_(clock) {
  // What a previous run left unacknowledged goes out again at once.
  if (journal_)
    for (const auto& pending : journal_->unacknowledged()) next_send_[pending.seq] = clock_.now();
}

void EventDelivery::onEvent(const alarm::AlarmEvent& event, const std::vector<alarm::Alarm>& active_now) {
  uint64_t event_id = 0;
  if (journal_) {
    bus::AlarmEventMessage record;
    record.site = site_;
    record.time_us = clock_.wallMicros();
    record.event = event;
    if (auto appended = journal_->append(bus::encodeAlarmEvent(record))) {
      event_id = *appended;
      next_send_[event_id] = clock_.now() + kFirstResend;
    } else {
      // Announcing it anyway beats hiding it; the technician sees why in the log and the status.
      spdlog::error("alarm {} {}: not journaled: {}", event.alarm.id.hex(), alarm::eventName(event.kind),
                    appended.error().message);
    }
  }
  saveActive(active_now);
  publisher_.onAlarmEvent(event, event_id);
}

void EventDelivery::tick() {
  if (!journal_) return;
  const auto now = clock_.now();
  // The oldest entries only: they go first, and a huge backlog costs nothing per tick.
  for (const auto& pending : journal_->unacknowledged(kResendBatch)) {
    auto due = next_send_.find(pending.seq);
    if (due == next_send_.end()) due = next_send_.emplace(pending.seq, now).first;
    if (due->second > now) continue;
    auto decoded = bus::decodeAlarmEvent(pending.payload);
    if (!decoded) {
      spdlog::error("journal event {} cannot be decoded ({}); acknowledging it to unblock the backlog", pending.seq,
                    decoded.error().message);
      (void)journal_->acknowledge(pending.seq);
      continue;
    }
    journal_->recordAttempt(pending.seq);
    const uint32_t attempt = pending.attempts + 1;
    publisher_.resendAlarmEvent(decoded->event, pending.seq, attempt);
    const auto delay = std::min<std::chrono::seconds>(kMaxResend, kFirstResend * (1 << std::min<uint32_t>(attempt, 5)));
    due->second = now + delay;
  }
  std::erase_if(next_send_, [this](const auto& item) { return !journal_->pending(item.first); });
  if (now >= next_expiry_) {
    next_expiry_ = now + std::chrono::minutes(1);
    if (auto expired = journal_->expire(clock_.wallMicros()); expired && *expired)
      spdlog::warn("journal: {} unacknowledged event(s) expired (older than the journal's max age or beyond its "
                   "backlog limit)",
                   *expired);
  }
  if (auto synced = journal_->syncIfDue(); !synced) spdlog::error("journal: {}", synced.error().message);
}

core::Result<size_t> EventDelivery::acknowledge(const std::vector<uint64_t>& event_ids) {
  if (!journal_) return core::makeCodedError("unavailable", "this gateway runs without a journal (see its log)");
  auto acked = journal_->acknowledge(std::span<const uint64_t>(event_ids));
  if (!acked) return core::makeCodedError("internal", acked.error().message);
  return *acked;
}

void EventDelivery::saveActive(const std::vector<alarm::Alarm>& active) const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& a : active) {
    bus::AlarmEventMessage m;
    m.site = site_;
    m.event = {alarm::AlarmEventKind::kRaised, a};
    list.push_back(nlohmann::json::parse(bus::encodeAlarmEvent(m)));
  }
  // Written aside and renamed: a crash leaves the old file or the new one, never half of one.
  const std::string temporary = active_file_ + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << list.dump() << "\n";
    out.flush();
    if (!out) {
      // A full disk: keep the last complete file rather than replace it with a cut one.
      spdlog::error("cannot save the active alarms to {}: {} (the previous list stays)", temporary,
                    std::strerror(errno));
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, active_file_, ec);
  if (ec) spdlog::error("cannot save the active alarms to {}: {}", active_file_, ec.message());
}

std::vector<alarm::Alarm> EventDelivery::loadActive(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  const auto list = nlohmann::json::parse(text.str(), nullptr, false);
  std::vector<alarm::Alarm> out;
  if (!list.is_array()) {
    spdlog::error("{} is not readable; no alarm is restored", path);
    return out;
  }
  for (const auto& item : list) {
    auto decoded = bus::decodeAlarmEvent(item.dump());
    if (decoded) out.push_back(decoded->event.alarm);
  }
  return out;
}

}  // namespace vcgate::daemon
