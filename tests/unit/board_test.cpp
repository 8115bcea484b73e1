// Board: debounce and polarity under an injected clock, the simulated board
// driven through its real FIFO, outputs and watchdog counters, the watchdog
// device's magic close on a stand-in file, thermal parsing against a fake
// sysfs tree, and LinuxBoard's error for a GPIO chip that is not there.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "firmware/board/input_bank.h"
#include "firmware/board/linux_board.h"
#include "firmware/board/simulated_board.h"
#include "firmware/board/thermal.h"
#include "firmware/board/watchdog_device.h"
#include "tests/support/temp_dir.h"

namespace vcgate::board {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

InputConfig input(std::string id, bool active_low = false, std::chrono::milliseconds debounce = 50ms,
                  unsigned line = 0) {
  InputConfig c;
  c.id = std::move(id);
  c.active_low = active_low;
  c.debounce = debounce;
  c.line = line;
  return c;
}

// --- Debounce under an injected clock ---

TEST(DebouncerTest, BouncesShorterThanTheDebounceAreIgnored) {
  core::ManualClock clock;
  Debouncer d(50ms);
  d.sample(true, clock.now());
  clock.advance(10ms);
  d.sample(false, clock.now());  // bounced back after 10 ms
  clock.advance(10ms);
  d.sample(true, clock.now());
  clock.advance(20ms);
  d.sample(false, clock.now());
  EXPECT_FALSE(d.deadline()) << "back at the stable level: nothing pending";
  clock.advance(200ms);
  EXPECT_FALSE(d.poll(clock.now()));
  EXPECT_FALSE(d.stable());
}

TEST(DebouncerTest, AHeldChangeFiresOnceDebounceAfterItsLastEdge) {
  core::ManualClock clock;
  Debouncer d(50ms);
  d.sample(true, clock.now());
  clock.advance(5ms);
  d.sample(false, clock.now());
  clock.advance(5ms);
  d.sample(true, clock.now());  // the last edge: held from here
  const auto last_edge = clock.now();
  EXPECT_EQ(d.deadline(), last_edge + 50ms);
  clock.advance(49ms);
  EXPECT_FALSE(d.poll(clock.now()));
  clock.advance(1ms);
  EXPECT_EQ(d.poll(clock.now()), true);
  EXPECT_TRUE(d.stable());
  clock.advance(1s);
  d.sample(true, clock.now());  // the same level again: no edge
  EXPECT_FALSE(d.poll(clock.now())) << "fires once";
  EXPECT_FALSE(d.deadline());
}

TEST(DebouncerTest, ZeroDebounceFiresAtTheNextPoll) {
  core::ManualClock clock;
  Debouncer d(0ms);
  d.sample(true, clock.now());
  EXPECT_EQ(d.poll(clock.now()), true);
  d.sample(false, clock.now());
  EXPECT_EQ(d.poll(clock.now()), false);
}

TEST(InputBankTest, ActiveLowInvertsAndEventsCarryTheEdgeTime) {
  core::ManualClock clock;
  InputBank bank({input("panic", false, 50ms), input("door", true, 100ms)}, clock);
  ASSERT_EQ(bank.find("door"), 1u);
  EXPECT_FALSE(bank.find("nope"));
  EXPECT_EQ(bank.timeoutMs(), -1);

  bank.setLevel(1, true);  // door: high is its inactive level (pull-up, contact closed)
  bank.setLevel(0, false);
  EXPECT_EQ(bank.timeoutMs(), -1) << "no change from the initial inactive state";

  const int64_t edge_us = clock.wallMicros();
  bank.setLevel(1, false);  // the contact opens: low = active
  EXPECT_EQ(bank.timeoutMs(), 100);
  clock.advance(60ms);
  bank.setLevel(0, true);  // panic pressed
  EXPECT_EQ(bank.timeoutMs(), 40) << "the nearest deadline: door's";
  clock.advance(40ms);
  auto events = bank.poll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "door");
  EXPECT_TRUE(events[0].active);
  EXPECT_EQ(events[0].wall_us, edge_us) << "the time of the edge, not of the debounce";
  EXPECT_EQ(bank.timeoutMs(), 10);
  clock.advance(10ms);
  events = bank.poll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "panic");
  EXPECT_TRUE(events[0].active);

  auto states = bank.states();
  ASSERT_EQ(states.size(), 2u);
  EXPECT_TRUE(states[1].active);
  EXPECT_FALSE(states[1].level) << "electrical level low";
  EXPECT_EQ(states[1].since_us, edge_us);
  EXPECT_EQ(states[1].changes, 1u);

  bank.setActive(1, false);  // logical: sets the door's line high again
  clock.advance(100ms);
  events = bank.poll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].active);
  EXPECT_TRUE(bank.states()[1].level);
}

