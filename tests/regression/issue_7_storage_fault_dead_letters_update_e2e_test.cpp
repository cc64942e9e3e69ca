// Issue 7, item 5: a commit that failed because of the storage (here: another process holds the
// SQLite write lock longer than the busy timeout) counted as a failed handler run, so the update
// used up its retries and was dead-lettered (and the user got error_text) although the handler
// was fine. Now it waits with capped backoff and runs again once the storage is back: handled
// once, no dead letter, /readyz 503 meanwhile, and botfn_storage_faults_total counts the faults.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <thread>

#include "loopback_listener.hpp"
#include "stack.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

// The handler's outbound call: held until release(), so the write lock is taken while it runs.
class HoldingServer {
 public:
  HoldingServer() {
    fd_ = testing::listenOnLoopback(port_, 16);
    thread_ = std::thread([this] {
      while (true) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        handlers_.emplace_back([this, c] {
          char buf[4096];
          (void)recv(c, buf, sizeof buf, 0);
          held_++;
          {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [&] { return released_; });
          }
          const std::string r =
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
          (void)send(c, r.data(), r.size(), MSG_NOSIGNAL);
          close(c);
        });
      }
    });
  }
  ~HoldingServer() {
    release();
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (auto& t : handlers_) t.join();
  }
  uint16_t port() const { return port_; }
  int held() const { return held_.load(); }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::vector<std::thread> handlers_;
  std::atomic<int> held_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool released_ = false;
};

// A second SQLite connection (the sqlite3 shell) holding the write lock: BEGIN IMMEDIATE until
// release().
class WriteLock {
 public:
  explicit WriteLock(const std::filesystem::path& db) : marker_(db.string() + ".locked") {
    std::filesystem::remove(marker_);
    shell_ = popen(("sqlite3 '" + db.string() + "' >/dev/null 2>&1").c_str(), "w");
    if (!shell_) return;
    std::fprintf(shell_, ".timeout 10000\nBEGIN IMMEDIATE;\n.system touch '%s'\n", marker_.c_str());
    std::fflush(shell_);
  }
  ~WriteLock() { release(); }
  bool held(std::chrono::milliseconds timeout) {
    return shell_ && waitUntil([&] { return std::filesystem::exists(marker_); }, timeout);
  }
  void release() {
    if (!shell_) return;
    std::fprintf(shell_, "COMMIT;\n.quit\n");
    std::fflush(shell_);
    pclose(shell_);
    shell_ = nullptr;
  }

 private:
  std::string marker_;
  FILE* shell_ = nullptr;
};

TEST(StorageFaultTest, LockedDatabaseDelaysTheUpdateAndNeverDeadLettersIt) {
  HoldingServer slow;
  StackOptions o;
  o.app = "testbot";
  // Without the fix the update is dead-lettered within ~1 s of the lock: 4 runs, each commit
  // failing after the 200 ms busy timeout. The lock is held far longer (several storage waits).
  o.toml_extra =
      "[storage]\nbusy_timeout_ms = 200\n"
      "[dispatch]\nretry_delays_ms = [50, 50, 50]\nstorage_retry_min_ms = 100\n"
      "storage_retry_max_ms = 400\n";
  Stack s(o);
  const std::string readyz = "http://127.0.0.1:" + std::to_string(s.port()) + "/readyz";
  ASSERT_EQ(s.request("GET", readyz).status, 200);

  s.say(901, "/slow http://127.0.0.1:" + std::to_string(slow.port()) + "/hold");
  ASSERT_TRUE(waitUntil([&] { return slow.held() == 1; }, seconds(15))) << s.logs();
  WriteLock lock(s.dir() / "db.sqlite");
  ASSERT_TRUE(lock.held(std::chrono::milliseconds(15000)));
  slow.release();  // the handler finishes; its commit meets the lock

  ASSERT_TRUE(waitUntil([&] { return s.request("GET", readyz).status == 503; }, seconds(20)))
      << s.logs();
  EXPECT_NE(s.request("GET", readyz).body.find("StorageBusy"), std::string::npos);
  // Well past the 4 runs that used to dead-letter it.
  ASSERT_TRUE(s.waitMetric("botfn_update_storage_waits_total{bot=\"demo\"}", 8, seconds(40)))
      << s.logs();
  EXPECT_GE(s.metric("botfn_storage_faults_total{code=\"StorageBusy\"}"), 8);
  EXPECT_EQ(s.sql("SELECT count(*) FROM dead_letters"), "0");
  EXPECT_TRUE(s.messages(901).empty());

  lock.release();
  ASSERT_TRUE(waitUntil([&] { return s.lastText(901) == "slow done 200 ok"; }, seconds(20)))
      << s.logs();
  EXPECT_EQ(s.messages(901).size(), 1u);  // handled once: one reply, no error_text
  EXPECT_EQ(s.sql("SELECT count(*) FROM dead_letters"), "0");
  EXPECT_EQ(s.sql("SELECT count(*) FROM processed WHERE handled = 1"), "1");
  EXPECT_TRUE(waitUntil([&] { return s.request("GET", readyz).status == 200; }, seconds(20)));
}

}  // namespace
}  // namespace botfn::e2e
