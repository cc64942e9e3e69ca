// Ordering and isolation: per-chat order under 50 concurrent chats, and a slow outbound call in
// ten chats does not delay an eleventh chat's reply (2 workers; the calls are held open).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "loopback_listener.hpp"
#include "stack.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

// An HTTP endpoint that holds every request until release() — the "slow external API".
class HoldingServer {
 public:
  HoldingServer() {
    fd_ = testing::listenOnLoopback(port_, 64);
    thread_ = std::thread([this] { acceptLoop(); });
  }
  ~HoldingServer() {
    release();
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (auto& t : handlers_) t.join();
  }
  int port() const { return port_; }
  int held() const { return held_.load(); }
  void release() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    cv_.notify_all();
  }

 private:
  void acceptLoop() {
    while (true) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      handlers_.emplace_back([this, c] {
        char buf[4096];
        (void)recv(c, buf, sizeof buf, 0);
        held_++;
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return released_; });
        const std::string r = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        (void)send(c, r.data(), r.size(), MSG_NOSIGNAL);
        close(c);
      });
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::vector<std::thread> handlers_;
  std::atomic<int> held_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool released_ = false;
};

TEST(ConcurrencyTest, SlowCallsInTenChatsDoNotDelayAnEleventh) {
  HoldingServer slow;
  StackOptions o;
  o.app = "testbot";
  o.toml_extra = "[lua]\nworkers = 2\n";
  Stack s(o);
  const std::string url = "http://127.0.0.1:" + std::to_string(slow.port()) + "/hold";
  for (int chat = 1; chat <= 10; ++chat) s.say(1100 + chat, "/slow " + url);
  ASSERT_TRUE(waitUntil([&] { return slow.held() == 10; }, seconds(15))) << slow.held() << s.logs();
  s.say(1200, "quick");
  ASSERT_TRUE(waitUntil([&] { return s.lastText(1200) == "echo quick"; }, seconds(10)));
  for (int chat = 1; chat <= 10; ++chat) EXPECT_TRUE(s.messages(1100 + chat).empty());
  slow.release();
  for (int chat = 1; chat <= 10; ++chat) {
    EXPECT_TRUE(
        waitUntil([&] { return s.lastText(1100 + chat) == "slow done 200 ok"; }, seconds(15)))
        << chat << " " << s.lastText(1100 + chat);
  }
}

TEST(ConcurrencyTest, ShutdownDuringASlowCallExitsCleanlyAndTheUpdateRunsAgainLater) {
  auto slow = std::make_unique<HoldingServer>();
  StackOptions o;
  o.app = "testbot";
  o.toml_extra = "shutdown_grace_s = 1\n";
  Stack s(o);
  const std::string url = "http://127.0.0.1:" + std::to_string(slow->port()) + "/hold";
  s.say(1300, "/slow " + url);
  ASSERT_TRUE(waitUntil([&] { return slow->held() == 1; }, seconds(15)));
  const auto started = std::chrono::steady_clock::now();
  s.botfn().signal(SIGTERM);
  EXPECT_EQ(s.botfn().wait(seconds(15)), 0) << s.logs();
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(6));
  EXPECT_EQ(s.sql("SELECT count(*) FROM inbound"), "1");  // still queued, nothing committed
  EXPECT_EQ(s.sql("SELECT count(*) FROM processed"), "0");
  slow->release();
  s.startBotfn();
  ASSERT_TRUE(waitUntil([&] { return s.lastText(1300) == "slow done 200 ok"; }, seconds(15)))
      << s.logs();
}

TEST(ConcurrencyTest, EachChatKeepsItsOrderUnderFiftyConcurrentChats) {
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  o.toml_extra = "[lua]\nworkers = 4\n";
  Stack s(o);
  constexpr int kChats = 50, kPerChat = 8;
  for (int c = 0; c < kChats; ++c) {  // make the chats known to the fake (queued, never polled)
    s.control("POST", "/control/message",
              {{"token", s.token()}, {"user_id", 3000 + c}, {"text", "x"}});
  }
  std::vector<std::thread> posters;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&, t] {
      // Each thread owns a subset of chats, so per-chat sending order is well defined.
      for (int i = 0; i < kPerChat; ++i) {
        for (int c = t; c < kChats; c += 4) {
          const int64_t id = 100000 + c * 100 + i;
          if (s.postUpdate(userMessage(id, 3000 + c, "m" + std::to_string(i)).dump()).status != 200)
            failures++;
        }
      }
    });
  }
  for (auto& p : posters) p.join();
  ASSERT_EQ(failures.load(), 0);
  for (int c = 0; c < kChats; ++c) {
    auto msgs = s.waitMessages(3000 + c, kPerChat, seconds(30));
    ASSERT_EQ(msgs.size(), static_cast<size_t>(kPerChat)) << "chat " << c << msgs.dump();
    for (int i = 0; i < kPerChat; ++i)
      EXPECT_EQ(msgs[i]["text"], "echo m" + std::to_string(i)) << "chat " << c;
  }
}

}  // namespace
}  // namespace botfn::e2e
