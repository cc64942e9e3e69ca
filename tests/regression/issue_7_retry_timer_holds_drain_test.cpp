// Issue 7, item 16: an update waiting out its retry delay still counted as in flight, so stop()
// waited for the whole shutdown grace (and the process left with _exit) although nothing ran. Now
// stop() ends such waits at once; the update stays queued for the next start.
#include <gtest/gtest.h>

#include <thread>

#include "flow/dispatcher.hpp"
#include "sqlite_backend.hpp"

namespace botfn {
namespace {

using namespace std::chrono_literals;

class FailingExecutor final : public effects::Executor {
 public:
  void run(std::shared_ptr<const effects::RunInput>,
           std::function<void(effects::RunOutcome)> done) override {
    done(effects::RunOutcome{false, {}, Error{ErrorCode::LuaRuntime, "boom (test)"}, ""});
  }
  size_t active() const override { return 0; }
};

TEST(RetryTimerDrainTest, UpdateInBackoffDoesNotHoldTheDrain) {
  storage::contract::SqliteBackend backend;
  nlohmann::json u{
      {"update_id", 1},
      {"message", {{"message_id", 1}, {"chat", {{"id", 7}, {"type", "private"}}}, {"text", "x"}}}};
  storage::contract::await<Result<std::vector<storage::PushOutcome>>>([&](auto done) {
    backend.bus().push({storage::InboundUpdate{"b", 1, "c7", "message", u.dump()}}, std::nullopt,
                       done);
  });
  auto profile =
      std::make_shared<effects::BotProfile>(effects::BotProfile{"b", "app", "bot", {}, ""});
  flow::DispatcherOptions o;
  o.workers = 1;
  o.retry_delays = {std::chrono::milliseconds(60s)};
  flow::Dispatcher dispatcher(
      o, backend.bus(), backend.store(), backend.store(),
      [](effects::Post) { return std::make_unique<FailingExecutor>(); },
      [profile](const std::string&) { return profile; }, backend.metrics());
  dispatcher.start();
  const auto end = std::chrono::steady_clock::now() + 20s;
  while (backend.metrics().counterValue("botfn_update_failures_total",
                                        "bot=\"b\",code=\"LuaRuntime\"") < 1 &&
         std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(dispatcher.inFlight(), 1u);  // waiting out its 60 s delay
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(dispatcher.stop(started + 20s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_EQ(dispatcher.inFlight(), 0u);
  // Not dead-lettered, not acked: the entry runs again after the restart.
  EXPECT_TRUE(backend.store().deadLetters(10)->empty());
  EXPECT_FALSE(*backend.store().isProcessed("b", 1));
  EXPECT_EQ(backend.bus().depth(), 1u);
}

}  // namespace
}  // namespace botfn