TEST(InputBankTest, ActiveLowInputHeldLowAtStartFiresOnce) {
  core::ManualClock clock;
  InputBank bank({input("door", true, 20ms)}, clock);
  bank.setLevel(0, false);  // read at start: already open
  clock.advance(20ms);
  auto events = bank.poll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].active);
  clock.advance(1s);
  bank.setLevel(0, false);
  EXPECT_TRUE(bank.poll().empty());
}

// --- Simulated board through its FIFO ---

// Collects input events from the board's input thread.
class Events {
 public:
  InputCallback callback() {
    return [this](const InputEvent& e) {
      std::lock_guard lock(mutex_);
      events_.push_back(e);
      changed_.notify_all();
    };
  }
  bool waitForCount(size_t n, std::chrono::milliseconds timeout = 3s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return events_.size() >= n; });
  }
  std::vector<InputEvent> all() {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<InputEvent> events_;
};

// As `echo ... > fifo` does: open, write, close.
void writeFifo(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
}

class SimulatedBoardTest : public ::testing::Test {
 protected:
  BoardConfig config() const {
    BoardConfig c;
    c.kind = BoardKind::kSimulated;
    c.control_path = (dir_.path() / "run" / "board.fifo").string();
    c.inputs = {input("panic-hall-b", false, 30ms), input("door-1", true, 0ms)};
    OutputConfig led;
    led.id = "status-led";
    led.initial_on = true;
    OutputConfig relay;
    relay.id = "relay-1";
    c.outputs = {led, relay};
    return c;
  }
  testing::TempDir dir_;
  Events events_;
};

TEST_F(SimulatedBoardTest, DrivenThroughItsFifo) {
  const auto c = config();
  SimulatedBoard board(c);
  ASSERT_TRUE(board.start(events_.callback()).ok());
  ASSERT_TRUE(fs::is_fifo(c.control_path)) << "created, with its directory";

  writeFifo(c.control_path, "press panic-hall-b\n");
  ASSERT_TRUE(events_.waitForCount(1));
  writeFifo(c.control_path, "input panic-hall-b 0\n");
  ASSERT_TRUE(events_.waitForCount(2));
  auto events = events_.all();
  EXPECT_EQ(events[0].id, "panic-hall-b");
  EXPECT_TRUE(events[0].active);
  EXPECT_FALSE(events[1].active);
  EXPECT_GE(events[1].wall_us, events[0].wall_us);

  // Active low: a low level is the door opening.
  writeFifo(c.control_path, "input door-1 low\n");
  ASSERT_TRUE(events_.waitForCount(3));
  EXPECT_EQ(events_.all()[2].id, "door-1");
  EXPECT_TRUE(events_.all()[2].active);
  auto states = board.inputs();
  ASSERT_EQ(states.size(), 2u);
  EXPECT_FALSE(states[0].active);
  EXPECT_EQ(states[0].changes, 2u);
  EXPECT_TRUE(states[1].active);
  EXPECT_FALSE(states[1].level);

  board.stop();
  EXPECT_FALSE(fs::exists(c.control_path)) << "removed at stop";
  EXPECT_EQ(events_.all().size(), 3u);
}

TEST_F(SimulatedBoardTest, BounceWithinTheDebounceIsIgnoredThroughTheFifo) {
  const auto c = config();
  SimulatedBoard board(c);
  ASSERT_TRUE(board.start(events_.callback()).ok());
  // Pressed and released within one write: far shorter than the 30 ms debounce.
  writeFifo(c.control_path, "input panic-hall-b 1\ninput panic-hall-b 0\ninput panic-hall-b 1\ninput panic-hall-b 0\n");
  EXPECT_FALSE(events_.waitForCount(1, 300ms));
  // Held: fires once.
  writeFifo(c.control_path, "input panic-hall-b 1\n");
  ASSERT_TRUE(events_.waitForCount(1));
  EXPECT_FALSE(events_.waitForCount(2, 200ms));
  EXPECT_EQ(board.inputs()[0].changes, 1u);
}

