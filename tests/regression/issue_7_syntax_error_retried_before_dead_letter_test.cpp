// Issue 7, item 6: retries followed no table — a script that does not compile ran 4 times (1 +
// dispatch.retry_delays_ms) before its dead letter, and so did a handler killed for its CPU
// budget. Now errors.def's retry class decides: the syntax error is dead-lettered after 1 run, the
// CPU budget kill after 2. Real Lua executor, real dispatcher and SQLite store.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "flow/dispatcher.hpp"
#include "lua/app_runtime.hpp"
#include "sqlite_backend.hpp"

namespace botfn {
namespace {

using namespace std::chrono_literals;

class RetryClassTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scripts_ = backend_.dir() / "scripts";
    std::filesystem::create_directories(scripts_ / "lib");
    std::filesystem::copy(std::filesystem::path(BOTFN_SOURCE_DIR) / "scripts-lua" / "lib",
                          scripts_ / "lib", std::filesystem::copy_options::recursive);
    write("broken", "local bot = require('bot')\nlocal app = bot.app(\nreturn app\n");
    write("spin",
          "local bot = require('bot')\nlocal app = bot.app()\n"
          "app:on('text', function(ctx) while true do end end)\nreturn app\n");
  }
  void TearDown() override { dispatcher_.reset(); }

  void write(const std::string& app, const std::string& main) {
    std::filesystem::create_directories(scripts_ / "apps" / app);
    std::ofstream(scripts_ / "apps" / app / "main.lua") << main;
  }

  void start(const std::string& app) {
    lua::AppRuntimeOptions lo;
    lo.scripts_dir = scripts_;
    lo.cpu_budget = 20ms;
    auto factory = lua::makeExecutorFactory(
        lo, lua::HostServices{&backend_.store(), nullptr, &backend_.metrics()});
    profile_ = std::make_shared<effects::BotProfile>(effects::BotProfile{"b", app, "bot", {}, ""});
    flow::DispatcherOptions o;
    o.workers = 1;
    o.retry_delays = {20ms, 20ms, 20ms};
    dispatcher_ = std::make_unique<flow::Dispatcher>(
        o, backend_.bus(), backend_.store(), backend_.store(), factory,
        [this](const std::string&) { return profile_; }, backend_.metrics());
    dispatcher_->start();
  }

  void push(int64_t id) {
    nlohmann::json u{
        {"update_id", id},
        {"message",
         {{"message_id", id}, {"chat", {{"id", 7}, {"type", "private"}}}, {"text", "x"}}}};
    storage::contract::await<Result<std::vector<storage::PushOutcome>>>([&](auto done) {
      backend_.bus().push({storage::InboundUpdate{"b", id, "c7", "message", u.dump()}},
                          std::nullopt, done);
    });
  }

  std::optional<storage::DeadLetter> waitDeadLetter() {
    const auto end = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < end) {
      auto dl = backend_.store().deadLetters(10);
      if (dl && !dl->empty()) return dl->front();
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

  storage::contract::SqliteBackend backend_;
  std::filesystem::path scripts_;
  std::shared_ptr<effects::BotProfile> profile_;
  std::unique_ptr<flow::Dispatcher> dispatcher_;
};

TEST_F(RetryClassTest, SyntaxErrorIsDeadLetteredAfterOneRun) {
  push(1);
  start("broken");
  auto dl = waitDeadLetter();
  ASSERT_TRUE(dl);
  EXPECT_EQ(dl->attempts, 1) << dl->error;
  EXPECT_NE(dl->error.find("LuaSyntax"), std::string::npos) << dl->error;
  EXPECT_EQ(backend_.metrics().counterValue("botfn_update_failures_total",
                                            "bot=\"b\",code=\"LuaSyntax\""),
            1u);
}

TEST_F(RetryClassTest, CpuBudgetKillRunsOnceMore) {
  push(1);
  start("spin");
  auto dl = waitDeadLetter();
  ASSERT_TRUE(dl);
  EXPECT_EQ(dl->attempts, 2) << dl->error;
  EXPECT_NE(dl->error.find("LuaKilled"), std::string::npos) << dl->error;
}

}  // namespace
}  // namespace botfn
