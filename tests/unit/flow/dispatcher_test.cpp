// The dispatcher with a scripted executor on the real SQLite bus/store: one update in flight per
// lane, lanes in parallel, retries then a dead letter, and acks only after commits.
#include "flow/dispatcher.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "sqlite_backend.hpp"

namespace botfn::flow {
namespace {

using namespace std::chrono_literals;

struct Recorder {
  std::mutex mutex;
  std::vector<std::pair<std::string, int64_t>> started;  // (lane, update_id)
  std::map<std::string, int> running;                    // lane -> in flight
  int max_parallel_same_lane = 0;
  int max_parallel_total = 0;
  int total_running = 0;
};

// Completes each run after a short delay on another thread (like an HTTP call), posting back.
class ScriptedExecutor final : public effects::Executor {
 public:
  ScriptedExecutor(effects::Post post, Recorder& rec) : post_(std::move(post)), rec_(rec) {}
  void run(std::shared_ptr<const effects::RunInput> input,
           std::function<void(effects::RunOutcome)> done) override {
    const std::string lane = input->update.lane;
    {
      std::lock_guard lock(rec_.mutex);
      rec_.started.emplace_back(lane, input->entry.update_id);
      rec_.max_parallel_same_lane = std::max(rec_.max_parallel_same_lane, ++rec_.running[lane]);
      rec_.max_parallel_total = std::max(rec_.max_parallel_total, ++rec_.total_running);
    }
    const bool fail = input->update.text == "fail";
    std::thread([this, lane, fail, done = std::move(done)]() mutable {
      std::this_thread::sleep_for(20ms);
      post_([this, lane, fail, done = std::move(done)] {
        {
          std::lock_guard lock(rec_.mutex);
          --rec_.running[lane];
          --rec_.total_running;
        }
        effects::RunOutcome out;
        out.ok = !fail;
        if (fail) out.error = Error{ErrorCode::LuaRuntime, "scripted failure"};
        out.effects.handled = true;
        done(std::move(out));
      });
    }).detach();
  }
  size_t active() const override { return 0; }

 private:
  effects::Post post_;
  Recorder& rec_;
};

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = &backend_.sqliteStore();
    bus_ = &backend_.sqliteBus();
    profile_ =
        std::make_shared<effects::BotProfile>(effects::BotProfile{"b", "app", "bot", {}, ""});
  }
  void TearDown() override { dispatcher_.reset(); }
  void start(DispatcherOptions options) {
    dispatcher_ = std::make_unique<Dispatcher>(
        options, *bus_, *store_, *store_,
        [this](effects::Post post) {
          return std::make_unique<ScriptedExecutor>(std::move(post), rec_);
        },
        [this](const std::string&) { return profile_; }, metrics_);
    dispatcher_->start();
  }
  void push(int64_t id, int64_t chat, const std::string& text = "x") {
    nlohmann::json u{
        {"update_id", id},
        {"message",
         {{"message_id", id}, {"chat", {{"id", chat}, {"type", "private"}}}, {"text", text}}}};
    std::promise<void> done;
    bus_->push({storage::InboundUpdate{"b", id, "c" + std::to_string(chat), "message", u.dump()}},
               std::nullopt, [&](auto) { done.set_value(); });
    done.get_future().wait();
  }
  bool waitProcessed(size_t n) {
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < end) {
      auto rows = backend_.systemQuery("SELECT count(*) FROM processed");
      if (rows && std::get<int64_t>(rows->rows[0][0]) >= static_cast<int64_t>(n)) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  storage::contract::SqliteBackend backend_;
  Metrics& metrics_ = backend_.metrics();
  storage::sqlite::SqliteStore* store_ = nullptr;
  storage::sqlite::SqliteBus* bus_ = nullptr;
  std::shared_ptr<effects::BotProfile> profile_;
  std::unique_ptr<Dispatcher> dispatcher_;
  Recorder rec_;
};

TEST_F(DispatcherTest, OneInFlightPerLaneAndLanesInParallel) {
  for (int i = 0; i < 5; ++i) {
    for (int chat = 1; chat <= 4; ++chat) push(chat * 100 + i, chat);
  }
  start(DispatcherOptions{2});
  ASSERT_TRUE(waitProcessed(20));
  EXPECT_EQ(rec_.max_parallel_same_lane, 1);
  EXPECT_GT(rec_.max_parallel_total, 1);
  std::map<std::string, int64_t> last;
  for (const auto& [lane, id] : rec_.started) {
    EXPECT_GT(id, last[lane]) << lane;  // arrival order within each lane
    last[lane] = id;
  }
  EXPECT_TRUE([&] {
    for (int i = 0; i < 100 && bus_->depth() != 0; ++i) std::this_thread::sleep_for(10ms);
    return bus_->depth() == 0;
  }());
}

TEST_F(DispatcherTest, FailingUpdateIsRetriedThenDeadLetteredWhileItsLaneWaits) {
  push(1, 7, "fail");
  push(2, 7, "after");
  push(3, 8, "other");
  DispatcherOptions o{2};
  o.retry_delays = {30ms, 30ms, 30ms};
  start(o);
  ASSERT_TRUE(waitProcessed(3));
  auto dl = store_->deadLetters(10);
  ASSERT_EQ(dl->size(), 1u);
  EXPECT_EQ((*dl)[0].attempts, 4);
  std::vector<int64_t> lane7;
  for (const auto& [lane, id] : rec_.started) {
    if (lane == "c7") lane7.push_back(id);
  }
  EXPECT_EQ(lane7, (std::vector<int64_t>{1, 1, 1, 1, 2}));
}

TEST_F(DispatcherTest, RedeliveredProcessedUpdateIsSkipped) {
  push(1, 7);
  storage::Commit c;
  c.bot = "b";
  c.update_id = 1;
  c.kind = "message";
  std::promise<void> committed;
  store_->commit(c, [&](Result<void>) { committed.set_value(); });
  committed.get_future().wait();
  // The crash between commit and ack: after the restart the entry comes back from the queue.
  backend_.reopen();
  store_ = &backend_.sqliteStore();
  bus_ = &backend_.sqliteBus();
  start(DispatcherOptions{1});
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (bus_->depth() != 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(bus_->depth(), 0u);
  EXPECT_TRUE(rec_.started.empty());
}

}  // namespace
}  // namespace botfn::flow
