// Real-time scheduling for the few threads that carry an access unit from
// ingest to the bus: the frame dispatcher's worker and ZeroMQ's I/O thread.
//
// Why: on a busy box, a woken thread under the normal policy may wait for a
// time slice behind the cameras' streaming threads, and each unit crosses
// several threads on its way out. Under SCHED_FIFO these threads run as soon
// as they are woken, so the latency a unit picks up in the gateway stays in
// the sub-millisecond range however loaded the ingest side is. They are
// bounded by the input rate (they only ever move what the cameras sent), so
// they cannot starve the box; the kernel's real-time throttling is a second
// guard. Everything else (ingest, evidence, analytics) keeps the normal policy.
//
// Needs CAP_SYS_NICE or an RLIMIT_RTPRIO at least the priority (systemd:
// LimitRTPRIO=); without either, callers log why and run at normal priority.
#pragma once

#include "gateway/core/result.h"

namespace vcgate::core {

// SCHED_FIFO at `priority` (1-99) for the calling thread.
Result<void> makeThisThreadRealtime(int priority);

// Whether this process may run threads at SCHED_FIFO `priority`. Tried on a
// short-lived thread, so the caller's own scheduling is left as it is.
Result<void> realtimeAllowed(int priority);

// Names the calling thread for top -H, ps -L, perf and gdb (cut to 15 bytes).
void nameThisThread(const char* name);

}  // namespace vcgate::core