TEST_F(SimulatedBoardTest, PartialLinesCommentsAndBadCommands) {
  const auto c = config();
  SimulatedBoard board(c);
  ASSERT_TRUE(board.start(events_.callback()).ok());
  // A line split over two writes, a comment, a blank line and three mistakes.
  writeFifo(c.control_path, "# demo\n\nfrobnicate\ninput nobody 1\ninput door-1 maybe\npre");
  writeFifo(c.control_path, "ss door-1\n");
  ASSERT_TRUE(events_.waitForCount(1));
  EXPECT_EQ(events_.all()[0].id, "door-1");
  EXPECT_EQ(board.commandErrors(), 3u);
  auto r = board.command("press ghost");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "no input 'ghost' on this board");
}

TEST_F(SimulatedBoardTest, CommandsFromAnotherThreadAreDebouncedToo) {
  SimulatedBoard board(config());
  ASSERT_TRUE(board.start(events_.callback()).ok());
  ASSERT_TRUE(board.command("press panic-hall-b").ok());
  ASSERT_TRUE(events_.waitForCount(1)) << "the input thread was woken for the new deadline";
  EXPECT_TRUE(events_.all()[0].active);
}

TEST_F(SimulatedBoardTest, CommandBeforeStartFiresOnceStarted) {
  SimulatedBoard board(config());
  ASSERT_TRUE(board.command("press door-1").ok());
  EXPECT_FALSE(board.inputs()[1].active) << "not debounced before the input thread runs";
  ASSERT_TRUE(board.start(events_.callback()).ok());
  ASSERT_TRUE(events_.waitForCount(1));
  EXPECT_EQ(events_.all()[0].id, "door-1");
  EXPECT_TRUE(board.inputs()[1].active);
}

TEST_F(SimulatedBoardTest, TemperatureIsSettable) {
  const auto c = config();
  SimulatedBoard board(c);
  EXPECT_EQ(board.temperatureC(), 40.0) << "simulated_temperature_c";
  ASSERT_TRUE(board.start(events_.callback()).ok());
  writeFifo(c.control_path, "temp 61.5\n");
  for (int i = 0; i < 300 && board.temperatureC() != 61.5; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(board.temperatureC(), 61.5);
  ASSERT_TRUE(board.command("temp none").ok());
  EXPECT_FALSE(board.temperatureC());
  EXPECT_FALSE(board.command("temp hot").ok());
}

TEST_F(SimulatedBoardTest, OutputsAreRecorded) {
  SimulatedBoard board(config());
  auto before = board.setOutput("relay-1", true);
  ASSERT_FALSE(before.ok());
  EXPECT_NE(before.error().message.find("not started"), std::string::npos);
  ASSERT_TRUE(board.start(events_.callback()).ok());
  auto outputs = board.outputs();
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_TRUE(outputs[0].on) << "status-led starts on (initial_on)";
  EXPECT_FALSE(outputs[1].on);
  ASSERT_TRUE(board.setOutput("relay-1", true).ok());
  ASSERT_TRUE(board.setOutput("relay-1", true).ok());
  ASSERT_TRUE(board.setOutput("relay-1", false).ok());
  outputs = board.outputs();
  EXPECT_FALSE(outputs[1].on);
  EXPECT_EQ(outputs[1].changes, 2u) << "setting the same state again is no change";
  auto unknown = board.setOutput("siren", true);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "unknown_output");
}

TEST_F(SimulatedBoardTest, WatchdogCallsAreCounted) {
  SimulatedBoard board(config());
  EXPECT_FALSE(board.pingWatchdog().ok()) << "not open";
  ASSERT_TRUE(board.openWatchdog().ok());
  EXPECT_FALSE(board.openWatchdog().ok()) << "one holder";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(board.pingWatchdog().ok());
  ASSERT_TRUE(board.closeWatchdog().ok());
  ASSERT_TRUE(board.closeWatchdog().ok()) << "closing a closed watchdog is harmless";
  auto counters = board.watchdogCounters();
  EXPECT_FALSE(counters.open);
  EXPECT_EQ(counters.opens, 1u);
  EXPECT_EQ(counters.pings, 3u);
  EXPECT_EQ(counters.magic_closes, 1u);
}

