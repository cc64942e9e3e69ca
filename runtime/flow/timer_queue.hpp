// A thread that runs callbacks at given times (retry delays, storage waits). Each timer has a
// cancel callback, run instead of it by close(), so what waits on a timer is never stranded.
// Used by the dispatcher.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace botfn::flow {

class TimerQueue {
 public:
  TimerQueue();
  ~TimerQueue();  // close(), then joins
  // fire runs on the timer thread after delay; after close(), cancel runs instead (at once when
  // the queue is already closed, on the caller's thread).
  void after(std::chrono::milliseconds delay, std::function<void()> fire,
             std::function<void()> cancel = {});
  // Runs the cancel callback of every pending timer (on the caller's thread); later timers are
  // cancelled at once. A timer already firing is not cancelled.
  void close();

 private:
  struct Timer {
    std::function<void()> fire;
    std::function<void()> cancel;
  };
  void loop();
  std::mutex mutex_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, Timer> due_;
  bool closed_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace botfn::flow
