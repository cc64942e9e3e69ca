// Script failures: a runtime error commits nothing, is retried while its lane waits, then is
// dead-lettered with file:line (the user gets error_text; other chats are unaffected); a runaway
// loop is killed; a syntax error stops start-up naming file:line; refused HTTP returns nil, err.
#include <gtest/gtest.h>

#include "stack.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

StackOptions testbot() {
  StackOptions o;
  o.app = "testbot";
  o.toml_extra = "[dispatch]\nretry_delays_ms = [100, 200, 300]\n";
  return o;
}

TEST(FailureTest, RuntimeErrorIsRetriedThenDeadLettered) {
  Stack s(testbot());
  s.say(501, "/boom");
  s.say(502, "other chat");
  ASSERT_TRUE(waitUntil([&] { return s.lastText(502) == "echo other chat"; }, seconds(10)));
  ASSERT_TRUE(
      waitUntil([&] { return s.sql("SELECT count(*) FROM dead_letters") == "1"; }, seconds(20)))
      << s.logs();
  EXPECT_NE(s.sql("SELECT traceback FROM dead_letters").find("apps/testbot/main.lua:7"),
            std::string::npos)
      << s.sql("SELECT error, traceback FROM dead_letters");
  EXPECT_EQ(s.sql("SELECT attempts FROM dead_letters"), "4");
  ASSERT_TRUE(
      waitUntil([&] { return s.lastText(501) == "Sorry, something went wrong."; }, seconds(10)));
  EXPECT_EQ(s.metric("botfn_lua_errors_total{app=\"testbot\",code=\"LuaRuntime\"}"), 4);
  // The lane moves on after the dead letter.
  s.say(501, "after");
  ASSERT_TRUE(waitUntil([&] { return s.lastText(501) == "echo after"; }, seconds(10)));
  // `botfn dlq list` shows it.
  Process dlq({BOTFN_BIN, "dlq", "list", "--config", (s.dir() / "botfn.toml").string()},
              {{"E2E_BOT_TOKEN", s.token()}, {"E2E_BOT_SECRET", "e2e_Secret-123"}},
              s.dir() / "logs", "dlq");
  ASSERT_EQ(dlq.wait(seconds(20)), 0) << dlq.stderrText();
  EXPECT_NE(dlq.stdoutText().find("attempt to index"), std::string::npos) << dlq.stdoutText();
}

TEST(FailureTest, RunawayLoopIsKilledAndOthersAreServed) {
  StackOptions o = testbot();
  o.toml_extra += "[lua]\ncpu_budget_ms = 50\n";
  Stack s(o);
  s.say(601, "/spin");
  s.say(602, "fine");
  ASSERT_TRUE(waitUntil([&] { return s.lastText(602) == "echo fine"; }, seconds(10)));
  ASSERT_TRUE(s.waitMetric("botfn_lua_kills_total{app=\"testbot\"}", 1));
  ASSERT_TRUE(
      waitUntil([&] { return s.sql("SELECT count(*) FROM dead_letters") == "1"; }, seconds(20)));
  EXPECT_TRUE(s.botfn().running());
}

TEST(FailureTest, SyntaxErrorStopsStartupNamingFileAndLine) {
  StackOptions o;
  o.app = "broken";
  EXPECT_THROW(Stack s(o), std::runtime_error);
  // Run it directly to read the message.
  Stack ok(testbot());
  Process p({BOTFN_BIN, "check", "--config", (ok.dir() / "botfn.toml").string(), "--app", "broken"},
            {{"E2E_BOT_TOKEN", ok.token()}, {"E2E_BOT_SECRET", "e2e_Secret-123"}},
            ok.dir() / "logs", "check");
  EXPECT_EQ(p.wait(seconds(20)), 1);
  EXPECT_NE(p.stderrText().find("apps/broken/main.lua:5:"), std::string::npos) << p.stderrText();
}

TEST(FailureTest, RefusedHttpReturnsNilAndError) {
  Stack s(testbot());
  s.say(701, "/refused");
  ASSERT_TRUE(waitUntil([&] { return !s.lastText(701).empty(); }, seconds(10)));
  EXPECT_NE(
      s.lastText(701).find("nil | http.request: host 'example.com' is not in the app's http_hosts"),
      std::string::npos)
      << s.lastText(701);
}

TEST(FailureTest, ConversationDataPersistsAcrossUpdates) {
  Stack s(testbot());
  s.say(801, "/count");
  ASSERT_TRUE(waitUntil([&] { return s.lastText(801) == "count 1"; }, seconds(10)));
  s.say(801, "/count");
  ASSERT_TRUE(waitUntil([&] { return s.lastText(801) == "count 2"; }, seconds(10)));
  s.say(801, "/vars");
  ASSERT_TRUE(waitUntil([&] { return s.lastText(801) == "support @e2e_support"; }, seconds(10)));
}

}  // namespace
}  // namespace botfn::e2e