TEST_F(SimulatedBoardTest, ControlPathThatIsNotAFifoIsAClearError) {
  auto c = config();
  c.control_path = dir_.write("board.fifo", "a regular file");
  SimulatedBoard board(c);
  auto started = board.start(events_.callback());
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("is not a FIFO"), std::string::npos) << started.error().message;
  EXPECT_TRUE(fs::is_regular_file(c.control_path)) << "left alone";
}

TEST_F(SimulatedBoardTest, ExistingFifoIsReusedAndLeftInPlace) {
  const auto c = config();
  fs::create_directories(fs::path(c.control_path).parent_path());
  ASSERT_EQ(::mkfifo(c.control_path.c_str(), 0600), 0);
  {
    SimulatedBoard board(c);
    ASSERT_TRUE(board.start(events_.callback()).ok());
    writeFifo(c.control_path, "press door-1\n");
    ASSERT_TRUE(events_.waitForCount(1));
  }
  EXPECT_TRUE(fs::is_fifo(c.control_path)) << "not ours to remove";
}

TEST_F(SimulatedBoardTest, MakeBoardValidates) {
  auto c = config();
  auto made = makeBoard(c);
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ((*made)->kind(), BoardKind::kSimulated);
  c.inputs.push_back(input("door-1"));
  EXPECT_NE(makeBoard(c).error().message.find("defined twice"), std::string::npos);
  c = config();
  c.inputs[0].id = "bad id";
  EXPECT_FALSE(validate(c).ok());
  c = config();
  c.inputs[0].debounce = 20s;
  EXPECT_NE(validate(c).error().message.find("debounce_ms"), std::string::npos);
  c = config();
  c.kind = BoardKind::kLinux;
  c.inputs[1].line = c.inputs[0].line;
  EXPECT_NE(validate(c).error().message.find("used twice"), std::string::npos);
  EXPECT_EQ(parseBoardKind("linux"), BoardKind::kLinux);
  EXPECT_EQ(toString(BoardKind::kSimulated), "simulated");
  EXPECT_FALSE(parseBoardKind("gpio"));
}

// --- Watchdog device (a regular file stands in for /dev/watchdog) ---

TEST(WatchdogDeviceTest, MissingDeviceIsAClearError) {
  WatchdogDevice wd;
  auto r = wd.open("/nonexistent/watchdog", 30);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot open watchdog /nonexistent/watchdog"), std::string::npos);
  EXPECT_NE(r.error().message.find("no watchdog driver"), std::string::npos);
  EXPECT_FALSE(wd.ping().ok());
}

TEST(WatchdogDeviceTest, MagicCloseWritesV) {
  testing::TempDir dir;
  const std::string path = dir.write("watchdog", "");
  WatchdogDevice wd;
  ASSERT_TRUE(wd.open(path, 0).ok()) << "timeout 0: keep the driver's";
  EXPECT_TRUE(wd.isOpen());
  auto ping = wd.ping();
  ASSERT_FALSE(ping.ok()) << "a regular file has no WDIOC_KEEPALIVE";
  EXPECT_NE(ping.error().message.find(path), std::string::npos);
  ASSERT_TRUE(wd.close().ok());
  EXPECT_FALSE(wd.isOpen());
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "V");
}

TEST(WatchdogDeviceTest, TimeoutThatCannotBeSetDisarmsAndFails) {
  testing::TempDir dir;
  const std::string path = dir.write("watchdog", "");
  WatchdogDevice wd;
  auto r = wd.open(path, 15);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot set a timeout of 15 s"), std::string::npos);
  EXPECT_FALSE(wd.isOpen());
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "V") << "disarmed before giving up";
}

// --- Thermal ---

TEST(ThermalTest, ParsesMillidegrees) {
  EXPECT_EQ(parseMilliCelsius("47250\n"), 47.25);
  EXPECT_EQ(parseMilliCelsius("-5000"), -5.0);
  EXPECT_EQ(parseMilliCelsius("0\n"), 0.0);
  EXPECT_FALSE(parseMilliCelsius(""));
  EXPECT_FALSE(parseMilliCelsius("\n"));
  EXPECT_FALSE(parseMilliCelsius("47.2"));
  EXPECT_FALSE(parseMilliCelsius("hot"));
  EXPECT_FALSE(parseMilliCelsius("-300000")) << "below absolute zero";
  EXPECT_FALSE(parseMilliCelsius("99999999")) << "a broken sensor";
}

