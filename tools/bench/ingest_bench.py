#!/usr/bin/env python3
"""Ingest and all-in-alarm benchmark for vcgated (issues 2 and 3).

Serves N simulated 1080p25 H.264 cameras with vcgate-camsim and pulls the same
streams, one contender at a time, with:

  vcgated     vcgated, ingest only (no alarm, nothing published)
  gst         one gst-launch-1.0 process with N branches
              rtspsrc protocols=tcp latency=200 ! rtph264depay ! h264parse ! fakesink
  ffmpeg      N ffmpeg processes: ffmpeg -rtsp_transport tcp -i URL -c copy -f null -
  alarm       vcgated with one alarm covering every camera (vcgatectl alarm raise), plus one
              vcgate-sub receiving everything over TCP loopback (CPU reported separately)
  gst-nproc   (only when asked for) N gst-launch-1.0 processes, one branch each

For each contender it waits for the streams to flow, measures CPU (utime+stime
deltas from /proc/PID/stat over --window seconds, % of one core, summed over
the contender's processes) and peak RSS (VmHWM, summed), then stops it.
Repeats --runs times and reports the median and min-max per stream. Writes a
Markdown table to stdout and everything it measured to --out (JSON).

Python 3 standard library only. Needs gst-launch-1.0, ffmpeg and ss (iproute2),
which tools/setup.sh installs, and the built binaries (--build-dir).
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
ALL_CONTENDERS = ["vcgated", "gst", "ffmpeg", "alarm"]
EXTRA_CONTENDERS = ["gst-nproc"]  # only when asked for with --contenders
BINARIES = {
    "vcgated": "gateway/daemon/vcgated",
    "camsim": "tools/camsim/vcgate-camsim",
    "sub": "tools/sub/vcgate-sub",
    "ctl": "tools/ctl/vcgatectl",
}


def log(msg):
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------- processes


class Children:
    """Every process the benchmark starts, so that all of them can be stopped on exit."""

    def __init__(self):
        self.procs = []

    def spawn(self, argv, stdout=None, stderr=None, stdin=subprocess.DEVNULL):
        # A session of its own: Ctrl-C in the terminal reaches only this script,
        # which then stops the children itself, in order.
        p = subprocess.Popen(argv, stdin=stdin, stdout=stdout or subprocess.DEVNULL,
                             stderr=stderr or subprocess.DEVNULL, start_new_session=True)
        self.procs.append(p)
        return p

    def stop(self, procs, sig=signal.SIGTERM, timeout=10.0):
        """Signals every process, waits up to timeout, kills what is left. Returns exit codes."""
        for p in procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        codes = []
        for p in procs:
            try:
                codes.append(p.wait(timeout=max(0.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
                codes.append("killed")
        for p in procs:
            if p in self.procs:
                self.procs.remove(p)
        return codes

    def kill_all(self):
        if self.procs:
            log(f"stopping {len(self.procs)} remaining child process(es)")
        self.stop(list(self.procs), signal.SIGTERM, timeout=5.0)


# --------------------------------------------------------------------------- /proc


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def thread_ticks(pid):
    """{thread name with its digits removed (task0 -> task): utime+stime ticks} over the process's threads."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue  # the thread ended
        name = re.sub(r"\d+", "", s[s.index("(") + 1:s.rindex(")")]) or "?"
        fields = s[s.rindex(")") + 2:].split()
        out[name] = out.get(name, 0) + int(fields[11]) + int(fields[12])
    return out


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def machine_busy_ticks():
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    values = [int(x) for x in parts]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values[:8]) - idle


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def tcp_bytes(port):
    """bytes_acked per established TCP connection whose local port is `port` (the server side)."""
    try:
        out = subprocess.run(["ss", "-Htin", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    conns = {}
    peer = None
    for line in out.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            cols = line.split()
            peer = cols[-1] if len(cols) >= 4 else None
            conns[peer] = 0
        elif peer is not None:
            m = re.search(r"bytes_acked:(\d+)", line)
            conns[peer] = int(m.group(1)) if m else 0
    return conns


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine_info():
    info = {"nproc": os.cpu_count(), "kernel": os.uname().release, "arch": os.uname().machine}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            info["mem_total_mib"] = int(f.readline().split()[1]) // 1024
    except OSError:
        pass
    for path, key in (("/etc/debian_version", "debian_version"),):
        try:
            with open(path) as f:
                info[key] = f.read().strip()
        except OSError:
            pass
    info["loadavg_at_start"] = loadavg()
    return info


def tool_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "unavailable"


# --------------------------------------------------------------------------- the camera farm


class Camsim:
    def __init__(self, children, binary, n, spec, tmp, clip_seconds, timeout):
        self.children = children
        self.names = [f"c{i}" for i in range(n)]
        argv = [binary, "--port", "0", "--log-level", "warn", "--clip-seconds", str(clip_seconds)]
        argv += [f"test://{name}?{spec}" for name in self.names]
        self.stderr = open(os.path.join(tmp, f"camsim-{n}.err"), "w")
        self.proc = children.spawn(argv, stdout=subprocess.PIPE, stderr=self.stderr)
        self.urls = {}
        self.port = None
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        os.set_blocking(fd, False)
        while self.port is None:
            if time.monotonic() > deadline:
                raise BenchError(f"vcgate-camsim did not print 'READY all' within {timeout} s")
            if self.proc.poll() is not None:
                raise BenchError(f"vcgate-camsim exited with {self.proc.returncode}; see {self.stderr.name}")
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                chunk = None
            if not chunk:
                time.sleep(0.1)
                continue
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                parts = line.decode().split()
                if len(parts) == 3 and parts[0] == "READY":
                    if parts[1] == "all":
                        self.port = int(parts[2])
                    else:
                        self.urls[parts[1]] = parts[2]
        if len(self.urls) != n:
            raise BenchError(f"vcgate-camsim announced {len(self.urls)} of {n} streams")

    def url_list(self):
        return [self.urls[name] for name in self.names]

    def stop(self):
        self.children.stop([self.proc], signal.SIGTERM, timeout=10.0)
        self.stderr.close()


# --------------------------------------------------------------------------- contenders


class Contender:
    """Something that pulls the N streams. Subclasses start it, say when it is warm, stop it."""

    name = "?"

    def __init__(self, bench, n):
        self.bench = bench
        self.n = n
        self.extra = {}

    def groups(self):
        """{group name: [Popen]}; CPU and RSS are summed per group."""
        raise NotImplementedError

    def start(self):
        raise NotImplementedError

    def warm_up(self):
        self.bench.wait_connections(self.n)
        time.sleep(self.bench.args.warmup)

    def after_window(self):
        pass

    def stop(self):
        raise NotImplementedError

    def check_alive(self):
        for group, procs in self.groups().items():
            for p in procs:
                if p.poll() is not None:
                    err = getattr(self, "err", None)
                    raise BenchError(f"{self.name}: a {group} process exited early with {p.returncode}"
                                     + (f"; its log ends: {tail_of(err.name)}" if err else ""))


class GstOneProcess(Contender):
    name = "gst"

    def start(self):
        argv = [self.bench.tools["gst-launch"], "-q"]
        for url in self.bench.camsim.url_list():
            argv += gst_branch(url)
        self.err = open(os.path.join(self.bench.tmp, "gst.err"), "w")
        self.procs = [self.bench.children.spawn(argv, stderr=self.err)]

    def groups(self):
        return {"gst-launch": self.procs}

    def stop(self):
        self.extra["exit"] = self.bench.children.stop(self.procs, signal.SIGINT)
        self.err.close()


class GstPerStream(Contender):
    name = "gst-nproc"

    def start(self):
        self.err = open(os.path.join(self.bench.tmp, "gst-nproc.err"), "w")
        self.procs = [self.bench.children.spawn([self.bench.tools["gst-launch"], "-q"] + gst_branch(url),
                                                stderr=self.err)
                      for url in self.bench.camsim.url_list()]

    def groups(self):
        return {"gst-launch": self.procs}

    def stop(self):
        self.extra["exit"] = summarize_codes(self.bench.children.stop(self.procs, signal.SIGINT))
        self.err.close()


class FfmpegCopy(Contender):
    name = "ffmpeg"

    def start(self):
        self.err = open(os.path.join(self.bench.tmp, "ffmpeg.err"), "w")
        self.procs = [self.bench.children.spawn(
            [self.bench.tools["ffmpeg"], "-nostdin", "-hide_banner", "-loglevel", "error",
             "-rtsp_transport", "tcp", "-i", url, "-c", "copy", "-f", "null", "-"], stderr=self.err)
            for url in self.bench.camsim.url_list()]

    def groups(self):
        return {"ffmpeg": self.procs}

    def stop(self):
        self.extra["exit"] = summarize_codes(self.bench.children.stop(self.procs, signal.SIGINT))
        self.err.close()


def gst_branch(url):
    # tcp-timeout (default 20 s) only so that a slow RTSP set-up is waited out, see connect_timeout_ms.
    return ["rtspsrc", f"location={url}", "protocols=tcp", "latency=200", "tcp-timeout=600000000", "!",
            "rtph264depay", "!", "h264parse", "!", "fakesink"]


def tail_of(path, lines=3):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(line.strip() for line in f.readlines()[-lines:]) or "(empty)"
    except OSError:
        return "(unreadable)"


def summarize_codes(codes):
    counts = {}
    for c in codes:
        counts[str(c)] = counts.get(str(c), 0) + 1
    return counts


class Vcgated(Contender):
    name = "vcgated"

    def start(self):
        b = self.bench
        self.dir = tempfile.mkdtemp(prefix=f"{self.name}-", dir=b.tmp)
        self.pub_port = free_tcp_port()
        self.control = f"ipc://{self.dir}/control.sock"
        self.hwm = b.send_hwm(self.n)
        config = os.path.join(self.dir, "vcgated.yaml")
        with open(config, "w") as f:
            f.write(b.gateway_config(self.pub_port, self.control, self.dir, self.hwm))
        self.err = open(os.path.join(self.dir, "vcgated.err"), "w")
        self.gw = b.children.spawn([b.bin["vcgated"], "--config", config], stderr=self.err)
        self.procs = [self.gw]

    def groups(self):
        return {"vcgated": [self.gw]}

    def ctl(self, *args, timeout_ms=5000):
        out = subprocess.run([self.bench.bin["ctl"], "-e", self.control, "--json", "--timeout-ms", str(timeout_ms),
                              *args], capture_output=True, text=True, timeout=timeout_ms / 1000 + 10)
        if out.returncode != 0:
            raise BenchError(f"vcgatectl {' '.join(args[:2])} failed ({out.returncode}): "
                             f"{(out.stderr or out.stdout).strip()[:300]}")
        return json.loads(out.stdout)

    def status(self):
        return self.ctl("status")

    def wait_until(self, what, predicate, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.gw.poll() is not None:
                raise BenchError(f"vcgated exited with {self.gw.returncode}; see {self.err.name}")
            try:
                last = self.status()
                if predicate(last["cameras"]):
                    return last
            except (BenchError, subprocess.TimeoutExpired, json.JSONDecodeError, KeyError):
                pass
            time.sleep(0.5)
        states = {}
        for c in (last or {}).get("cameras", []):
            states[c.get("state")] = states.get(c.get("state"), 0) + 1
        raise BenchError(f"vcgated: {what} not reached within {timeout} s (camera states: {states}); "
                         f"its log ends: {tail_of(self.err.name)}")

    def warm_up(self, settle=True):
        a = self.bench.args
        t0 = time.monotonic()
        self.wait_until("every camera streaming",
                        lambda cams: len(cams) == self.n and all(c["state"] == "streaming" for c in cams),
                        self.bench.start_timeout(self.n))
        self.extra["streaming_after_s"] = round(time.monotonic() - t0, 1)
        if a.fill_wait:
            # Measure with full pre-alarm rings: steady state, old units being evicted.
            self.wait_until("full pre-roll rings",
                            lambda cams: all(c["buffered_s"] >= a.pre_roll_s - 0.5 or
                                             c["buffered_bytes"] >= 0.95 * a.max_bytes for c in cams),
                            a.pre_roll_s + 30)
        self.extra["rings_full_after_s"] = round(time.monotonic() - t0, 1)
        if settle:
            time.sleep(a.warmup)

    def after_window(self):
        st = self.status()
        cams = st["cameras"]
        self.extra["buffered_bytes"] = sum(c["buffered_bytes"] for c in cams)
        self.extra["buffered_s_min"] = min(c["buffered_s"] for c in cams)
        self.extra["fps_mean"] = statistics.mean(c["fps"] for c in cams)
        self.extra["states"] = summarize_codes(c["state"] for c in cams)
        self.extra["published"] = sum(c["published"] for c in cams)
        self.extra["dropped"] = sum(c["dropped"] for c in cams)

    def stop(self):
        self.extra["exit"] = self.bench.children.stop(self.procs, signal.SIGTERM)
        self.err.close()
        if not self.bench.args.keep_temp:
            shutil.rmtree(self.dir, ignore_errors=True)


class VcgatedAllInAlarm(Vcgated):
    name = "alarm"

    def start(self):
        self.sub = self.sub_out = self.sub_err = None
        self.summary = None
        super().start()

    def groups(self):
        g = {"vcgated": [self.gw]}
        if self.sub is not None:
            g["vcgate-sub"] = [self.sub]
        return g

    def start_sub(self):
        b = self.bench
        self.summary = os.path.join(self.dir, "sub-summary.json")
        self.sub_out = open(os.path.join(self.dir, "sub.out"), "w")
        self.sub_err = open(os.path.join(self.dir, "sub.err"), "w")
        # With --realtime the subscriber runs under SCHED_FIFO too: it stands in for the
        # command platform, which has CPUs of its own, not a share of the gateway's two.
        chrt = ["chrt", "-f", str(b.args.realtime)] if b.args.realtime else []
        self.sub = b.children.spawn(chrt + [b.bin["sub"], "--connect", f"tcp://127.0.0.1:{self.pub_port}",
                                            "--summary", self.summary, "--rcvhwm", str(self.hwm)],
                                    stdout=self.sub_out, stderr=self.sub_err)
        self.procs.append(self.sub)
        time.sleep(1.0)  # let the subscription reach the gateway

    def warm_up(self):
        a = self.bench.args
        super().warm_up(settle=False)  # every camera streaming, rings full
        if a.sub_first:
            self.start_sub()
        names = [f"c{i}" for i in range(self.n)]
        reply = self.ctl("alarm", "raise", *names, "--level", "1", "--type", "bench",
                         "--description", "ingest_bench: every camera in alarm")
        self.extra["alarm_id"] = reply.get("alarm", {}).get("id")
        if not a.sub_first:
            self.start_sub()
        before = {c["id"]: c["published"] for c in self.status()["cameras"]}
        time.sleep(a.warmup)
        after = self.wait_until("every camera published",
                                lambda cams: all(c["published"] > before.get(c["id"], 0) and c["alarms"]
                                                 for c in cams), 30)
        self.extra["published_at_window_start"] = sum(c["published"] for c in after["cameras"])

    def stop(self):
        b = self.bench
        if self.sub is not None:
            self.extra["sub_exit"] = b.children.stop([self.sub], signal.SIGINT, timeout=15.0)
            self.sub_out.close()
            self.sub_err.close()
            try:
                with open(self.summary) as f:
                    self.extra["sub_summary"] = summarize_sub(json.load(f))
            except (OSError, json.JSONDecodeError) as e:
                self.extra["sub_summary"] = {"error": f"no summary from vcgate-sub: {e}"}
        super().stop()


def summarize_sub(s):
    cams = s.get("cameras", [])
    out = {"duration_s": s.get("duration_s"), "cameras": len(cams)}
    for key in ("received", "gaps", "lost", "discarded_until_keyframe", "duplicates", "pre_roll"):
        out[key] = sum(c.get(key, 0) for c in cams)
    for lat in ("latency_capture_us", "latency_gateway_us"):
        per = [c[lat] for c in cams if c.get(lat, {}).get("count")]
        if not per:
            continue
        out[lat] = {
            "count": sum(p["count"] for p in per),
            "p50_median_camera": statistics.median(p["p50"] for p in per),
            "p99_median_camera": statistics.median(p["p99"] for p in per),
            "p99_worst_camera": max(p["p99"] for p in per),
            "max": max(p["max"] for p in per),
            "per_camera": {c["camera"]: {k: c[lat][k] for k in ("count", "p50", "p99", "max")}
                           for c in cams if c.get(lat, {}).get("count")},
        }
    return out


CONTENDER_CLASSES = {c.name: c for c in (Vcgated, GstOneProcess, GstPerStream, FfmpegCopy, VcgatedAllInAlarm)}


# --------------------------------------------------------------------------- the benchmark


class Bench:
    def __init__(self, args, children, tmp, binaries):
        self.args = args
        self.children = children
        self.tmp = tmp
        self.bin = binaries
        self.tools = {"gst-launch": shutil.which("gst-launch-1.0"), "ffmpeg": shutil.which("ffmpeg")}
        self.camsim = None

    def stream_spec(self):
        a = self.args
        return (f"codec=h264&width={a.width}&height={a.height}&fps={a.fps}"
                f"&bitrate_kbps={a.bitrate_kbps}&gop={a.gop}")

    def start_timeout(self, n):
        return self.args.start_timeout if self.args.start_timeout else 60 + 4 * n

    def connect_timeout_ms(self, n):
        return min(600000, max(10000, int(self.start_timeout(n) * 1000)))

    def send_hwm(self, n):
        # Above the largest burst, as docs/configuration.md asks: a raise sends the
        # pre-roll of every covered camera at once (fps x (pre_roll_s + one GOP) units each).
        a = self.args
        return max(1000, int(n * a.fps * (a.pre_roll_s + a.gop / a.fps + 2)) + 1000)

    def gateway_config(self, pub_port, control, d, hwm):
        a = self.args
        lines = [
            "# written by tools/bench/ingest_bench.py",
            "site: {id: bench, name: ingest-bench}",
            "logging: {level: warn, stats_interval_s: 0}",
            "bus:",
            f"  publish: tcp://127.0.0.1:{pub_port}",
            f"  control: {control}",
            f"  send_hwm: {hwm}",
            f"  realtime_priority: {a.realtime}",
            f"storage: {{state_dir: {d}/state, evidence_dir: {d}/evidence}}",
            "alarms: {video_loss: {enabled: false}}",
            "camera_defaults:",
            "  transport: tcp",
            "  latency_ms: 200",
            # vcgate-camsim answers RTSP set-ups one after the other (about a second each, waiting for the
            # camera's next keyframe), so with N cameras the last one plays after about N seconds: wait it out
            # instead of reconnecting, which would only queue more set-ups.
            f"  connect_timeout_ms: {self.connect_timeout_ms(len(self.camsim.names))}",
            f"  buffering: {{pre_roll_s: {a.pre_roll_s}, max_bytes: {a.max_bytes}}}",
            "cameras:",
        ]
        for name, url in zip(self.camsim.names, self.camsim.url_list()):
            lines.append(f"  - {{id: {name}, uri: \"{url}\"}}")
        return "\n".join(lines) + "\n"

    def wait_connections(self, n, timeout=None):
        """Until n RTSP connections to camsim each carried at least one second of video."""
        timeout = timeout or self.start_timeout(n)
        one_second = self.args.bitrate_kbps * 1000 // 8
        deadline = time.monotonic() + timeout
        conns = {}
        while time.monotonic() < deadline:
            conns = tcp_bytes(self.camsim.port)
            if conns is None:
                return  # no ss: fall back on the fixed warm-up alone
            if len(conns) >= n and sum(1 for b in conns.values() if b >= one_second) >= n:
                return
            time.sleep(0.5)
        flowing = sum(1 for b in conns.values() if b >= one_second)
        raise BenchError(f"{len(conns)} of {n} RTSP connections to camsim, {flowing} streaming, after {timeout} s")

    def wait_no_connections(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            conns = tcp_bytes(self.camsim.port)
            if not conns:
                return
            time.sleep(0.5)
        log(f"warning: {len(conns)} connection(s) to camsim still open after {timeout} s")

    def measure(self, contender):
        groups = {g: [p.pid for p in procs] for g, procs in contender.groups().items()}
        cam_pid = self.camsim.proc.pid
        load0 = loadavg()
        net0 = tcp_bytes(self.camsim.port)
        pub_port = getattr(contender, "pub_port", None) if contender.name == "alarm" else None
        pub0 = tcp_bytes(pub_port) if pub_port else None
        busy0 = machine_busy_ticks()
        t0 = time.monotonic()
        ticks0 = {g: sum(cpu_ticks(p) for p in pids) for g, pids in groups.items()}
        cam0 = cpu_ticks(cam_pid)
        gw = getattr(contender, "gw", None)
        threads0 = thread_ticks(gw.pid) if gw else None
        time.sleep(self.args.window)
        contender.check_alive()
        threads1 = thread_ticks(gw.pid) if gw else None
        ticks1 = {g: sum(cpu_ticks(p) for p in pids) for g, pids in groups.items()}
        cam1 = cpu_ticks(cam_pid)
        t1 = time.monotonic()
        busy1 = machine_busy_ticks()
        net1 = tcp_bytes(self.camsim.port)
        pub1 = tcp_bytes(pub_port) if pub_port else None
        elapsed = t1 - t0
        m = {"window_s": round(elapsed, 3), "loadavg_start": load0, "loadavg_end": loadavg(), "groups": {}}
        total_cpu = 0.0
        for g, pids in groups.items():
            cpu = (ticks1[g] - ticks0[g]) / CLK_TCK / elapsed * 100.0
            total_cpu += cpu
            m["groups"][g] = {
                "processes": len(pids),
                "cpu_pct": cpu,
                "hwm_kib": sum(status_kib(p, "VmHWM") for p in pids),
                "rss_kib": sum(status_kib(p, "VmRSS") for p in pids),
                # At the end of the window: private memory vs pages of mapped files (mostly shared libraries).
                "rss_anon_kib": sum(status_kib(p, "RssAnon") for p in pids),
                "rss_file_kib": sum(status_kib(p, "RssFile") for p in pids),
                "threads": sum(status_kib(p, "Threads") for p in pids),
            }
        if gw:
            # Where vcgated's CPU goes, by thread name (threads that ended in the window are not counted):
            # task/rtpjitterbuffer = GStreamer streaming, ZMQbg = ZeroMQ I/O, vcgated = main loop,
            # publisher, evidence recorder and the other threads the gateway starts itself.
            m["vcgated_threads_cpu_pct"] = {
                name: (threads1.get(name, 0) - threads0.get(name, 0)) / CLK_TCK / elapsed * 100.0
                for name in threads1}
        m["camsim_cpu_pct"] = (cam1 - cam0) / CLK_TCK / elapsed * 100.0
        # /proc/stat and the per-process counters are sampled a little apart: a quiet machine can come out
        # slightly negative.
        m["others_cpu_pct"] = max(0.0, (busy1 - busy0) / CLK_TCK / elapsed * 100.0 - total_cpu
                                  - m["camsim_cpu_pct"])
        if net0 is not None and net1 is not None:
            common = set(net0) & set(net1)
            m["rtsp_connections"] = len(net1)
            m["rx_mbps"] = sum(net1[k] - net0[k] for k in common) * 8 / elapsed / 1e6
        if pub0 is not None and pub1 is not None:
            common = set(pub0) & set(pub1)
            m["published_mbps"] = sum(pub1[k] - pub0[k] for k in common) * 8 / elapsed / 1e6
        return m

    def run_one(self, name, n):
        failed = []
        for attempt in range(self.args.retries + 1):
            m = self.attempt(name, n)
            m["attempt"] = attempt + 1
            if failed:
                m["failed_attempts"] = failed
            if "error" not in m:
                break
            failed = failed + [m["error"]]
            if attempt < self.args.retries:
                log(f"N={n} {name}: retrying in 10 s")
                time.sleep(10)
        return m

    def attempt(self, name, n):
        contender = CONTENDER_CLASSES[name](self, n)
        log(f"N={n} {name}: starting")
        try:
            contender.start()
            contender.warm_up()
            contender.check_alive()
            m = self.measure(contender)
            contender.after_window()
        except BenchError as e:
            log(f"N={n} {name}: FAILED: {e}")
            m = {"error": str(e)}
        finally:
            try:
                contender.stop()
            except Exception as e:  # keep going: the children registry still kills everything
                log(f"N={n} {name}: stop failed: {e}")
            self.wait_no_connections()
        m["extra"] = contender.extra
        if "groups" in m:
            cpu = " + ".join(f"{g} {v['cpu_pct']:.1f} %" for g, v in m["groups"].items())
            rss = " + ".join(f"{g} {v['hwm_kib'] / 1024:.0f} MiB" for g, v in m["groups"].items())
            log(f"N={n} {name}: CPU {cpu}; peak RSS {rss}; camsim {m['camsim_cpu_pct']:.1f} %; "
                f"others {m['others_cpu_pct']:.0f} %; rx {m.get('rx_mbps', 0):.1f} Mbit/s")
        return m

    def wait_for_quiet(self):
        """Before each N: other work on the machine inflates wall-clock latency (CPU time much less)."""
        a = self.args
        if a.load_wait > 0 and loadavg()[0] > a.max_load:
            log(f"load average {loadavg()[0]:.2f} > {a.max_load:g}: waiting up to {a.load_wait:g} s")
            deadline = time.monotonic() + a.load_wait
            while loadavg()[0] > a.max_load and time.monotonic() < deadline:
                time.sleep(5)
            log(f"load average now {loadavg()[0]:.2f}; going on")

    def run_count(self, n):
        a = self.args
        self.wait_for_quiet()
        log(f"N={n}: starting vcgate-camsim ({self.stream_spec()})")
        self.camsim = Camsim(self.children, self.bin["camsim"], n, self.stream_spec(), self.tmp,
                             a.clip_seconds, timeout=a.camsim_timeout)
        runs = []
        try:
            for r in range(a.runs):
                k = r % len(a.contenders)
                order = a.contenders[k:] + a.contenders[:k]  # rotate so no contender always goes first
                log(f"N={n}: run {r + 1}/{a.runs}, order {', '.join(order)}")
                runs.append({name: self.run_one(name, n) for name in order})
        finally:
            self.camsim.stop()
            self.camsim = None
        return runs


# --------------------------------------------------------------------------- reporting


def stat3(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def summarize(n, runs, args):
    out = {}
    for name in args.contenders:
        ms = [r[name] for r in runs if name in r and "groups" in r[name]]
        if not ms:
            out[name] = {"failed": True}
            continue
        s = {"runs_ok": len(ms), "runs_failed": sum(1 for r in runs if name in r and "groups" not in r[name])}
        groups = ms[0]["groups"].keys()
        for g in groups:
            s[g] = {
                "processes": ms[0]["groups"][g]["processes"],
                "cpu_pct": stat3([m["groups"][g]["cpu_pct"] for m in ms]),
                "cpu_pct_per_stream": stat3([m["groups"][g]["cpu_pct"] / n for m in ms]),
                "hwm_mib": stat3([m["groups"][g]["hwm_kib"] / 1024 for m in ms]),
                "hwm_mib_per_stream": stat3([m["groups"][g]["hwm_kib"] / 1024 / n for m in ms]),
                "rss_anon_mib": stat3([m["groups"][g].get("rss_anon_kib", 0) / 1024 for m in ms]),
                "rss_file_mib": stat3([m["groups"][g].get("rss_file_kib", 0) / 1024 for m in ms]),
            }
        s["camsim_cpu_pct"] = stat3([m["camsim_cpu_pct"] for m in ms])
        s["others_cpu_pct"] = stat3([m["others_cpu_pct"] for m in ms])
        s["rx_mbps"] = stat3([m.get("rx_mbps") for m in ms])
        s["published_mbps"] = stat3([m.get("published_mbps") for m in ms])
        expected = n * args.bitrate_kbps / 1000
        s["runs_rx_low"] = sum(1 for m in ms if m.get("rx_mbps") is not None and m["rx_mbps"] < 0.9 * expected)
        s["loadavg_1m"] = stat3([m["loadavg_start"][0] for m in ms])
        if name in ("vcgated", "alarm"):
            names = sorted({t for m in ms for t in m.get("vcgated_threads_cpu_pct", {})})
            s["vcgated_threads_cpu_pct"] = {t: stat3([m.get("vcgated_threads_cpu_pct", {}).get(t, 0.0) for m in ms])
                                            for t in names}
            s["buffered_mib"] = stat3([m["extra"].get("buffered_bytes", 0) / 2**20 for m in ms])
            s["dropped"] = stat3([m["extra"].get("dropped") for m in ms])
        if name == "alarm":
            subs = [m["extra"].get("sub_summary", {}) for m in ms]
            for key in ("gaps", "lost", "received", "pre_roll"):
                s[f"sub_{key}"] = stat3([x.get(key) for x in subs])
            for lat in ("latency_capture_us", "latency_gateway_us"):
                s[lat] = {k: stat3([x.get(lat, {}).get(k) for x in subs])
                          for k in ("p50_median_camera", "p99_median_camera", "p99_worst_camera", "max")}
        out[name] = s

    # Ratios: of the medians, and the spread of the ratios paired within each run.
    def paired(num, num_g, den, den_g):
        vals = [r[num]["groups"][num_g]["cpu_pct"] / r[den]["groups"][den_g]["cpu_pct"]
                for r in runs if num in r and den in r and "groups" in r[num] and "groups" in r[den]
                and r[den]["groups"][den_g]["cpu_pct"] > 0]
        return stat3(vals)

    def med(name, g, key):
        try:
            return out[name][g][key]["median"]
        except (KeyError, TypeError):
            return None

    ratios = {}
    if med("vcgated", "vcgated", "cpu_pct") and med("gst", "gst-launch", "cpu_pct"):
        ratios["ingest_cpu_vs_gst"] = {
            "of_medians": med("vcgated", "vcgated", "cpu_pct") / med("gst", "gst-launch", "cpu_pct"),
            "paired": paired("vcgated", "vcgated", "gst", "gst-launch"), "target": 1.1}
        gst_rss = med("gst", "gst-launch", "hwm_mib")
        gw_rss = med("vcgated", "vcgated", "hwm_mib")
        budget = gst_rss + n * args.max_bytes / 2**20
        buffered = out["vcgated"]["buffered_mib"]["median"]
        ratios["ingest_memory"] = {
            "vcgated_mib": gw_rss, "gst_mib": gst_rss, "preroll_cap_mib": n * args.max_bytes / 2**20,
            "budget_mib": budget, "within_budget": gw_rss <= budget, "buffered_mib": buffered,
            "beyond_gst_plus_buffered_mib": gw_rss - gst_rss - buffered,
            "beyond_gst_plus_buffered_mib_per_stream": (gw_rss - gst_rss - buffered) / n}
    if med("alarm", "vcgated", "cpu_pct") and med("vcgated", "vcgated", "cpu_pct"):
        ratios["alarm_cpu_vs_ingest"] = {
            "of_medians": med("alarm", "vcgated", "cpu_pct") / med("vcgated", "vcgated", "cpu_pct"),
            "paired": paired("alarm", "vcgated", "vcgated", "vcgated"), "target": 1.2}
    out["ratios"] = ratios
    return out


def fmt3(s, scale=1.0, digits=2):
    if not s:
        return "—"
    return (f"{s['median'] * scale:.{digits}f} ({s['min'] * scale:.{digits}f}–{s['max'] * scale:.{digits}f})")


LABELS = {
    "vcgated": "vcgated, ingest only",
    "gst": "gst-launch, 1 process, N branches",
    "gst-nproc": "gst-launch, N processes",
    "ffmpeg": "ffmpeg -c copy, N processes",
    "alarm": "vcgated, all cameras in alarm",
}


def markdown(n, s, args):
    rows = [f"### N = {n} streams ({args.runs} run(s), window {args.window:g} s)", "",
            "| contender | processes | CPU % of one core per stream | CPU % total | peak RSS total MiB "
            "| peak RSS MiB per stream | camsim CPU % | received Mbit/s | other processes CPU % | load avg 1 min |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in args.contenders:
        c = s.get(name, {})
        if c.get("failed"):
            rows.append(f"| {LABELS[name]} | failed | | | | | | | | |")
            continue
        groups = [g for g in c if isinstance(c[g], dict) and "processes" in c[g]]
        for i, g in enumerate(groups):
            label = LABELS[name] if i == 0 else f"↳ {g}, same runs"
            tail = (f"| {fmt3(c['camsim_cpu_pct'], digits=1)} | {fmt3(c['rx_mbps'], digits=0)} "
                    f"| {fmt3(c['others_cpu_pct'], digits=0)} | {fmt3(c['loadavg_1m'], digits=1)} |" if i == 0
                    else f"| | {fmt3(c.get('published_mbps'), digits=0)} (from vcgated) | | |")
            rows.append(f"| {label} | {c[g]['processes']} | {fmt3(c[g]['cpu_pct_per_stream'])} "
                        f"| {fmt3(c[g]['cpu_pct'], digits=1)} | {fmt3(c[g]['hwm_mib'], digits=0)} "
                        f"| {fmt3(c[g]['hwm_mib_per_stream'], digits=1)} " + tail)
    rows.append("")
    for name in ("vcgated", "alarm"):
        threads = s.get(name, {}).get("vcgated_threads_cpu_pct")
        if threads:
            top = sorted(threads.items(), key=lambda kv: -kv[1]["median"])
            rows.append(f"vcgated threads, {LABELS[name]} (CPU % total, median): "
                        + ", ".join(f"{t} {v['median']:.1f}" for t, v in top if v["median"] >= 0.05) + ".")
    mem = []
    for name in args.contenders:
        c = s.get(name, {})
        for g, v in c.items():
            if isinstance(v, dict) and (v.get("rss_anon_mib") or {}).get("median"):
                mem.append(f"{g if g != 'gst-launch' or name == 'gst' else name} "
                           f"{v['rss_anon_mib']['median']:.0f} / {v['rss_file_mib']['median']:.0f}"
                           + (" (all in alarm)" if name == "alarm" and g == "vcgated" else ""))
    if mem:
        rows.append("Resident memory at the end of the window, private / mapped files (shared libraries), MiB, "
                    "median: " + "; ".join(mem) + ".")
    low = [f"{LABELS[name]} ({s[name]['runs_rx_low']})" for name in args.contenders
           if s.get(name, {}).get("runs_rx_low")]
    if low:
        rows += [f"Runs that received less than 90 % of {n} x {args.bitrate_kbps} kbit/s in the window: "
                 + ", ".join(low) + "."]
    rows.append("")
    r = s.get("ratios", {})
    if "ingest_cpu_vs_gst" in r:
        x = r["ingest_cpu_vs_gst"]
        rows.append(f"- vcgated ingest CPU / bare gst-launch CPU: **{x['of_medians']:.2f}x** (target ≤ 1.1x); "
                    f"paired per run {fmt3(x['paired'])}")
    if "ingest_memory" in r:
        x = r["ingest_memory"]
        rows.append(f"- vcgated peak RSS {x['vcgated_mib']:.0f} MiB vs bare gst-launch {x['gst_mib']:.0f} MiB + "
                    f"pre-roll cap {x['preroll_cap_mib']:.0f} MiB = {x['budget_mib']:.0f} MiB: "
                    f"**{'within' if x['within_budget'] else 'OVER'}**; the rings actually held "
                    f"{x['buffered_mib']:.0f} MiB, leaving {x['beyond_gst_plus_buffered_mib']:.0f} MiB "
                    f"({x['beyond_gst_plus_buffered_mib_per_stream']:.2f} MiB per stream) above gst + rings")
    if "alarm_cpu_vs_ingest" in r:
        x = r["alarm_cpu_vs_ingest"]
        rows.append(f"- vcgated CPU all in alarm / ingest only: **{x['of_medians']:.2f}x** (target ≤ 1.2x); "
                    f"paired per run {fmt3(x['paired'])}")
    a = s.get("alarm", {})
    if a.get("latency_capture_us"):
        lc, lg = a["latency_capture_us"], a.get("latency_gateway_us", {})
        rows.append(f"- capture-to-receipt latency (µs, median of runs): p50 {fmt3(lc['p50_median_camera'], digits=0)}, "
                    f"p99 median camera {fmt3(lc['p99_median_camera'], digits=0)}, "
                    f"p99 worst camera {fmt3(lc['p99_worst_camera'], digits=0)}, max {fmt3(lc['max'], digits=0)}"
                    + (" (target p99 < 2000 µs at 32 streams)" if n == 32 else ""))
        if lg:
            rows.append(f"- publish-to-receipt (ZeroMQ alone, µs): p50 {fmt3(lg['p50_median_camera'], digits=0)}, "
                        f"p99 median camera {fmt3(lg['p99_median_camera'], digits=0)}, "
                        f"p99 worst camera {fmt3(lg['p99_worst_camera'], digits=0)}")
        rows.append(f"- vcgate-sub: gaps {fmt3(a.get('sub_gaps'), digits=0)}, lost {fmt3(a.get('sub_lost'), digits=0)}, "
                    f"units received {fmt3(a.get('sub_received'), digits=0)}; gateway dropped "
                    f"{fmt3(a.get('dropped'), digits=0)}")
    rows.append("")
    return "\n".join(rows)


def targets_markdown(counts):
    """One line per N: every figure the issues set a target for."""
    rows = ["### Against the targets (medians)", "",
            "| N | vcgated CPU %/stream | bare gst %/stream | ratio (≤ 1.1) | vcgated RSS MiB | gst RSS + pre-roll cap MiB "
            "| all-in-alarm vcgated %/stream | ratio to ingest (≤ 1.2) | vcgate-sub %/stream "
            "| capture→receipt p50 / p99 µs (p99 < 2000 at 32) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def get(d, *keys):
        for k in keys:
            if not isinstance(d, dict) or k not in d:
                return None
            d = d[k]
        return d

    def f(x, digits=2):
        return "—" if x is None else f"{x:.{digits}f}"

    for n, c in counts.items():
        s = c["summary"]
        r = s.get("ratios", {})
        lat = get(s, "alarm", "latency_capture_us")
        latency = "—"
        if lat:
            latency = (f"{f(get(lat, 'p50_median_camera', 'median'), 0)} / {f(get(lat, 'p99_median_camera', 'median'), 0)}"
                       f" (worst camera {f(get(lat, 'p99_worst_camera', 'median'), 0)})")
        rows.append(
            f"| {n} | {f(get(s, 'vcgated', 'vcgated', 'cpu_pct_per_stream', 'median'))} "
            f"| {f(get(s, 'gst', 'gst-launch', 'cpu_pct_per_stream', 'median'))} "
            f"| {f(get(r, 'ingest_cpu_vs_gst', 'of_medians'))} "
            f"| {f(get(s, 'vcgated', 'vcgated', 'hwm_mib', 'median'), 0)} "
            f"| {f(get(r, 'ingest_memory', 'budget_mib'), 0)} "
            f"| {f(get(s, 'alarm', 'vcgated', 'cpu_pct_per_stream', 'median'))} "
            f"| {f(get(r, 'alarm_cpu_vs_ingest', 'of_medians'))} "
            f"| {f(get(s, 'alarm', 'vcgate-sub', 'cpu_pct_per_stream', 'median'))} | {latency} |")
    return "\n".join(rows) + "\n"


# --------------------------------------------------------------------------- main


def parse_size(text):
    m = re.fullmatch(r"\s*(\d+)\s*([KMG]i?B|B)?\s*", text, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size '{text}' (e.g. 8MiB)")
    unit = (m.group(2) or "B").lower()
    mult = {"b": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "kb": 10**3, "mb": 10**6, "gb": 10**9}[unit]
    return int(m.group(1)) * mult


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    def _get_help_string(self, action):
        if action.nargs == 0:  # flags: "(default: False)" says nothing useful
            return action.help
        return super()._get_help_string(action)


def report(path):
    with open(path) as f:
        results = json.load(f)
    args = argparse.Namespace(**results["settings"])
    for n, c in results["counts"].items():
        for run in c["runs"]:
            for m in run.values():
                if "others_cpu_pct" in m:
                    m["others_cpu_pct"] = max(0.0, m["others_cpu_pct"])
        c["summary"] = summarize(int(n), c["runs"], args)
        print(markdown(int(n), c["summary"], args))
    print(targets_markdown(results["counts"]))
    return 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    p.add_argument("--build-dir", default=os.path.join(repo, "build"), help="where the binaries were built")
    p.add_argument("--counts", default="8,32,64", help="numbers of streams, comma-separated")
    p.add_argument("--runs", type=int, default=3, help="measurements per contender and count")
    p.add_argument("--window", type=float, default=15.0, help="measurement window, seconds")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds between 'streams flowing' and the window")
    p.add_argument("--contenders", default=",".join(ALL_CONTENDERS),
                   help="subset and order of " + ",".join(ALL_CONTENDERS) + "; also " + ",".join(EXTRA_CONTENDERS))
    p.add_argument("--quick", action="store_true",
                   help="smoke run: --counts 2 --runs 1 --window 5 --warmup 2, 4 s clip, rings not waited for")
    p.add_argument("--out", default="ingest_bench.json", help="JSON results file")
    p.add_argument("--width", type=int, default=1920)
    p.add_argument("--height", type=int, default=1080)
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--bitrate-kbps", type=int, default=4000)
    p.add_argument("--gop", type=int, default=50)
    p.add_argument("--clip-seconds", type=int, default=10, help="camsim clip length")
    p.add_argument("--pre-roll-s", type=float, default=10.0, help="vcgated buffering.pre_roll_s")
    p.add_argument("--max-bytes", type=parse_size, default=8 * 2**20, help="vcgated buffering.max_bytes (e.g. 8MiB)")
    p.add_argument("--no-fill-wait", dest="fill_wait", action="store_false",
                   help="do not wait for vcgated's pre-roll rings to fill before measuring")
    p.add_argument("--sub-first", action="store_true",
                   help="alarm case: start vcgate-sub before the raise, so it receives the pre-roll burst "
                        "(default: after the raise, so the latency is the steady state)")
    p.add_argument("--realtime", type=int, default=0, metavar="PRIO",
                   help="bus.realtime_priority for vcgated (its delivery threads under SCHED_FIFO), and "
                        "vcgate-sub run under chrt -f PRIO; 0 (default): normal policy everywhere")
    p.add_argument("--max-load", type=float, default=3.0, help="before each N, wait while loadavg(1 min) is above")
    p.add_argument("--load-wait", type=float, default=180.0, help="at most this long (seconds); 0: do not wait")
    p.add_argument("--retries", type=int, default=1, help="attempts after a measurement failed (kept in the JSON)")
    p.add_argument("--start-timeout", type=float, default=0,
                   help="seconds for a contender's streams to flow; 0: 60 + 4 x N (camsim sets streams up one by one)")
    p.add_argument("--camsim-timeout", type=float, default=180.0, help="seconds for camsim to encode and be READY")
    p.add_argument("--no-snapshot", dest="snapshot", action="store_false",
                   help="run the binaries in --build-dir directly instead of copies (a rebuild during the run "
                        "would then change what is measured)")
    p.add_argument("--keep-temp", action="store_true", help="keep the temporary directory (configs, logs)")
    p.add_argument("--report", metavar="JSON", help="measure nothing: print the tables again from a results file")
    args = p.parse_args()
    if args.report:
        return report(args.report)
    if args.quick:
        args.counts, args.runs, args.window, args.warmup = "2", 1, 5.0, 2.0
        args.clip_seconds, args.fill_wait, args.load_wait = 4, False, 0
    args.counts = [int(x) for x in args.counts.split(",") if x.strip()]
    args.contenders = [x.strip() for x in args.contenders.split(",") if x.strip()]
    bad = [c for c in args.contenders if c not in ALL_CONTENDERS + EXTRA_CONTENDERS]
    if bad or not args.contenders or not args.counts or args.runs < 1:
        p.error(f"bad --contenders/--counts/--runs ({', '.join(bad)})")

    for tool in ("gst-launch-1.0", "ffmpeg", "ss"):
        if shutil.which(tool) is None:
            p.error(f"{tool} not found (tools/setup.sh deps installs it)")
    binaries = {k: os.path.join(args.build_dir, v) for k, v in BINARIES.items()}
    for k, path in binaries.items():
        if not os.access(path, os.X_OK):
            p.error(f"{path} not found: build it first (cmake --build {args.build_dir} --target "
                    "vcgated vcgate-camsim vcgate-sub vcgatectl)")

    children = Children()
    tmp = tempfile.mkdtemp(prefix="vcgate-bench-")

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    results = {"started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
               "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:])}
    try:
        if args.snapshot:
            # Copies, so that another build of the tree during the run cannot change what is measured.
            os.makedirs(os.path.join(tmp, "bin"))
            for k, path in list(binaries.items()):
                dst = os.path.join(tmp, "bin", os.path.basename(path))
                shutil.copy2(path, dst)
                binaries[k] = dst
        results["machine"] = machine_info()
        results["versions"] = {
            "vcgated": tool_version([binaries["vcgated"], "--version"]),
            "gst-launch": tool_version(["gst-launch-1.0", "--version"]),
            "ffmpeg": tool_version(["ffmpeg", "-version"]),
        }
        try:
            results["versions"]["git"] = subprocess.run(
                ["git", "-C", repo, "describe", "--always", "--dirty"], capture_output=True, text=True,
                timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
        cfg = {k: v for k, v in vars(args).items()}
        results["settings"] = cfg
        log(f"machine: {results['machine']}")
        bench = Bench(args, children, tmp, binaries)
        results["counts"] = {}
        for n in args.counts:
            runs = bench.run_count(n)
            s = summarize(n, runs, args)
            results["counts"][str(n)] = {"runs": runs, "summary": s}
            print(markdown(n, s, args), flush=True)
            with open(args.out, "w") as f:
                json.dump(results, f, indent=1)
        print(targets_markdown(results["counts"]), flush=True)
        results["finished"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        results["machine"]["loadavg_at_end"] = loadavg()
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
        log(f"results in {args.out}")
        return 0
    except BenchError as e:
        log(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        children.kill_all()
        if args.keep_temp:
            log(f"temporary files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
