// The Lua app runtime with the real bot library: routing (commands, /cmd@other, button
// patterns, message kinds, flow states), ctx fields and methods, recorded effects, t(), db, and
// errors with file:line. Golden style: each case runs twice in the same VM and must give the
// same effects both times (no state leaks between updates).
#include "lua/app_runtime.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <random>

#include "flow/worker.hpp"
#include "sqlite_backend.hpp"

namespace botfn::lua {
namespace {

namespace fs = std::filesystem;

constexpr const char* kApp = R"LUA(
local bot = require("bot")
local app = bot.app({ default_lang = "en" })
app:flow(bot.flow("reg", {
  ask = {
    enter = function(ctx) ctx:reply(t("ask")) end,
    text = function(ctx, text)
      ctx.data.name = text
      db.exec("INSERT INTO people (id, name) VALUES ($1, $2)", ctx.user_id, text)
      ctx:leave()
      ctx:reply(t("hello", { name = text }))
    end,
  },
}))
app:command("start", function(ctx, args)
  ctx:reply("start:" .. args)
  return ctx:go("reg.ask")
end)
app:command("count", function(ctx)
  local rows = db.query("SELECT count(*) AS n FROM people")
  ctx:reply("people " .. rows[1].n)
end)
app:command("boom", function(ctx) error("kaboom") end)
local stashed  -- an upvalue: globals are read-only once the app has loaded
app:command("stash", function(ctx) stashed = ctx end)
app:command("use_stash", function(ctx) return stashed.text end)
app:command("empty", function(ctx) ctx:reply("") end)
app:command("longdata", function(ctx)
  ctx:reply("x", { buttons = { { { text = "b", data = string.rep("d", 65) } } } })
end)
app:command("vars", function(ctx) ctx:reply(ctx.bot.vars.greeting .. " " .. ctx.bot.name) end)
app:callback("^pick:(%d+)$", function(ctx, n)
  ctx:answer("picked " .. n)
  ctx:edit(nil, "you picked " .. n, { buttons = { { { text = "again", data = "pick:" .. n } } } })
end)
app:on("photo", function(ctx) ctx:reply("photo!") end)
return app
)LUA";

class AppRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("botfn_app_runtime_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_ / "scripts/apps/t/i18n");
    fs::copy(fs::path(BOTFN_SOURCE_DIR) / "scripts-lua/lib", dir_ / "scripts/lib",
             fs::copy_options::recursive);
    std::ofstream(dir_ / "scripts/apps/t/main.lua") << kApp;
    std::ofstream(dir_ / "scripts/apps/t/i18n/en.lua")
        << "return { ask = 'Your name?', hello = 'Hello, {name}!' }";
    std::ofstream(dir_ / "scripts/apps/t/i18n/ru.lua") << "return { ask = 'Как вас зовут?' }";
    ASSERT_TRUE(backend_.db().writeSync([](sqlite3* c) {
      return storage::sqlite::exec(c, "CREATE TABLE people (id INTEGER, name TEXT)");
    }));
    options_.scripts_dir = dir_ / "scripts";
    options_.cpu_budget = std::chrono::milliseconds(100);
    auto factory =
        makeExecutorFactory(options_, HostServices{&backend_.store(), nullptr, &metrics_});
    worker_ = std::make_unique<flow::Worker>(0, factory, 8 << 20);
    profile_ = std::make_shared<effects::BotProfile>(
        effects::BotProfile{"demo", "t", "demo_bot", nlohmann::json{{"greeting", "hey"}}, "oops"});
  }
  void TearDown() override {
    worker_.reset();
    fs::remove_all(dir_);
  }

