// The libcurl client against a real local HTTP/1.1 server: keep-alive reuse, transfers beyond
// max_connections wait their turn (and their timeout counts the wait), abort, size limits.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "loopback_listener.hpp"
#include "net/http_client_curl.hpp"

namespace botfn::net {
namespace {

using namespace std::chrono_literals;

// A keep-alive HTTP/1.1 server on 127.0.0.1:0, one thread per connection. Answers every request
// with its path as the body after `delay`; "/big" answers 2 MB; "/500" answers 500.
class LocalServer {
 public:
  explicit LocalServer(std::chrono::milliseconds delay = 0ms) : delay_(delay) {
    listen_fd_ = testing::listenOnLoopback(port_);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~LocalServer() {
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    acceptor_.join();
    std::vector<std::thread> connections;
    {
      std::lock_guard lock(mutex_);
      for (int fd : fds_) shutdown(fd, SHUT_RDWR);  // each connection thread ends on it
      connections.swap(connections_);
    }
    for (auto& t : connections) t.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int connectionsAccepted() const { return accepted_.load(); }
  int maxConcurrent() const { return max_concurrent_.load(); }

 private:
  void acceptLoop() {
    while (!stopping_) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      accepted_++;
      std::lock_guard lock(mutex_);
      fds_.push_back(fd);
      connections_.emplace_back([this, fd] { serve(fd); });
    }
  }
  void serve(int fd) {
    std::string buffer;
    char chunk[4096];
    while (true) {
      const auto end = buffer.find("\r\n\r\n");
      if (end == std::string::npos) {
        const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        buffer.append(chunk, static_cast<size_t>(n));
        continue;
      }
      const std::string head = buffer.substr(0, end);
      size_t body = 0;
      if (auto cl = head.find("Content-Length: "); cl != std::string::npos)
        body = std::stoul(head.substr(cl + 16));
      while (buffer.size() < end + 4 + body) {
        const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      const std::string path =
          head.substr(head.find(' ') + 1, head.find(' ', head.find(' ') + 1) - head.find(' ') - 1);
      buffer.erase(0, end + 4 + body);
      const int now = ++concurrent_;
      for (int seen = max_concurrent_.load();
           now > seen && !max_concurrent_.compare_exchange_weak(seen, now);) {
      }
      std::this_thread::sleep_for(delay_);
      --concurrent_;
      const std::string payload = path == "/big" ? std::string(2 << 20, 'x') : path;
      const std::string status = path == "/500" ? "500 Internal Server Error" : "200 OK";
      const std::string response = "HTTP/1.1 " + status +
                                   "\r\nContent-Length: " + std::to_string(payload.size()) +
                                   "\r\n\r\n" + payload;
      if (send(fd, response.data(), response.size(), MSG_NOSIGNAL) < 0) break;
    }
    close(fd);
  }

  std::chrono::milliseconds delay_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0}, concurrent_{0}, max_concurrent_{0};
  std::mutex mutex_;
  std::vector<int> fds_;
  std::vector<std::thread> connections_;
  std::thread acceptor_;
};

HttpRequest get(const std::string& url, std::chrono::milliseconds timeout = 5000ms) {
  HttpRequest r;
  r.url = url;
  r.timeout = timeout;
  return r;
}

TEST(CurlHttpClientTest, ManyRequestsShareAFewKeptAliveConnections) {
  LocalServer server(2ms);
  auto client = makeCurlHttpClient(CurlOptions{"test", 4});
  constexpr int kRequests = 300;
  std::mutex mutex;
  std::condition_variable cv;
  int done = 0, ok = 0;
  for (int i = 0; i < kRequests; ++i) {
    client->send(get(server.url("/r" + std::to_string(i))), [&, i](Result<HttpResponse> r) {
      std::lock_guard lock(mutex);
      if (r && r->status == 200 && r->body == "/r" + std::to_string(i)) ++ok;
      ++done;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return done == kRequests; }));
  EXPECT_EQ(ok, kRequests);
  EXPECT_LE(server.connectionsAccepted(), 4);
  EXPECT_LE(server.maxConcurrent(), 4);
  lock.unlock();
  // A request counts as in flight until its callback returned.
  for (int i = 0; i < 100 && client->inFlight() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(client->inFlight(), 0u);
}

TEST(CurlHttpClientTest, TimeOutCountsTheWaitForAFreeConnection) {
  LocalServer server(1500ms);
  auto client = makeCurlHttpClient(CurlOptions{"test", 1});
  std::promise<Result<HttpResponse>> first, second;
  client->send(get(server.url("/slow")),
               [&](Result<HttpResponse> r) { first.set_value(std::move(r)); });
  const auto sent = std::chrono::steady_clock::now();
  client->send(get(server.url("/queued"), 300ms),
               [&](Result<HttpResponse> r) { second.set_value(std::move(r)); });
  auto queued = second.get_future().get();
  ASSERT_FALSE(queued);
  EXPECT_EQ(queued.error().code, ErrorCode::HttpNotSent);  // it never left: safe to retry
  // Failed when its own timeout ran out while it waited, not once the slow one freed the
  // connection.
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 1000ms);
  auto slow = first.get_future().get();
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->body, "/slow");
}

TEST(CurlHttpClientTest, AbortFailsRunningAndWaitingTransfers) {
  LocalServer server(2000ms);
  auto client = makeCurlHttpClient(CurlOptions{"test", 1});
  std::vector<std::promise<Result<HttpResponse>>> results(3);
  for (auto& p : results) {
    client->send(get(server.url("/held")),
                 [&p](Result<HttpResponse> r) { p.set_value(std::move(r)); });
  }
  std::this_thread::sleep_for(200ms);
  client->abortAll();
  for (auto& p : results) {
    auto fut = p.get_future();
    ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
    auto r = fut.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::ShuttingDown);
  }
}

TEST(CurlHttpClientTest, SizeLimitAndServerErrors) {
  LocalServer server;
  auto client = makeCurlHttpClient(CurlOptions{"test", 2});
  auto big = client->sendSync(get(server.url("/big")));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::HttpTooLarge);
  auto error = client->sendSync(get(server.url("/500")));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 500);
  auto refused = client->sendSync(get("http://127.0.0.1:1/nothing-listens", 2000ms));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::HttpNotSent);  // no connection: it never left
}

}  // namespace
}  // namespace botfn::net
