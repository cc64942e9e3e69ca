// Signal handling for serve: SIGTERM/SIGINT are blocked in every thread and received by one
// sigwait thread; the first starts a graceful drain, a second exits at once.
#pragma once

#include <functional>

namespace botfn::app {

// Call in main() before any thread starts.
void blockStopSignals();
// Blocks until SIGTERM or SIGINT (or requestStop()); starts a thread that _exits on a second one.
void waitForStopSignal();
void requestStop();  // tests and fatal start-up paths

}  // namespace botfn::app