  effects::RunOutcome run(const nlohmann::json& update, storage::Conversation conv = {"", "{}"}) {
    effects::RunInput in;
    in.bot = profile_;
    in.update_doc = telegram::UpdateDocument::fromJson(update);
    in.update = telegram::parseUpdateValue(update, "demo_bot");
    in.entry.update_id = in.update.update_id;
    in.conversation = std::move(conv);
    std::promise<effects::RunOutcome> p;
    worker_->post([&] {
      worker_->executor().run(std::make_shared<const effects::RunInput>(in),
                              [&](effects::RunOutcome o) { p.set_value(std::move(o)); });
    });
    return p.get_future().get();
  }
  // Runs twice; both runs must record the same effects.
  effects::RunOutcome golden(const nlohmann::json& update,
                             storage::Conversation conv = {"", "{}"}) {
    auto first = run(update, conv);
    auto second = run(update, conv);
    EXPECT_EQ(first.ok, second.ok);
    EXPECT_EQ(first.effects.outbox.size(), second.effects.outbox.size());
    for (size_t i = 0; i < std::min(first.effects.outbox.size(), second.effects.outbox.size());
         ++i) {
      EXPECT_EQ(first.effects.outbox[i].params_json, second.effects.outbox[i].params_json);
    }
    EXPECT_EQ(first.effects.state, second.effects.state);
    EXPECT_EQ(first.effects.data_json, second.effects.data_json);
    return first;
  }
  static nlohmann::json message(const std::string& text, const std::string& lang = "en") {
    nlohmann::json m{
        {"message_id", 10},
        {"date", 1},
        {"chat", {{"id", 5}, {"type", "private"}}},
        {"from", {{"id", 5}, {"is_bot", false}, {"first_name", "A"}, {"language_code", lang}}},
        {"text", text}};
    if (!text.empty() && text[0] == '/') {
      m["entities"] = {
          {{"type", "bot_command"},
           {"offset", 0},
           {"length", text.find(' ') == std::string::npos ? text.size() : text.find(' ')}}};
    }
    return {{"update_id", 1}, {"message", m}};
  }
  static nlohmann::json params(const storage::OutboxMessage& m) {
    return nlohmann::json::parse(m.params_json);
  }

  storage::contract::SqliteBackend backend_;
  Metrics& metrics_ = backend_.metrics();
  fs::path dir_;
  AppRuntimeOptions options_;
  std::unique_ptr<flow::Worker> worker_;
  std::shared_ptr<effects::BotProfile> profile_;
};

TEST_F(AppRuntimeTest, CommandWithArgsEntersAFlow) {
  auto out = golden(message("/start ref_1"));
  ASSERT_TRUE(out.ok) << out.error.describe();
  EXPECT_TRUE(out.effects.handled);
  ASSERT_EQ(out.effects.outbox.size(), 2u);
  EXPECT_EQ(params(out.effects.outbox[0])["text"], "start:ref_1");
  EXPECT_EQ(params(out.effects.outbox[1])["text"], "Your name?");
  EXPECT_EQ(params(out.effects.outbox[1])["chat_id"], 5);
  EXPECT_FALSE(out.effects.outbox[0].handle.empty());
  EXPECT_EQ(out.effects.state, "reg.ask");
}

TEST_F(AppRuntimeTest, FlowStateTakesTextAndRecordsWrites) {
  auto out = golden(message("Bob"), {"reg.ask", "{}"});
  ASSERT_TRUE(out.ok) << out.error.describe();
  EXPECT_EQ(out.effects.state, "");
  EXPECT_EQ(out.effects.data_json, R"({"name":"Bob"})");
  ASSERT_EQ(out.effects.writes.size(), 1u);
  EXPECT_EQ(out.effects.writes[0].sql, "INSERT INTO people (id, name) VALUES ($1, $2)");
  EXPECT_EQ(params(out.effects.outbox[0])["text"], "Hello, Bob!");
  // Recorded, not applied: no read-your-writes.
  auto count = golden(message("/count"));
  EXPECT_EQ(params(count.effects.outbox[0])["text"], "people 0");
}

