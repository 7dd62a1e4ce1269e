// Lifeline: no tacc process outlives the `tacc up` (or test) that started its cluster.
//
// The root process creates a pipe and keeps the only write end (close-on-exec); the
// read end's number travels in TACC_LIFELINE_FD to every descendant, however it was
// spawned (manager, front end, restarted manager, workers). When the root dies for
// any reason, even SIGKILL, the kernel closes the write end and every descendant reads
// EOF and stops. Processes started by hand without the variable are unaffected.
#pragma once

#include <boost/asio/io_context.hpp>

#include <functional>

#include "common/status.h"

namespace tacc {

// Root side: creates the pipe and exports TACC_LIFELINE_FD for children. If this
// process itself inherited a lifeline, it is replaced for the children (the caller
// should also WatchLifeline() to stop when its own root goes).
// Returns the write end, which the caller closes to stop every descendant.
Result<int> CreateLifeline();

// Descendant side: if TACC_LIFELINE_FD is set, calls on_lost (on ctx's thread) once the
// root has gone. Returns whether a lifeline is being watched.
bool WatchLifeline(boost::asio::io_context& ctx, std::function<void()> on_lost);

}  // namespace tacc