class FakeSysfs {
 public:
  FakeSysfs() {
    zone("thermal_zone0", "acpitz", "error\n");  // unreadable
    zone("thermal_zone1", "cpu-thermal", "47250\n");
    zone("thermal_zone10", "gpu-thermal", "30000\n");
    fs::create_directories(root() / "class" / "thermal" / "cooling_device0");
  }
  fs::path root() const { return dir_.path() / "sys"; }
  fs::path temp(const std::string& zone) const { return root() / "class" / "thermal" / zone / "temp"; }

 private:
  void zone(const std::string& name, const std::string& type, const std::string& temp) {
    const fs::path d = root() / "class" / "thermal" / name;
    fs::create_directories(d);
    std::ofstream(d / "type") << type << "\n";
    std::ofstream(d / "temp") << temp;
  }
  testing::TempDir dir_;
};

TEST(ThermalTest, FindsZonesByDefaultNameTypeAndPath) {
  FakeSysfs sys;
  const std::string root = sys.root().string();
  EXPECT_EQ(*findThermalZone(root, ""), sys.temp("thermal_zone1").string()) << "the first readable, in numeric order";
  EXPECT_EQ(*findThermalZone(root, "thermal_zone10"), sys.temp("thermal_zone10").string());
  EXPECT_EQ(*findThermalZone(root, "gpu-thermal"), sys.temp("thermal_zone10").string());
  EXPECT_EQ(*findThermalZone(root, sys.temp("thermal_zone1").string()), sys.temp("thermal_zone1").string());
  auto missing = findThermalZone(root, "npu-thermal");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("'npu-thermal'"), std::string::npos);
  EXPECT_FALSE(findThermalZone("/nonexistent", "").ok());
  EXPECT_EQ(readTemperature(sys.temp("thermal_zone10").string()), 30.0);
  EXPECT_FALSE(readTemperature(sys.temp("thermal_zone0").string()));
}

TEST(LinuxBoardTest, TemperatureFromTheFakeSysfs) {
  FakeSysfs sys;
  BoardConfig c;
  c.kind = BoardKind::kLinux;
  LinuxBoard board(c, core::SystemClock::instance(), sys.root().string());
  ASSERT_TRUE(board.thermalZone().ok());
  EXPECT_EQ(board.temperatureC(), 47.25);
  std::ofstream(sys.temp("thermal_zone1")) << "51000\n";
  EXPECT_EQ(board.temperatureC(), 51.0) << "read at every call";

  c.thermal_zone = "npu-thermal";
  LinuxBoard without(c, core::SystemClock::instance(), sys.root().string());
  EXPECT_FALSE(without.thermalZone().ok());
  EXPECT_FALSE(without.temperatureC());
}

TEST(LinuxBoardTest, MissingGpioChipIsAClearError) {
  BoardConfig c;
  c.kind = BoardKind::kLinux;
  c.chip = "gpiochip-vcgate-missing";
  c.inputs = {input("panic", true, 50ms, 4)};
  LinuxBoard board(c, core::SystemClock::instance(), "/nonexistent");
  auto started = board.start([](const InputEvent&) {});
  ASSERT_FALSE(started.ok());
  const std::string& message = started.error().message;
  EXPECT_NE(message.find("'gpiochip-vcgate-missing'"), std::string::npos) << message;
  EXPECT_NE(message.find("board.chip"), std::string::npos) << message;
  board.stop();  // harmless after a failed start
  EXPECT_FALSE(board.setOutput("x", true).ok());
}

TEST(LinuxBoardTest, NoLinesConfiguredStartsWithoutAChip) {
  BoardConfig c;
  c.kind = BoardKind::kLinux;
  c.chip = "gpiochip-vcgate-missing";
  LinuxBoard board(c, core::SystemClock::instance(), "/nonexistent");
  ASSERT_TRUE(board.start(nullptr).ok());
  EXPECT_TRUE(board.inputs().empty());
  board.stop();
}

}  // namespace
}  // namespace vcgate::board
