// BigStackThread: pthread_attr_setstacksize + pthread_create around a std::function.
// Uses pthreads only; called by flow workers and tests.
#include "lua/big_stack_thread.hpp"

#include <cerrno>
#include <exception>
#include <memory>
#include <system_error>
#include <utility>

namespace botfn::lua {

namespace {

void* trampoline(void* arg) {
  std::unique_ptr<std::function<void()>> fn(static_cast<std::function<void()>*>(arg));
  try {
    (*fn)();
  } catch (...) {
    std::terminate();
  }
  return nullptr;
}

}  // namespace

BigStackThread::BigStackThread(std::function<void()> fn, std::size_t stackSize) {
  pthread_attr_t attr;
  int rc = pthread_attr_init(&attr);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_attr_init");
  rc = pthread_attr_setstacksize(&attr, stackSize);
  if (rc != 0) {
    pthread_attr_destroy(&attr);
    throw std::system_error(rc, std::generic_category(), "pthread_attr_setstacksize");
  }
  auto owned = std::make_unique<std::function<void()>>(std::move(fn));
  rc = pthread_create(&thread_, &attr, trampoline, owned.get());
  pthread_attr_destroy(&attr);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_create");
  owned.release();  // the trampoline owns it now
  joinable_ = true;
}

BigStackThread::BigStackThread(BigStackThread&& other) noexcept
    : thread_(other.thread_), joinable_(std::exchange(other.joinable_, false)) {}

BigStackThread& BigStackThread::operator=(BigStackThread&& other) noexcept {
  if (this != &other) {
    if (joinable_) pthread_join(thread_, nullptr);
    thread_ = other.thread_;
    joinable_ = std::exchange(other.joinable_, false);
  }
  return *this;
}

BigStackThread::~BigStackThread() {
  if (joinable_) pthread_join(thread_, nullptr);
}

void BigStackThread::join() {
  if (!joinable_) throw std::system_error(EINVAL, std::generic_category(), "join");
  const int rc = pthread_join(thread_, nullptr);
  joinable_ = false;
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_join");
}

std::size_t BigStackThread::currentStackSize() noexcept {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  std::size_t size = 0;
  pthread_attr_getstacksize(&attr, &size);
  pthread_attr_destroy(&attr);
  return size;
}

void runOnBigStack(std::function<void()> fn, std::size_t stackSize) {
  BigStackThread thread(std::move(fn), stackSize);
  thread.join();
}

}  // namespace botfn::lua
