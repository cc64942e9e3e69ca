// sigwait-based stop signals.
#include "app/signals.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "core/log.hpp"

namespace botfn::app {
namespace {
sigset_t stopSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR2);  // internal: requestStop()
  return set;
}
}  // namespace

void blockStopSignals() {
  sigset_t set = stopSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void waitForStopSignal() {
  sigset_t set = stopSet();
  int sig = 0;
  sigwait(&set, &sig);
  log::get("app")->info("received signal {}, draining", sig);
  std::thread([set]() mutable {
    int again = 0;
    sigdelset(&set, SIGUSR2);
    sigwait(&set, &again);
    log::get("app")->warn("second signal {}, exiting now", again);
    _exit(1);
  }).detach();
}

void requestStop() { kill(getpid(), SIGUSR2); }

}  // namespace botfn::app
