// Issue 7 items 8 and 9, as a handler sees them: db.query on botfn's tables raised a generic
// error (or worked), a runaway db.query held its worker for good, and a handler could record
// db.exec statements and messages without end (memory outside the Lua VM's cap). Now the run
// fails with the refusal's own code, the update's SQL time is shared by its queries, and each
// recorded effect is counted against lua.effects_* at the call that records it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <random>

#include "flow/worker.hpp"
#include "lua/app_runtime.hpp"
#include "sqlite_backend.hpp"

namespace botfn::lua {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr const char* kApp = R"LUA(
local bot = require("bot")
local app = bot.app({})
local runaway = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
app:command("peek", function(ctx) local rows = db.query("SELECT count(*) AS n FROM outbox") end)
app:command("spin", function(ctx)
  db.query(runaway .. "SELECT count(*) AS n FROM r")
end)
app:command("spin_caught", function(ctx)
  local ok, err = pcall(db.query, runaway .. "SELECT count(*) AS n FROM r")
  local again_ok, again = pcall(db.query, "SELECT 1 AS one")
  ctx:reply(tostring(ok) .. "|" .. err .. "|" .. tostring(again_ok) .. "|" .. again)
end)
app:command("rows", function(ctx, n)
  local rows = db.query("SELECT n FROM nums WHERE n <= $1", tonumber(n))
  ctx:reply("rows " .. #rows)
end)
app:command("writes", function(ctx, n)
  for i = 1, tonumber(n) do db.exec("INSERT INTO nums (n) VALUES ($1)", i) end
end)
app:command("messages", function(ctx, n)
  for i = 1, tonumber(n) do ctx:reply("m") end
end)
app:command("bytes", function(ctx, n)
  db.exec("INSERT INTO nums (n) VALUES ($1)", string.rep("x", tonumber(n)))
end)
app:command("forever", function(ctx)
  while true do db.exec("INSERT INTO nums (n) VALUES (1)") end
end)
return app
)LUA";

class Issue7UnboundedHandlerSql : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("botfn_issue7_handler_sql_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_ / "scripts/apps/t");
    fs::copy(fs::path(BOTFN_SOURCE_DIR) / "scripts-lua/lib", dir_ / "scripts/lib",
             fs::copy_options::recursive);
    std::ofstream(dir_ / "scripts/apps/t/main.lua") << kApp;
    ASSERT_TRUE(backend_.db().writeSync([](sqlite3* c) {
      return storage::sqlite::exec(c,
                                   "CREATE TABLE nums (n);"
                                   "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r "
                                   "WHERE n < 100) INSERT INTO nums SELECT n FROM r;");
    }));
    options_.scripts_dir = dir_ / "scripts";
    options_.cpu_budget = milliseconds(1000);
    options_.limits.sql = storage::AppSqlBudget{milliseconds(300), 10, 1 << 20};
    options_.limits.effects = effects::EffectLimits{5, 3, 4096};
    auto factory =
        makeExecutorFactory(options_, HostServices{&backend_.store(), nullptr, &metrics_});
    worker_ = std::make_unique<flow::Worker>(0, factory, 8 << 20);
    profile_ = std::make_shared<effects::BotProfile>(
        effects::BotProfile{"demo", "t", "demo_bot", nlohmann::json::object(), ""});
  }
  void TearDown() override {
    worker_.reset();
    fs::remove_all(dir_);
  }

  effects::RunOutcome run(const std::string& text) {
    nlohmann::json m{
        {"message_id", 10},
        {"date", 1},
        {"chat", {{"id", 5}, {"type", "private"}}},
        {"from", {{"id", 5}, {"is_bot", false}, {"first_name", "A"}}},
        {"text", text},
        {"entities",
         {{{"type", "bot_command"},
           {"offset", 0},
           {"length", text.find(' ') == std::string::npos ? text.size() : text.find(' ')}}}}};
    nlohmann::json update{{"update_id", ++update_id_}, {"message", m}};
    effects::RunInput in;
    in.bot = profile_;
    in.update_doc = telegram::UpdateDocument::fromJson(update);
    in.update = telegram::parseUpdateValue(update, "demo_bot");
    in.entry.update_id = in.update.update_id;
    in.conversation = {"", "{}"};
    std::promise<effects::RunOutcome> p;
    worker_->post([&] {
      worker_->executor().run(std::make_shared<const effects::RunInput>(in),
                              [&](effects::RunOutcome o) { p.set_value(std::move(o)); });
    });
    auto f = p.get_future();
    if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      ADD_FAILURE() << text << ": the run never ended";
      std::abort();
    }
    return f.get();
  }

  storage::contract::SqliteBackend backend_;
  Metrics& metrics_ = backend_.metrics();
  fs::path dir_;
  AppRuntimeOptions options_;
  std::unique_ptr<flow::Worker> worker_;
  std::shared_ptr<effects::BotProfile> profile_;
  int64_t update_id_ = 0;
};

