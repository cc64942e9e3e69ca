// Worker thread loop and mailbox.
#include "flow/worker.hpp"

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "lua/big_stack_thread.hpp"

namespace botfn::flow {

struct Worker::Thread {
  lua::BigStackThread thread;
};

Worker::Worker(int index, effects::ExecutorFactory factory, size_t stack_bytes)
    : index_(index), factory_(std::move(factory)) {
  thread_ = std::make_unique<Thread>(Thread{lua::BigStackThread(
      [this] {
        nameThisThread("botfn-worker-" + std::to_string(index_));
        loop();
      },
      stack_bytes)});
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return ready_.load(); });
}

Worker::~Worker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.reset();  // joins
}

void Worker::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_all();
}

effects::Executor& Worker::executor() {
  if (!executor_) {
    executor_ = factory_([this](std::function<void()> task) { post(std::move(task)); });
    if (!executor_) throw std::runtime_error("the executor factory built nothing");
  }
  return *executor_;
}

void Worker::loop() {
  try {
    executor();
  } catch (const std::exception& e) {
    // Not fatal: each task that needs the executor tries again, and fails its update if it must.
    log::get("flow")->error("worker {}: executor not built: {}", index_, e.what());
  }
  {
    std::lock_guard lock(mutex_);
    ready_ = true;
  }
  cv_.notify_all();
  while (true) {
    std::deque<std::function<void()>> batch;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty() && stopping_) break;
      batch.swap(tasks_);
    }
    for (auto& task : batch) {
      try {
        task();
      } catch (const std::exception& e) {
        log::get("flow")->error("worker {} task threw: {}", index_, e.what());
      }
    }
  }
  executor_.reset();  // the VM is closed on its own thread
}

}  // namespace botfn::flow
