// Test doubles for the outbox sender: ScriptedHttp answers Bot API calls from a script on its own
// threads (or fails them like the HTTP client would), FaultyStore wraps a real Store and fails
// result writes or loses hand-overs on request. Used by the sender's unit and regression tests.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "net/http_client.hpp"
#include "sender/outbox_sender.hpp"
#include "sqlite_backend.hpp"
#include "storage/store.hpp"

namespace botfn::sender::testing {

struct ScriptedCall {
  std::string method;
  nlohmann::json params;
  std::chrono::steady_clock::time_point at;
};

class ScriptedHttp final : public net::HttpClient {
 public:
  // The answer to a call: an HTTP response, or an error as the client reports it.
  std::function<Result<net::HttpResponse>(const nlohmann::json& params, const std::string& method)>
      answer = [](const nlohmann::json&, const std::string&) -> Result<net::HttpResponse> {
    return net::HttpResponse{200, R"({"ok":true,"result":{"message_id":1}})", {}};
  };

  // Calls it returns true for get no answer until answerHeld() (a completion that never comes).
  std::function<bool(const nlohmann::json& params)> hold = [](const nlohmann::json&) {
    return false;
  };

  static Result<net::HttpResponse> http(int status, std::string body) {
    return net::HttpResponse{status, std::move(body), {}};
  }

  void send(net::HttpRequest req, net::HttpCallback done) override {
    const std::string method = req.url.substr(req.url.rfind('/') + 1);
    auto params = nlohmann::json::parse(req.body);
    {
      std::lock_guard lock(mutex_);
      calls_.push_back({method, params, std::chrono::steady_clock::now()});
    }
    in_flight_++;
    if (hold(params)) {
      std::lock_guard lock(mutex_);
      held_.emplace_back(params, std::move(done));
      return;
    }
    std::thread([this, method, params, done = std::move(done)] {
      std::this_thread::sleep_for(std::chrono::microseconds(std::random_device{}() % 2000));
      done(answer(params, method));
      in_flight_--;
    }).detach();
  }
  void abortAll() override {}
  size_t inFlight() const override { return in_flight_; }

  // Answers the held calls now, on this thread.
  void answerHeld() {
    std::vector<std::pair<nlohmann::json, net::HttpCallback>> held;
    {
      std::lock_guard lock(mutex_);
      held.swap(held_);
    }
    for (auto& [params, done] : held) {
      done(answer(params, "sendMessage"));
      in_flight_--;
    }
  }

  std::vector<ScriptedCall> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  // Texts of the sendMessage calls, in call order.
  std::vector<std::string> texts() {
    std::vector<std::string> out;
    for (const auto& c : calls()) out.push_back(c.params.value("text", ""));
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<ScriptedCall> calls_;
  std::vector<std::pair<nlohmann::json, net::HttpCallback>> held_;
  std::atomic<size_t> in_flight_{0};
};

// Forwards to a real store, with two faults to inject: result writes that fail (as on a full disk
// or SQLITE_BUSY past the timeout; nothing is written) and hand-overs that never arrive.
class FaultyStore final : public storage::Store {
 public:
  explicit FaultyStore(storage::Store& inner) : inner_(inner) {}

  std::atomic<int> fail_result_writes{0};  // the next N finishOutbox calls fail
  std::atomic<int> lose_handovers{0};      // the next N hand-overs are dropped

