// kill -9 at the two dangerous moments, using the test-only pause switches instead of sleeps:
// (1) after the 200 but before the update ran; (2) after the commit but before the send.
// Either way the user gets exactly one reply and the handler runs once.
#include <gtest/gtest.h>

#include <thread>

#include "stack.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

TEST(CrashTest, AcceptedUpdateSurvivesKill9) {
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  o.toml_extra = "[dispatch]\npaused = true\n";
  Stack s(o);
  ASSERT_EQ(s.postUpdate(userMessage(41, 900, "hello").dump()).status, 200);
  s.control("POST", "/control/message",
            {{"token", s.token()},
             {"user_id", 900},
             {"text", "register chat"},
             {"first_name", "U"}});  // makes chat 900 known to the fake
  s.killBotfn();
  EXPECT_EQ(s.sql("SELECT count(*) FROM inbound"), "1");
  s.reconfigure("");
  s.startBotfn();
  ASSERT_TRUE(waitUntil([&] { return s.calls("sendMessage").size() >= 1; }, seconds(15)))
      << s.logs();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // nothing more may arrive
  EXPECT_EQ(s.calls("sendMessage").size(), 1u);
  EXPECT_EQ(s.lastText(900), "echo hello");
  EXPECT_EQ(s.sql("SELECT count(*) FROM inbound"), "0");
}

TEST(CrashTest, CommittedReplyIsSentOnceAfterKill9WithoutRerunningTheHandler) {
  StackOptions o;
  o.app = "testbot";
  o.toml_extra = "[sender]\npaused = true\n";
  Stack s(o);
  s.say(901, "/count");
  ASSERT_TRUE(
      waitUntil([&] { return s.sql("SELECT count(*) FROM processed") == "1"; }, seconds(15)));
  EXPECT_EQ(s.sql("SELECT count(*) FROM outbox WHERE state = 'pending'"), "1");
  s.killBotfn();
  s.reconfigure("");
  s.startBotfn();
  ASSERT_TRUE(waitUntil([&] { return s.lastText(901) == "count 1"; }, seconds(15))) << s.logs();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(s.calls("sendMessage").size(), 1u);
  EXPECT_EQ(s.metric("botfn_lua_runs_total{app=\"testbot\",result=\"ok\"}"), 0);  // not run again
  EXPECT_EQ(s.sql("SELECT data FROM conversations"), "{\"n\":1}");
}

}  // namespace
}  // namespace botfn::e2e
