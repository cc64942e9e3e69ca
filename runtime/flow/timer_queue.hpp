// A thread that runs callbacks at given times (retry delays). Used by the dispatcher.
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
  ~TimerQueue();  // drops pending callbacks
  void after(std::chrono::milliseconds delay, std::function<void()> fn);
  void clear();

 private:
  void loop();
  std::mutex mutex_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> due_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace botfn::flow