TEST_F(Issue7UnboundedHandlerSql, ReadingBotfnsTablesFailsTheRunWithSqlRefused) {
  auto out = run("/peek");
  ASSERT_FALSE(out.ok);
  EXPECT_EQ(out.error.code, ErrorCode::SqlRefused) << out.error.describe();
  EXPECT_NE(out.error.detail.find("db.query: table \"outbox\" is reserved for botfn"),
            std::string::npos)
      << out.error.detail;
  EXPECT_NE(out.error.detail.find("main.lua:5"), std::string::npos) << out.error.detail;
}

TEST_F(Issue7UnboundedHandlerSql, RunawayQueryFailsTheUpdateAndTheWorkerGoesOn) {
  const auto started = std::chrono::steady_clock::now();
  auto out = run("/spin");
  ASSERT_FALSE(out.ok);
  EXPECT_EQ(out.error.code, ErrorCode::SqlTimeout) << out.error.describe();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  auto next = run("/rows 3");
  ASSERT_TRUE(next.ok) << next.error.describe();
}

TEST_F(Issue7UnboundedHandlerSql, TheUpdatesQueriesShareOneSqlBudget) {
  auto out = run("/spin_caught");
  ASSERT_TRUE(out.ok) << out.error.describe();
  ASSERT_EQ(out.effects.outbox.size(), 1u);
  const auto text = nlohmann::json::parse(out.effects.outbox[0].params_json)["text"];
  EXPECT_NE(text.get<std::string>().find("false|"), std::string::npos) << text;
  EXPECT_NE(text.get<std::string>().find("used up its SQL time (lua.sql_budget_ms = 300)"),
            std::string::npos)
      << text;
  // The next update has its own budget.
  EXPECT_TRUE(run("/rows 1").ok);
}

TEST_F(Issue7UnboundedHandlerSql, RowCapHoldsAtItsBoundary) {
  EXPECT_TRUE(run("/rows 10").ok);
  auto over = run("/rows 11");
  ASSERT_FALSE(over.ok);
  EXPECT_EQ(over.error.code, ErrorCode::SqlTooLarge) << over.error.describe();
  EXPECT_NE(over.error.detail.find("more than 10 rows (lua.sql_max_rows)"), std::string::npos);
}

TEST_F(Issue7UnboundedHandlerSql, EffectCapsHoldAtTheirBoundary) {
  auto writes = run("/writes 5");
  ASSERT_TRUE(writes.ok) << writes.error.describe();
  EXPECT_EQ(writes.effects.writes.size(), 5u);
  auto too_many = run("/writes 6");
  ASSERT_FALSE(too_many.ok);
  EXPECT_EQ(too_many.error.code, ErrorCode::EffectsTooLarge) << too_many.error.describe();
  EXPECT_NE(too_many.error.detail.find("db.exec: this update already recorded 5 statements "
                                       "(lua.effects_max_writes)"),
            std::string::npos)
      << too_many.error.detail;

  auto messages = run("/messages 3");
  ASSERT_TRUE(messages.ok) << messages.error.describe();
  EXPECT_EQ(messages.effects.outbox.size(), 3u);
  auto too_many_messages = run("/messages 4");
  ASSERT_FALSE(too_many_messages.ok);
  EXPECT_EQ(too_many_messages.error.code, ErrorCode::EffectsTooLarge);
  EXPECT_NE(too_many_messages.error.detail.find("lua.effects_max_messages"), std::string::npos);

  // One statement of 36 bytes of SQL plus its parameter.
  const size_t sql = std::string("INSERT INTO nums (n) VALUES ($1)").size();
  auto fits = run("/bytes " + std::to_string(4096 - sql));
  ASSERT_TRUE(fits.ok) << fits.error.describe();
  auto over = run("/bytes " + std::to_string(4096 - sql + 1));
  ASSERT_FALSE(over.ok);
  EXPECT_EQ(over.error.code, ErrorCode::EffectsTooLarge);
  EXPECT_NE(over.error.detail.find("4096 bytes (lua.effects_max_bytes)"), std::string::npos)
      << over.error.detail;
}

TEST_F(Issue7UnboundedHandlerSql, ALoopOfWritesStopsAtTheCapNotAtTheCpuBudget) {
  auto out = run("/forever");
  ASSERT_FALSE(out.ok);
  EXPECT_EQ(out.error.code, ErrorCode::EffectsTooLarge) << out.error.describe();
}

}  // namespace
}  // namespace botfn::lua
