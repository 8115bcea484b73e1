// journal_bench: what the alarm journal costs, on the real file systems of
// the machine it runs on.
//   - append latency (p50, p99, max) with the default fsync policy (always)
//     and with `never`, in a fresh journal under each directory given;
//   - time to recover (open) a journal of N events of which half are
//     acknowledged, with its files in the page cache and evicted from it.
// Payloads are real alarm events as the bus encodes them (about 450 bytes).
// Prints a Markdown table (the form of docs/benchmarks.md) or JSON.
//
//   journal_bench [--dir DIR]... [--appends N] [--recover-events N] [--json]
// Defaults: --dir /tmp --dir /var/tmp --appends 2000 --recover-events 100000.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gateway/bus/protocol.h"
#include "gateway/journal/journal.h"

namespace {

namespace fs = std::filesystem;
using vcgate::journal::FsyncPolicy;
using vcgate::journal::Journal;
using vcgate::journal::JournalOptions;
using Clock = std::chrono::steady_clock;

std::string eventJson(uint64_t n) {
  vcgate::bus::AlarmEventMessage m;
  m.boot_id = 0x5eed;
  m.seq = n;
  m.time_us = 1'764'000'000'000'000 + static_cast<int64_t>(n) * 1000;
  m.site = "central-station";
  m.event.kind = vcgate::alarm::AlarmEventKind::kRaised;
  auto& a = m.event.alarm;
  for (size_t i = 0; i < a.id.bytes.size(); ++i) a.id.bytes[i] = static_cast<uint8_t>(n >> (i % 8 * 8));
  a.source = "analytics";
  a.type = "intrusion";
  a.level = 1 + static_cast<int>(n % 3);
  a.cameras = {"platform-2-north", "platform-2-south"};
  a.description = "person on the tracks, platform 2";
  a.raised_us = m.time_us;
  a.updated_us = m.time_us;
  a.pre_roll_s = 10;
  a.post_roll_s = 10;
  return vcgate::bus::encodeAlarmEvent(m);
}

struct TempJournalDir {
  explicit TempJournalDir(const std::string& base) {
    std::string pattern = base + "/vcgate-journal-bench-XXXXXX";
    if (::mkdtemp(pattern.data())) path = pattern;
  }
  ~TempJournalDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
  std::string path;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

std::string fileSystemOf(const std::string& dir) {
  // The mount that holds `dir`: the longest mount point that is a prefix of it.
  std::string best_point, best_type, best_device;
  std::FILE* mounts = std::fopen("/proc/self/mounts", "r");
  if (!mounts) return "?";
  char device[512], point[512], type[64];
  const std::string canonical = fs::weakly_canonical(dir).string();
  while (std::fscanf(mounts, "%511s %511s %63s %*[^\n]", device, point, type) == 3) {
    const std::string p = point;
    if ((canonical == p || canonical.starts_with(p == "/" ? p : p + "/")) && p.size() >= best_point.size()) {
      best_point = p;
      best_type = type;
      best_device = device;
    }
  }
  std::fclose(mounts);
  return fmt::format("{} on {} ({})", best_type, best_point, best_device);
}

struct AppendResult {
  std::string dir;
  std::string fs;
  std::string policy;
  int appends = 0;
  double p50_us = 0, p99_us = 0, max_us = 0, mean_us = 0;
  std::string error;
};

AppendResult measureAppends(const std::string& base, FsyncPolicy policy, int appends) {
  AppendResult r;
  r.dir = base;
  r.fs = fileSystemOf(base);
  r.policy = policy.describe();
  r.appends = appends;
  TempJournalDir dir(base);
  if (dir.path.empty()) {
    r.error = fmt::format("cannot create a directory under {}: {}", base, std::strerror(errno));
    return r;
  }
  JournalOptions options;
  options.fsync = policy;
  auto journal = Journal::open(dir.path, options);
  if (!journal) {
    r.error = journal.error().message;
    return r;
  }
  std::vector<std::string> payloads;
  for (int i = 0; i < appends; ++i) payloads.push_back(eventJson(static_cast<uint64_t>(i)));
  std::vector<double> us;
  us.reserve(static_cast<size_t>(appends));
  for (int i = 0; i < appends; ++i) {
    const auto t0 = Clock::now();
    auto seq = (*journal)->append(payloads[static_cast<size_t>(i)]);
    const auto t1 = Clock::now();
    if (!seq) {
      r.error = seq.error().message;
      return r;
    }
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  r.p50_us = percentile(us, 0.50);
  r.p99_us = percentile(us, 0.99);
  r.max_us = *std::max_element(us.begin(), us.end());
  double sum = 0;
  for (double v : us) sum += v;
  r.mean_us = sum / static_cast<double>(us.size());
  return r;
}

struct RecoverResult {
  std::string dir;
  std::string fs;
  uint64_t events = 0;
  uint64_t acked = 0;
  size_t segments = 0;
  uint64_t disk_bytes = 0;
  double build_s = 0;
  double warm_ms = 0;  // median of 3, files in the page cache
  double cold_ms = 0;  // files evicted from the page cache first (posix_fadvise DONTNEED)
  size_t backlog = 0;
  std::string error;
};

void evictFromPageCache(const std::string& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

RecoverResult measureRecovery(const std::string& base, uint64_t events) {
  RecoverResult r;
  r.dir = base;
  r.fs = fileSystemOf(base);
  TempJournalDir dir(base);
  if (dir.path.empty()) {
    r.error = fmt::format("cannot create a directory under {}: {}", base, std::strerror(errno));
    return r;
  }
  JournalOptions options;
  options.max_backlog = 0;  // keep all 100 000 for the measurement
  {
    // Built without fsync (it is the reading that is measured), in the
    // order the gateway writes: events, with every second one acknowledged.
    options.fsync = FsyncPolicy::never();
    const auto t0 = Clock::now();
    auto journal = Journal::open(dir.path, options);
    if (!journal) {
      r.error = journal.error().message;
      return r;
    }
    for (uint64_t i = 1; i <= events; ++i) {
      auto seq = (*journal)->append(eventJson(i));
      if (!seq) {
        r.error = seq.error().message;
        return r;
      }
      if (i % 2 == 0) {
        if (auto acked = (*journal)->acknowledge(*seq - 1); !acked) {
          r.error = acked.error().message;
          return r;
        }
        ++r.acked;
      }
    }
    (void)(*journal)->sync();
    const auto stats = (*journal)->stats();
    r.segments = stats.segments;
    r.disk_bytes = stats.disk_bytes;
    r.events = events;
    r.build_s = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  options.fsync = FsyncPolicy::always();
  auto openOnce = [&](double& ms) {
    const auto t0 = Clock::now();
    auto journal = Journal::open(dir.path, options);
    ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!journal) {
      r.error = journal.error().message;
      return false;
    }
    r.backlog = (*journal)->backlogSize();
    return true;
  };
  evictFromPageCache(dir.path);
  if (!openOnce(r.cold_ms)) return r;
  std::vector<double> warm(3);
  for (double& ms : warm)
    if (!openOnce(ms)) return r;
  r.warm_ms = percentile(warm, 0.5);
  return r;
}

void usage() {
  std::puts(
      "usage: journal_bench [--dir DIR]... [--appends N] [--recover-events N] [--json]\n"
      "  Measures journal append latency (fsync always and never) under each DIR\n"
      "  and the time to open (recover) a journal of N events, half acknowledged.\n"
      "  Defaults: --dir /tmp --dir /var/tmp --appends 2000 --recover-events 100000");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> dirs;
  int appends = 2000;
  uint64_t recover_events = 100'000;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "journal_bench: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--dir") dirs.push_back(value());
    else if (arg == "--appends") appends = std::max(1, std::atoi(value().c_str()));
    else if (arg == "--recover-events") recover_events = std::strtoull(value().c_str(), nullptr, 10);
    else if (arg == "--json") json = true;
    else if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "journal_bench: unknown argument %s\n", arg.c_str());
      usage();
      return 2;
    }
  }
  if (dirs.empty()) dirs = {"/tmp", "/var/tmp"};

