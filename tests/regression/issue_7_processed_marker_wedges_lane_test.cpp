// Issue 7, item 7: a redelivered update whose processed marker existed (or whose marker read
// failed) ran again and its commit broke the marker's unique key — retried, then its dead letter
// broke it too, forever: the lane was wedged. And a worker task that threw (a reader connection
// that could not open, a VM that could not be built) left its lane `running` for good. Now the
// marker insert applies nothing on a repeat (AlreadyProcessed: acked), and a throw fails the
// update through the normal retry path.
#include <gtest/gtest.h>

#include <thread>

#include "flow/dispatcher.hpp"
#include "sqlite_backend.hpp"

namespace botfn {
namespace {

using namespace std::chrono_literals;

// The real store, with faults on demand.
class FaultyStore final : public storage::Store {
 public:
  explicit FaultyStore(storage::Store& inner) : inner_(inner) {}
  std::atomic<bool> fail_marker_reads{false};
  std::atomic<bool> throw_on_conversation{false};

  using storage::Store::query;
  Result<storage::Rows> query(const storage::SqlStatement& s,
                              const storage::AppSqlLimits& limits) override {
    return inner_.query(s, limits);
  }
  Result<bool> isProcessed(const std::string& bot, int64_t update_id) override {
    if (fail_marker_reads) return fail(ErrorCode::StorageRead, "marker read failed (test)");
    return inner_.isProcessed(bot, update_id);
  }
  Result<storage::Conversation> loadConversation(const storage::ConversationKey& key) override {
    if (throw_on_conversation) throw std::runtime_error("cannot open database (test)");
    return inner_.loadConversation(key);
  }
  void commit(storage::Commit c, std::function<void(Result<void>)> done) override {
    inner_.commit(std::move(c), std::move(done));
  }
  Result<int> migrateApp(const std::string& app, const std::filesystem::path& dir) override {
    return inner_.migrateApp(app, dir);
  }
  Result<std::vector<storage::OutboxRow>> pendingOutbox(size_t limit, int64_t after) override {
    return inner_.pendingOutbox(limit, after);
  }
  void finishOutbox(int64_t id, storage::OutboxResult r,
                    std::function<void(Result<void>)> done) override {
    inner_.finishOutbox(id, std::move(r), std::move(done));
  }
  Result<std::vector<int64_t>> pendingOutboxIds(size_t limit, int64_t after_id,
                                                int64_t up_to_id) override {
    return inner_.pendingOutboxIds(limit, after_id, up_to_id);
  }
  Result<std::optional<int64_t>> messageIdOfHandle(const std::string& h) override {
    return inner_.messageIdOfHandle(h);
  }
  void onOutboxCommitted(std::function<void(std::vector<storage::OutboxRow>)> l) override {
    inner_.onOutboxCommitted(std::move(l));
  }
  Result<std::vector<storage::DeadLetter>> deadLetters(size_t limit) override {
    return inner_.deadLetters(limit);
  }
  Result<void> checkWritable() override { return inner_.checkWritable(); }

 private:
  storage::Store& inner_;
};

// Replies "done <id>"; throws (like a VM that cannot be built) on the text "throw".
class ReplyingExecutor final : public effects::Executor {
 public:
  explicit ReplyingExecutor(std::atomic<int>& runs) : runs_(runs) {}
  void run(std::shared_ptr<const effects::RunInput> input,
           std::function<void(effects::RunOutcome)> done) override {
    ++runs_;
    if (input->update.text == "throw") throw std::runtime_error("Lua VM: cannot build (test)");
    effects::RunOutcome out;
    out.ok = true;
    out.effects.handled = true;
    out.effects.outbox.push_back(storage::OutboxMessage{
        "b", input->update.lane, 7, "sendMessage",
        nlohmann::json{{"chat_id", 7}, {"text", "done " + std::to_string(input->entry.update_id)}}
            .dump(),
        "", ""});
    done(std::move(out));
  }
  size_t active() const override { return 0; }

 private:
  std::atomic<int>& runs_;
};

class MarkerTest : public ::testing::Test {
 protected:
  void TearDown() override { dispatcher_.reset(); }

