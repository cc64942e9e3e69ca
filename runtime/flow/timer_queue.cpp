// TimerQueue loop and cancellation.
#include "flow/timer_queue.hpp"

#include <vector>

namespace botfn::flow {

TimerQueue::TimerQueue() : thread_([this] { loop(); }) {}

TimerQueue::~TimerQueue() {
  close();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void TimerQueue::after(std::chrono::milliseconds delay, std::function<void()> fire,
                       std::function<void()> cancel) {
  {
    std::lock_guard lock(mutex_);
    if (!closed_) {
      due_.emplace(std::chrono::steady_clock::now() + delay,
                   Timer{std::move(fire), std::move(cancel)});
      cv_.notify_all();
      return;
    }
  }
  if (cancel) cancel();
}

void TimerQueue::close() {
  std::vector<std::function<void()>> cancels;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& [at, timer] : due_) cancels.push_back(std::move(timer.cancel));
    due_.clear();
  }
  cv_.notify_all();
  // Outside the lock: a cancel callback may schedule (and so cancel) another timer.
  for (auto& cancel : cancels) {
    if (cancel) cancel();
  }
}

void TimerQueue::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (due_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = due_.begin();
    if (first->first > std::chrono::steady_clock::now()) {
      // A copy: wait_until reads it while the lock is released, and close() may free the node.
      const auto at = first->first;
      cv_.wait_until(lock, at);
      continue;
    }
    auto fire = std::move(first->second.fire);
    due_.erase(first);
    lock.unlock();
    if (fire) fire();
    lock.lock();
  }
}

}  // namespace botfn::flow
