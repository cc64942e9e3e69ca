// A single timer thread that runs callbacks after a delay: used for --latency-ms answers and for
// long-poll timeouts (getUpdates, /control/wait) so no reactor thread ever sleeps.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace botfn::fake_telegram {

class Scheduler {
 public:
  Scheduler();
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs fn on the timer thread after delay (zero delay still runs on the timer thread).
  void runAfter(std::chrono::milliseconds delay, std::function<void()> fn);
  // Stops the thread; pending callbacks are dropped.
  void stop();

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> due_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace botfn::fake_telegram
