// The outbox sender on the real SQLite store with a scripted Bot API: every row is sent exactly
// once and in lane order, 429 waits and keeps the message, "not modified" counts as sent, edits
// get the message_id of their handle. Issue 2 regression: a row finishing between the outbox
// read and the lane check was sent twice.
#include "sender/outbox_sender.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "sqlite_backend.hpp"

namespace botfn::sender {
namespace {

using namespace std::chrono_literals;

// Answers Bot API calls on its own threads after a random short delay.
class ScriptedHttp final : public net::HttpClient {
 public:
  std::function<std::pair<int, std::string>(const nlohmann::json& params,
                                            const std::string& method)>
      answer;
  std::mutex mutex;
  std::vector<std::pair<std::string, nlohmann::json>> calls;

  void send(net::HttpRequest req, net::HttpCallback done) override {
    const std::string method = req.url.substr(req.url.rfind('/') + 1);
    auto params = nlohmann::json::parse(req.body);
    {
      std::lock_guard lock(mutex);
      calls.emplace_back(method, params);
    }
    in_flight_++;
    std::thread([this, method, params, done = std::move(done)] {
      std::this_thread::sleep_for(std::chrono::microseconds(std::random_device{}() % 3000));
      auto [status, body] = answer(params, method);
      net::HttpResponse r;
      r.status = status;
      r.body = body;
      done(r);
      in_flight_--;
    }).detach();
  }
  void abortAll() override {}
  size_t inFlight() const override { return in_flight_; }