  using storage::Store::query;
  Result<storage::Rows> query(const storage::SqlStatement& s,
                              const storage::AppSqlLimits& limits) override {
    return inner_.query(s, limits);
  }
  Result<bool> isProcessed(const std::string& bot, int64_t update_id) override {
    return inner_.isProcessed(bot, update_id);
  }
  Result<storage::Conversation> loadConversation(const storage::ConversationKey& key) override {
    return inner_.loadConversation(key);
  }
  void commit(storage::Commit c, std::function<void(Result<void>)> done) override {
    inner_.commit(std::move(c), std::move(done));
  }
  Result<int> migrateApp(const std::string& app, const std::filesystem::path& dir) override {
    return inner_.migrateApp(app, dir);
  }
  Result<std::vector<storage::OutboxRow>> pendingOutbox(size_t limit, int64_t after_id) override {
    return inner_.pendingOutbox(limit, after_id);
  }
  Result<std::vector<int64_t>> pendingOutboxIds(size_t limit, int64_t after_id,
                                                int64_t up_to_id) override {
    return inner_.pendingOutboxIds(limit, after_id, up_to_id);
  }
  void finishOutbox(int64_t id, storage::OutboxResult result,
                    std::function<void(Result<void>)> done) override {
    if (fail_result_writes.fetch_sub(1) > 0) {
      result_write_failures_++;
      return done(fail(ErrorCode::StorageFull, "injected: database or disk is full"));
    }
    fail_result_writes.store(0);
    inner_.finishOutbox(id, std::move(result), std::move(done));
  }
  Result<std::optional<int64_t>> messageIdOfHandle(const std::string& handle) override {
    return inner_.messageIdOfHandle(handle);
  }
  void onOutboxCommitted(std::function<void(std::vector<storage::OutboxRow>)> listener) override {
    if (!listener) return inner_.onOutboxCommitted(nullptr);
    inner_.onOutboxCommitted([this, listener = std::move(listener)](auto rows) {
      if (lose_handovers.fetch_sub(1) > 0) return;
      lose_handovers.store(0);
      listener(std::move(rows));
    });
  }
  Result<std::vector<storage::DeadLetter>> deadLetters(size_t limit) override {
    return inner_.deadLetters(limit);
  }
  Result<void> checkWritable() override { return inner_.checkWritable(); }

  int resultWriteFailures() const { return result_write_failures_; }

 private:
  storage::Store& inner_;
  std::atomic<int> result_write_failures_{0};
};

// A sender over FaultyStore(real SQLite store) and ScriptedHttp, with helpers to commit rows and
// wait for the outbox to drain.
class SenderHarness {
 public:
  SenderHarness() : faulty(backend.store()), api(http, "http://fake", "1:T") {}
  ~SenderHarness() {
    if (sender) sender->stop(std::chrono::steady_clock::now() + std::chrono::seconds(10));
    sender.reset();
    while (http.inFlight() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  void start(SenderOptions options) {
    sender = std::make_unique<OutboxSender>(
        options, faulty, [this](const std::string&) { return &api; }, backend.metrics());
    sender->start();
  }
  void commit(int64_t update_id, std::vector<storage::OutboxMessage> outbox) {
    storage::Commit c;
    c.bot = "b";
    c.update_id = update_id;
    c.kind = "message";
    c.outbox = std::move(outbox);
    std::promise<Result<void>> done;
    backend.store().commit(c, [&](Result<void> r) { done.set_value(r); });
    if (!done.get_future().get()) throw std::runtime_error("commit failed");
  }
  static storage::OutboxMessage text(int64_t chat, const std::string& t) {
    return {.bot = "b",
            .lane = "c" + std::to_string(chat),
            .chat_id = chat,
            .method = "sendMessage",
            .params_json = nlohmann::json{{"chat_id", chat}, {"text", t}}.dump(),
            .handle = "",
            .target_handle = ""};
  }
  bool waitPendingZero(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      auto rows = backend.store().pendingOutbox(10);
      if (rows && rows->empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // "state attempts result_message_id" of every outbox row, in id order (read directly: app SQL
  // may not read botfn's tables).
  std::vector<std::string> outboxRows() {
    return backend.db().read([](sqlite3* db) {
      std::vector<std::string> out;
      sqlite3_stmt* stmt = nullptr;
      sqlite3_prepare_v2(db,
                         "SELECT state || ' ' || attempts || ' ' || "
                         "COALESCE(result_message_id, '-') FROM outbox ORDER BY id",
                         -1, &stmt, nullptr);
      while (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
        out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
      }
      sqlite3_finalize(stmt);
      return out;
    });
  }

  storage::contract::SqliteBackend backend;
  FaultyStore faulty;
  ScriptedHttp http;
  telegram::BotApi api;
  std::unique_ptr<OutboxSender> sender;
};

}  // namespace botfn::sender::testing
