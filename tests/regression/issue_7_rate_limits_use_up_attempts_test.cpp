// Issue 7.4: 429s, and requests that never left the client (no free connection within the
// timeout), counted toward sender.max_attempts, so a rate-limited or queued message could fail
// after a few ordinary errors. The HTTP client now reports a request that never left as
// HttpNotSent (a timeout after sending stays HttpTimeout), and the sender counts neither.
#include <gtest/gtest.h>
#include <unistd.h>

#include <future>

#include "loopback_listener.hpp"
#include "net/http_client_curl.hpp"
#include "sender/sender_doubles.hpp"

namespace botfn::sender {
namespace {

using namespace std::chrono_literals;
using testing::ScriptedHttp;
using testing::SenderHarness;

const char* k429 =
    R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}})";
const char* k500 = R"({"ok":false,"error_code":500,"description":"Internal Server Error"})";
const char* kOk = R"({"ok":true,"result":{"message_id":9}})";

SenderOptions twoAttempts() {
  SenderOptions o;
  o.poll_interval = 5ms;
  o.max_attempts = 2;
  return o;
}

TEST(Issue7RateLimitsUseUpAttempts, A429DoesNotCountTowardMaxAttempts) {
  SenderHarness h;
  std::atomic<int> calls{0};
  h.http.answer = [&](const nlohmann::json&, const std::string&) {
    const int n = calls++;
    return ScriptedHttp::http(n == 0   ? 429
                              : n == 1 ? 500
                                       : 200,
                              n == 0   ? k429
                              : n == 1 ? k500
                                       : kOk);
  };
  h.commit(1, {SenderHarness::text(1, "a")});
  h.start(twoAttempts());
  ASSERT_TRUE(h.waitPendingZero());
  // 429, then one 5xx (the first counted try of two), then sent: two counted tries.
  EXPECT_EQ(h.http.texts(), (std::vector<std::string>{"a", "a", "a"}));
  EXPECT_EQ(h.outboxRows(), (std::vector<std::string>{"sent 2 9"}));
}

TEST(Issue7RateLimitsUseUpAttempts, ARequestThatNeverLeftDoesNotCountTowardMaxAttempts) {
  SenderHarness h;
  std::atomic<int> calls{0};
  h.http.answer = [&](const nlohmann::json&, const std::string&) -> Result<net::HttpResponse> {
    const int n = calls++;
    if (n < 2) return fail(ErrorCode::HttpNotSent, "no free connection within the timeout");
    if (n == 2) return ScriptedHttp::http(500, k500);
    return ScriptedHttp::http(200, kOk);
  };
  h.commit(1, {SenderHarness::text(1, "a")});
  h.start(twoAttempts());
  ASSERT_TRUE(h.waitPendingZero());
  EXPECT_EQ(h.http.texts().size(), 4u);
  EXPECT_EQ(h.outboxRows(), (std::vector<std::string>{"sent 2 9"}));
}

// Accepts connections and never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = botfn::testing::listenOnLoopback(port_);
    thread_ = std::thread([this] {
      while (true) {
        const int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::lock_guard lock(mutex_);
        held_.push_back(c);
      }
    });
  }
  ~SilentServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (int c : held_) close(c);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/x"; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<int> held_;
};

Result<net::HttpResponse> post(net::HttpClient& client, const std::string& url,
                               std::chrono::milliseconds timeout) {
  net::HttpRequest r;
  r.method = "POST";
  r.url = url;
  r.body = "{}";
  r.timeout = timeout;
  return client.sendSync(std::move(r));
}

TEST(Issue7RateLimitsUseUpAttempts, TheClientTellsATimeoutInItsQueueFromOneAfterSending) {
  SilentServer server;
  auto client = net::makeCurlHttpClient({"test", 1});
  auto first = std::async(std::launch::async, [&] { return post(*client, server.url(), 1500ms); });
  std::this_thread::sleep_for(100ms);  // let the first take the only connection
  auto queued = post(*client, server.url(), 300ms);
  ASSERT_FALSE(queued);
  EXPECT_EQ(queued.error().code, ErrorCode::HttpNotSent) << queued.error().describe();
  auto sent = first.get();
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::HttpTimeout) << sent.error().describe();
}

TEST(Issue7RateLimitsUseUpAttempts, ARefusedConnectionIsARequestThatNeverLeft) {
  uint16_t port = 0;
  close(botfn::testing::listenOnLoopback(port));  // a port nothing listens on
  auto client = net::makeCurlHttpClient({"test", 1});
  auto r = post(*client, "http://127.0.0.1:" + std::to_string(port) + "/x", 2000ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::HttpNotSent) << r.error().describe();
}

}  // namespace
}  // namespace botfn::sender