  std::vector<AppendResult> appended;
  for (const auto& dir : dirs)
    for (const auto& policy : {FsyncPolicy::always(), FsyncPolicy::never()})
      appended.push_back(measureAppends(dir, policy, appends));
  std::vector<RecoverResult> recovered;
  if (recover_events > 0)
    for (const auto& dir : dirs) recovered.push_back(measureRecovery(dir, recover_events));

  utsname host{};
  ::uname(&host);
  const std::string machine = fmt::format("{} {} {}, {} cores", host.sysname, host.release, host.machine,
                                          ::sysconf(_SC_NPROCESSORS_ONLN));
  const size_t payload_bytes = eventJson(1).size();
  bool failed = false;
  if (json) {
    nlohmann::json out{{"machine", machine}, {"payload_bytes", payload_bytes}};
    for (const auto& a : appended) {
      out["append"].push_back({{"dir", a.dir}, {"fs", a.fs}, {"fsync", a.policy}, {"appends", a.appends},
                               {"p50_us", a.p50_us}, {"p99_us", a.p99_us}, {"max_us", a.max_us},
                               {"mean_us", a.mean_us}, {"error", a.error}});
      failed = failed || !a.error.empty();
    }
    for (const auto& r : recovered) {
      out["recover"].push_back({{"dir", r.dir}, {"fs", r.fs}, {"events", r.events}, {"acknowledged", r.acked},
                                {"backlog", r.backlog}, {"segments", r.segments}, {"disk_bytes", r.disk_bytes},
                                {"cold_ms", r.cold_ms}, {"warm_ms", r.warm_ms}, {"error", r.error}});
      failed = failed || !r.error.empty();
    }
    std::puts(out.dump(2).c_str());
    return failed ? 1 : 0;
  }
  std::printf("machine: %s; event payload %zu bytes\n\n", machine.c_str(), payload_bytes);
  std::puts("| directory | file system | fsync | appends | p50 | p99 | max | mean |");
  std::puts("|---|---|---|---:|---:|---:|---:|---:|");
  for (const auto& a : appended) {
    if (!a.error.empty()) {
      std::printf("| %s | %s | %s | failed: %s |\n", a.dir.c_str(), a.fs.c_str(), a.policy.c_str(), a.error.c_str());
      failed = true;
      continue;
    }
    std::printf("| %s | %s | %s | %d | %.0f µs | %.0f µs | %.0f µs | %.0f µs |\n", a.dir.c_str(), a.fs.c_str(),
                a.policy.c_str(), a.appends, a.p50_us, a.p99_us, a.max_us, a.mean_us);
  }
  if (!recovered.empty()) {
    std::puts("\n| directory | events | acknowledged | backlog after open | segments | on disk | open, cold cache | open, warm cache |");
    std::puts("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const auto& r : recovered) {
      if (!r.error.empty()) {
        std::printf("| %s | failed: %s |\n", r.dir.c_str(), r.error.c_str());
        failed = true;
        continue;
      }
      std::printf("| %s | %llu | %llu | %zu | %zu | %.1f MB | %.0f ms | %.0f ms |\n", r.dir.c_str(),
                  static_cast<unsigned long long>(r.events), static_cast<unsigned long long>(r.acked), r.backlog,
                  r.segments, static_cast<double>(r.disk_bytes) / 1e6, r.cold_ms, r.warm_ms);
    }
  }
  return failed ? 1 : 0;
}
