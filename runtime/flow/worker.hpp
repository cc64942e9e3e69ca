// A worker: one big-stack thread (Lua needs ≥ 8 MiB of C stack) owning one Executor (one VM) and
// a mailbox. Runs suspended on I/O are resumed through the mailbox, so one worker serves many
// lanes at once. Created by the dispatcher.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "effects/run.hpp"

namespace botfn::flow {

class Worker {
 public:
  Worker(int index, effects::ExecutorFactory factory, size_t stack_bytes);
  ~Worker();  // finishes queued tasks, then joins
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void post(std::function<void()> task);
  // Only on the worker thread. Built again when building it failed before (a VM that cannot be
  // built now may be built later); throws when it still cannot be built.
  effects::Executor& executor();
  // Runs in progress on this worker (for least-loaded placement); updated by the dispatcher.
  std::atomic<int> load{0};
  int index() const { return index_; }

 private:
  void loop();

  int index_;
  effects::ExecutorFactory factory_;
  std::unique_ptr<effects::Executor> executor_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::atomic<bool> ready_{false};
  struct Thread;
  std::unique_ptr<Thread> thread_;
};

}  // namespace botfn::flow