  void start(storage::Store& store, bool factory_throws = false) {
    flow::DispatcherOptions o;
    o.workers = 1;
    o.retry_delays = {10ms, 10ms, 10ms};
    dispatcher_ = std::make_unique<flow::Dispatcher>(
        o, backend_.bus(), store, store,
        [this, factory_throws](effects::Post) -> std::unique_ptr<effects::Executor> {
          if (factory_throws) throw std::runtime_error("Lua VM: out of memory (test)");
          return std::make_unique<ReplyingExecutor>(runs_);
        },
        [this](const std::string&) { return profile_; }, backend_.metrics());
    dispatcher_->start();
  }
  void push(int64_t id, const std::string& text = "x") {
    nlohmann::json u{
        {"update_id", id},
        {"message",
         {{"message_id", id}, {"chat", {{"id", 7}, {"type", "private"}}}, {"text", text}}}};
    storage::contract::await<Result<std::vector<storage::PushOutcome>>>([&](auto done) {
      backend_.bus().push({storage::InboundUpdate{"b", id, "c7", "message", u.dump()}},
                          std::nullopt, done);
    });
  }
  void commitMarker(int64_t id) {
    storage::Commit c;
    c.bot = "b";
    c.update_id = id;
    c.kind = "message";
    ASSERT_TRUE(storage::contract::await<Result<void>>(
        [&](auto done) { backend_.store().commit(c, done); }));
  }
  int64_t count(const std::string& sql) {
    auto rows = backend_.systemQuery(sql);
    return rows ? std::get<int64_t>(rows->rows[0][0]) : -1;
  }
  bool waitFor(const std::function<bool()>& done) {
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < end) {
      if (done()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return done();
  }
  bool queueEmpty() { return backend_.bus().depth() == 0; }

  storage::contract::SqliteBackend backend_;
  std::shared_ptr<effects::BotProfile> profile_ =
      std::make_shared<effects::BotProfile>(effects::BotProfile{"b", "app", "bot", {}, ""});
  std::unique_ptr<flow::Dispatcher> dispatcher_;
  std::atomic<int> runs_{0};
};

TEST_F(MarkerTest, UpdateWhoseMarkerExistsIsAckedAndItsLaneMovesOn) {
  push(1);
  push(2);
  commitMarker(1);  // committed, not acked, and not flagged as a redelivery
  start(backend_.store());
  ASSERT_TRUE(waitFor([&] { return count("SELECT count(*) FROM processed") == 2; }));
  ASSERT_TRUE(waitFor([&] { return queueEmpty(); }));
  EXPECT_EQ(count("SELECT count(*) FROM dead_letters"), 0);
  // Update 1 applied nothing the second time: only update 2's reply is in the outbox.
  EXPECT_EQ(count("SELECT count(*) FROM outbox"), 1);
  EXPECT_EQ(
      backend_.metrics().counterValue("botfn_updates_total", "bot=\"b\",outcome=\"redelivered\""),
      1u);
}

TEST_F(MarkerTest, RedeliveryWhoseMarkerReadFailsDoesNotWedgeItsLane) {
  push(1);
  push(2);
  commitMarker(1);
  backend_.reopen();  // the crash between commit and ack: entries come back as redeliveries
  FaultyStore store(backend_.store());
  store.fail_marker_reads = true;
  start(store);
  ASSERT_TRUE(waitFor([&] { return count("SELECT count(*) FROM processed") == 2; }));
  ASSERT_TRUE(waitFor([&] { return queueEmpty(); }));
  EXPECT_EQ(count("SELECT count(*) FROM dead_letters"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM outbox"), 1);
}

TEST_F(MarkerTest, ThrowingRunFailsItsUpdateThroughTheRetryPath) {
  push(1, "throw");
  push(2);
  start(backend_.store());
  ASSERT_TRUE(waitFor([&] { return count("SELECT count(*) FROM processed") == 2; }));
  auto dl = backend_.store().deadLetters(10);
  ASSERT_EQ(dl->size(), 1u);
  EXPECT_EQ((*dl)[0].update_id, 1);
  EXPECT_EQ((*dl)[0].attempts, 4);  // Internal is transient: 1 + 3 retries
  EXPECT_NE((*dl)[0].error.find("cannot build"), std::string::npos) << (*dl)[0].error;
  EXPECT_TRUE(dispatcher_->stop(std::chrono::steady_clock::now() + 5s));
}

TEST_F(MarkerTest, ThrowingStorageReadFailsItsUpdateThroughTheRetryPath) {
  push(1);
  FaultyStore store(backend_.store());
  store.throw_on_conversation = true;
  start(store);
  ASSERT_TRUE(waitFor([&] { return count("SELECT count(*) FROM dead_letters") == 1; }));
  store.throw_on_conversation = false;
  push(2);
  ASSERT_TRUE(waitFor([&] { return count("SELECT count(*) FROM processed") == 2; }));
  EXPECT_TRUE(dispatcher_->stop(std::chrono::steady_clock::now() + 5s));
}

TEST_F(MarkerTest, ExecutorThatCannotBeBuiltFailsUpdatesInsteadOfHangingTheLane) {
  push(1);
  push(2);
  start(backend_.store(), /*factory_throws=*/true);
  ASSERT_TRUE(waitFor([&] { return count("SELECT count(*) FROM dead_letters") == 2; }));
  EXPECT_EQ(runs_.load(), 0);
  EXPECT_TRUE(dispatcher_->stop(std::chrono::steady_clock::now() + 5s));
}

}  // namespace
}  // namespace botfn
