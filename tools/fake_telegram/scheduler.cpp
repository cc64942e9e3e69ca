// Implementation of scheduler.hpp: a multimap of due times served by one thread that sleeps on
// a condition variable until the earliest callback is due.
#include "scheduler.hpp"

namespace botfn::fake_telegram {

Scheduler::Scheduler() : thread_([this] { loop(); }) {}

Scheduler::~Scheduler() { stop(); }

void Scheduler::runAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    due_.emplace(std::chrono::steady_clock::now() + delay, std::move(fn));
  }
  cv_.notify_one();
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    due_.clear();
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (due_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = due_.begin();
    auto when = first->first;  // copy: stop() may free the node while we wait
    if (when > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, when);
      continue;
    }
    std::function<void()> fn = std::move(first->second);
    due_.erase(first);
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace botfn::fake_telegram