 private:
  std::atomic<size_t> in_flight_{0};
};

class OutboxSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = &backend_.store();
    api_ = std::make_unique<telegram::BotApi>(http_, "http://fake", "1:T");
    http_.answer = [this](const nlohmann::json&, const std::string&) {
      return std::make_pair(
          200, R"({"ok":true,"result":{"message_id":)" + std::to_string(++next_id_) + "}}");
    };
  }
  void TearDown() override {
    sender_.reset();
    while (http_.inFlight() > 0) std::this_thread::sleep_for(1ms);
  }
  void commit(int64_t update_id, std::vector<storage::OutboxMessage> outbox) {
    storage::Commit c;
    c.bot = "b";
    c.update_id = update_id;
    c.kind = "message";
    c.outbox = std::move(outbox);
    std::promise<void> done;
    store_->commit(c, [&](Result<void> r) {
      EXPECT_TRUE(r);
      done.set_value();
    });
    done.get_future().wait();
  }
  static storage::OutboxMessage text(int64_t chat, const std::string& t, std::string handle = "") {
    return {"b",
            "c" + std::to_string(chat),
            chat,
            "sendMessage",
            nlohmann::json{{"chat_id", chat}, {"text", t}}.dump(),
            std::move(handle),
            ""};
  }
  void start(size_t read_batch = 2000) {
    SenderOptions o;
    o.poll_interval = 5ms;
    o.read_batch = read_batch;
    sender_ = std::make_unique<OutboxSender>(
        o, *store_, [this](const std::string&) { return api_.get(); }, metrics_);
    sender_->start();
  }
  // Each of `chats` chats got texts "0", "1", ... "rounds-1": each once, in order.
  void expectEachChatGot(size_t chats, int rounds) {
    std::map<int64_t, std::vector<int>> per_chat;
    {
      std::lock_guard lock(http_.mutex);
      for (const auto& [method, p] : http_.calls) {
        per_chat[p["chat_id"].get<int64_t>()].push_back(std::stoi(p["text"].get<std::string>()));
      }
    }
    ASSERT_EQ(per_chat.size(), chats);
    for (const auto& [chat, texts] : per_chat) {
      ASSERT_EQ(texts.size(), static_cast<size_t>(rounds)) << "chat " << chat;
      for (int i = 0; i < rounds; ++i) EXPECT_EQ(texts[i], i) << "chat " << chat;
    }
  }
  bool waitPendingZero() {
    for (int i = 0; i < 1000; ++i) {
      if (store_->pendingOutbox(10)->empty()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  storage::contract::SqliteBackend backend_;
  Metrics& metrics_ = backend_.metrics();
  storage::Store* store_ = nullptr;
  ScriptedHttp http_;
  std::unique_ptr<telegram::BotApi> api_;
  std::unique_ptr<OutboxSender> sender_;
  std::atomic<int64_t> next_id_{100};
};

TEST_F(OutboxSenderTest, Issue2_EveryRowIsSentExactlyOnceInLaneOrder) {
  start();
  for (int round = 0; round < 20; ++round) {
    for (int chat = 1; chat <= 10; ++chat)
      commit(round * 100 + chat, {text(chat, std::to_string(round))});
  }
  ASSERT_TRUE(waitPendingZero());
  expectEachChatGot(10, 20);
}

TEST_F(OutboxSenderTest, RateLimitWaitsAndKeepsTheMessage) {
  std::atomic<int> calls{0};
  http_.answer = [&](const nlohmann::json&, const std::string&) {
    if (calls++ == 0) {
      return std::make_pair(
          429,
          std::string(
              R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}})"));
    }
    return std::make_pair(200, std::string(R"({"ok":true,"result":{"message_id":5}})"));
  };
  commit(1, {text(1, "a"), text(1, "b")});
  const auto started = std::chrono::steady_clock::now();
  start();
  ASSERT_TRUE(waitPendingZero());
  EXPECT_GE(std::chrono::steady_clock::now() - started, 900ms);
  ASSERT_EQ(http_.calls.size(), 3u);
  EXPECT_EQ(http_.calls[0].second["text"], "a");
  EXPECT_EQ(http_.calls[1].second["text"], "a");  // the same message again, before "b"
  EXPECT_EQ(http_.calls[2].second["text"], "b");
}

TEST_F(OutboxSenderTest, EditGetsTheMessageIdOfItsHandleAndNotModifiedIsSuccess) {
  http_.answer = [&](const nlohmann::json&, const std::string& method) {
    if (method == "editMessageText") {
      return std::make_pair(
          400,
          std::string(
              R"({"ok":false,"error_code":400,"description":"Bad Request: message is not modified: specified new message content and reply markup are exactly the same"})"));
    }
    return std::make_pair(200, std::string(R"({"ok":true,"result":{"message_id":777}})"));
  };
  storage::OutboxMessage edit{"b", "c1", 1, "editMessageText", R"({"chat_id":1,"text":"same"})",
                              "",  "hX"};
  commit(1, {text(1, "menu", "hX"), edit});
  start();
  ASSERT_TRUE(waitPendingZero());
  ASSERT_EQ(http_.calls.size(), 2u);
  EXPECT_EQ(http_.calls[1].second["message_id"], 777);
  EXPECT_EQ(metrics_.counterValue("botfn_sends_total",
                                  "bot=\"b\",method=\"editMessageText\",result=\"not_modified\""),
            1u);
}

TEST_F(OutboxSenderTest, ALaneWaitingOutA429DoesNotHoldOtherLanes) {
  std::atomic<bool> limited{false};
  http_.answer = [&](const nlohmann::json& p, const std::string&) {
    if (p["chat_id"] == 1 && !limited.exchange(true)) {
      return std::make_pair(
          429,
          std::string(
              R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 2","parameters":{"retry_after":2}})"));
    }
    return std::make_pair(
        200, R"({"ok":true,"result":{"message_id":)" + std::to_string(++next_id_) + "}}");
  };
  commit(1, {text(1, "first"), text(1, "second")});
  start();
  const auto started = std::chrono::steady_clock::now();
  // 200 more lanes, committed while chat 1 waits: all of them go out during its 2 s.
  for (int chat = 2; chat <= 201; ++chat) commit(chat, {text(chat, "x")});
  for (int i = 0; i < 150; ++i) {
    if (store_->pendingOutbox(1000)->size() == 2) break;  // only chat 1's rows are left
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(store_->pendingOutbox(1000)->size(), 2u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1900ms);
  ASSERT_TRUE(waitPendingZero());
  std::vector<std::string> chat1;
  for (const auto& [method, p] : http_.calls) {
    if (p["chat_id"] == 1) chat1.push_back(p["text"].get<std::string>());
  }
  EXPECT_EQ(chat1,
            (std::vector<std::string>{"first", "first", "second"}));  // retried, then in order
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1900ms);
}

TEST_F(OutboxSenderTest, ABacklogReadInPagesAndRowsCommittedMeanwhileGoOutOnceInOrder) {
  // Rows committed before start are read in pages of 4 while new commits are handed over: the
  // newer rows must wait for the backlog (lane order) and no row may go out twice or be skipped.
  int update = 0;
  for (int round = 0; round < 9; ++round) {
    for (int chat = 1; chat <= 3; ++chat) commit(++update, {text(chat, std::to_string(round))});
  }
  std::thread more([&] {
    for (int round = 9; round < 30; ++round) {
      for (int chat = 1; chat <= 3; ++chat)
        commit(1000 + round * 10 + chat, {text(chat, std::to_string(round))});
    }
  });
  start(4);
  more.join();
  ASSERT_TRUE(waitPendingZero());
  expectEachChatGot(3, 30);
}

TEST_F(OutboxSenderTest, CommittedRowsGoOutWithoutWaitingForARead) {
  // The safety-net read runs once a minute here: a committed row must not wait for it.
  SenderOptions o;
  o.poll_interval = std::chrono::minutes(1);
  sender_ = std::make_unique<OutboxSender>(
      o, *store_, [this](const std::string&) { return api_.get(); }, metrics_);
  sender_->start();
  std::this_thread::sleep_for(50ms);  // past the first read of the (empty) backlog
  const auto started = std::chrono::steady_clock::now();
  commit(1, {text(1, "now")});
  for (int i = 0; i < 200 && !store_->pendingOutbox(10)->empty(); ++i)
    std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(store_->pendingOutbox(10)->empty());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 900ms);
}

}  // namespace
}  // namespace botfn::sender
