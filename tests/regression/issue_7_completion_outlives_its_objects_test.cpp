// Issue 7, item 16: completions ran on objects already destroyed. A webhook's completion (its
// update durable, on the storage writer) used the function context through a raw pointer, which
// the server's teardown freed first; an OutboxSender whose stop() timed out was destroyed while
// its Bot API call was in flight, and the call's completion then ran on it. Now the completion
// holds the context, and the sender's destructor waits for its calls. Run under ASan in CI.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <thread>

#include "functions/function_context.hpp"
#include "loopback_listener.hpp"
#include "net/http_client_curl.hpp"
#include "sender/outbox_sender.hpp"
#include "sqlite_backend.hpp"

namespace botfn {
namespace {

using namespace std::chrono_literals;

bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

// A one-shot gate the tests open.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    cv.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return open; });
  }
};

struct RecordingSink final : ingress::Responder::Sink {
  std::atomic<int> status{0};
  void send(ingress::HttpResponse r) override { status = r.status; }
};

TEST(CompletionLifetimeTest, WebhookCompletionKeepsTheFunctionContext) {
  storage::contract::SqliteBackend backend;
  // Hold the writer so the push stays pending while the server's objects go away.
  auto gate = std::make_shared<Gate>();
  backend.db().write(storage::sqlite::WriteJob{[gate](sqlite3*) -> Result<void> {
                                                 gate->wait();
                                                 return {};
                                               },
                                               nullptr});
  std::atomic<bool> shutting_down{false};
  auto fc = std::make_shared<functions::FunctionContext>();
  fc->bots["b"] = functions::WebhookBot{"b", "", "bot"};
  fc->inbox = &backend.bus();
  fc->metrics = &backend.metrics();
  fc->shutting_down = &shutting_down;
  auto router = std::make_shared<ingress::Router>();
  functions::registerFunctions(*router, fc);
  std::weak_ptr<functions::FunctionContext> weak = fc;

  ingress::HttpRequest request;
  request.method = "POST";
  request.path = "/tg/b/webhook";
  request.body = R"({"update_id":1,"message":{"message_id":1,"chat":{"id":7},"text":"x"}})";
  const ingress::RouteHandler* handler = nullptr;
  ASSERT_EQ(router->find(request, &handler), ingress::Router::Match::Found);
  auto sink = std::make_shared<RecordingSink>();
  (*handler)(request, ingress::Responder(sink));

  // The server's teardown: router and context released while the push is still queued.
  handler = nullptr;
  router.reset();
  fc.reset();
  EXPECT_FALSE(weak.expired()) << "the pending completion must hold the context";
  gate->release();
  ASSERT_TRUE(waitUntil([&] { return sink->status.load() == 200; }, 20s));
  EXPECT_TRUE(waitUntil([&] { return weak.expired(); }, 20s));
}

// A Bot API stand-in that holds every request until released.
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
          gate_.wait();
          const std::string r =
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 41\r\n"
              "Connection: close\r\n\r\n{\"ok\":true,\"result\":{\"message_id\":12345}}";
          (void)send(c, r.data(), r.size(), MSG_NOSIGNAL);
          close(c);
        });
      }
    });
  }
  ~HoldingServer() {
    gate_.release();
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (auto& t : handlers_) t.join();
  }
  uint16_t port() const { return port_; }
  int held() const { return held_.load(); }
  void release() { gate_.release(); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::vector<std::thread> handlers_;
  std::atomic<int> held_{0};
  Gate gate_;
};

TEST(CompletionLifetimeTest, SenderWhoseStopTimedOutOutlivesItsCallInFlight) {
  storage::contract::SqliteBackend backend;
  HoldingServer api_server;
  auto http = net::makeCurlHttpClient({"t"});
  telegram::BotApi api(*http, "http://127.0.0.1:" + std::to_string(api_server.port()), "1:t");
  auto sender = std::make_unique<sender::OutboxSender>(
      sender::SenderOptions{}, backend.store(), [&api](const std::string&) { return &api; },
      backend.metrics());
  sender->start();
  storage::Commit c;
  c.bot = "b";
  c.update_id = 1;
  c.kind = "message";
  c.outbox.push_back(
      storage::OutboxMessage{"b", "c7", 7, "sendMessage", R"({"chat_id":7,"text":"hi"})", "", ""});
  ASSERT_TRUE(
      storage::contract::await<Result<void>>([&](auto done) { backend.store().commit(c, done); }));
  ASSERT_TRUE(waitUntil([&] { return api_server.held() == 1; }, 20s));

  EXPECT_FALSE(sender->stop(std::chrono::steady_clock::now() + 50ms));  // the call is held
  std::atomic<bool> destroyed{false};
  std::thread teardown([&] {
    sender.reset();
    destroyed = true;
  });
  // The destructor must not return while the call's completion can still run on the sender.
  EXPECT_FALSE(waitUntil([&] { return destroyed.load(); }, 500ms));
  api_server.release();
  teardown.join();
  EXPECT_TRUE(destroyed);
  auto rows = backend.systemQuery("SELECT state FROM outbox");
  ASSERT_TRUE(rows);
  EXPECT_EQ(std::get<std::string>(rows->rows.at(0).at(0)), "sent");
}

}  // namespace
}  // namespace botfn