TEST_F(AppRuntimeTest, LanguageFallsBackToDefault) {
  auto ru = golden(message("/start", "ru-RU"));
  EXPECT_EQ(params(ru.effects.outbox[1])["text"], "Как вас зовут?");
  auto de = golden(message("/start", "de"));
  EXPECT_EQ(params(de.effects.outbox[1])["text"], "Your name?");
}

TEST_F(AppRuntimeTest, CommandForAnotherBotIsNotHandled) {
  auto out = golden(message("/start@other_bot"));
  ASSERT_TRUE(out.ok);
  EXPECT_FALSE(out.effects.handled);
  EXPECT_TRUE(out.effects.outbox.empty());
}

TEST_F(AppRuntimeTest, ButtonPatternCapturesAnswersAndEdits) {
  nlohmann::json cb{{"update_id", 2},
                    {"callback_query",
                     {{"id", "4382189322133713"},
                      {"chat_instance", "-228"},
                      {"data", "pick:42"},
                      {"from", {{"id", 5}, {"is_bot", false}, {"first_name", "A"}}},
                      {"message",
                       {{"message_id", 77},
                        {"date", 1},
                        {"chat", {{"id", 5}, {"type", "private"}}},
                        {"text", "menu"}}}}}};
  auto out = golden(cb);
  ASSERT_TRUE(out.ok) << out.error.describe();
  EXPECT_TRUE(out.effects.answered_callback);
  ASSERT_EQ(out.effects.outbox.size(), 2u);
  EXPECT_EQ(out.effects.outbox[0].method, "answerCallbackQuery");
  EXPECT_EQ(params(out.effects.outbox[0])["callback_query_id"], "4382189322133713");
  EXPECT_EQ(out.effects.outbox[1].method, "editMessageText");
  EXPECT_EQ(params(out.effects.outbox[1])["message_id"], 77);
  EXPECT_EQ(params(out.effects.outbox[1])["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
            "pick:42");
}

TEST_F(AppRuntimeTest, MessageKindRoute) {
  auto update = message("");
  update["message"].erase("text");
  update["message"]["photo"] = nlohmann::json::array(
      {{{"file_id", "F"}, {"file_unique_id", "U"}, {"width", 1}, {"height", 1}}});
  auto out = golden(update);
  ASSERT_EQ(out.effects.outbox.size(), 1u);
  EXPECT_EQ(params(out.effects.outbox[0])["text"], "photo!");
}

TEST_F(AppRuntimeTest, BotVars) {
  auto out = golden(message("/vars"));
  EXPECT_EQ(params(out.effects.outbox[0])["text"], "hey demo");
}

TEST_F(AppRuntimeTest, ErrorsCarryFileAndLineAndApplyNothing) {
  auto out = golden(message("/boom"));
  ASSERT_FALSE(out.ok);
  EXPECT_EQ(out.error.code, ErrorCode::LuaRuntime);
  EXPECT_NE(out.error.detail.find("apps/t/main.lua:23: kaboom"), std::string::npos)
      << out.error.detail;
  EXPECT_TRUE(out.effects.outbox.empty());
}

TEST_F(AppRuntimeTest, LimitsAreCheckedWhereTheScriptSeesThem) {
  auto empty = run(message("/empty"));
  ASSERT_FALSE(empty.ok);
  EXPECT_NE(empty.error.detail.find("ctx:reply: text is empty"), std::string::npos)
      << empty.error.detail;
  auto data = run(message("/longdata"));
  ASSERT_FALSE(data.ok);
  EXPECT_NE(data.error.detail.find("must be 1-64 bytes (got 65)"), std::string::npos)
      << data.error.detail;
}

TEST_F(AppRuntimeTest, StashedCtxIsDeadAfterItsUpdate) {
  ASSERT_TRUE(run(message("/stash")).ok);
  auto out = run(message("/use_stash"));
  ASSERT_FALSE(out.ok);
  EXPECT_NE(out.error.detail.find("ctx is used after its update finished"), std::string::npos)
      << out.error.detail;
}

}  // namespace
}  // namespace botfn::lua
