// Issue 7 items 8 and 9, end to end: a handler whose `WITH RECURSIVE` never stops held a worker
// (db.query) or the storage writer (db.exec, run in the commit) for good — with the writer, no
// chat's update committed again. A handler could also read or empty the outbox. Now each
// runaway update fails cleanly (dead letter, error_text to its user), refusals name the table,
// and the process and every other chat keep going.
#include <gtest/gtest.h>

#include "stack.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

StackOptions testbot() {
  StackOptions o;
  o.app = "testbot";
  o.toml_extra = "[dispatch]\nretry_delays_ms = [100]\n[lua]\nsql_budget_ms = 300\n";
  return o;
}

TEST(Issue7RunawayAppSqlE2e, RunawayStatementsFailTheirUpdateAndOtherChatsGoOn) {
  Stack s(testbot());
  s.say(701, "/sqlspin");
  s.say(702, "/sqlspinw");
  // Other chats are answered while the runaways run, fail and are retried: the writer is held
  // at most lua.sql_budget_ms per runaway commit.
  for (int round = 0; round < 3; ++round) {
    for (int64_t chat = 703; chat <= 705; ++chat) {
      const std::string text = "hi " + std::to_string(round);
      s.say(chat, text);
      ASSERT_TRUE(waitUntil([&] { return s.lastText(chat) == "echo " + text; }, seconds(15)))
          << "chat " << chat << " round " << round << "\n"
          << s.logs();
    }
  }
  ASSERT_TRUE(
      waitUntil([&] { return s.sql("SELECT count(*) FROM dead_letters") == "2"; }, seconds(30)))
      << s.logs();
  const std::string errors = s.sql("SELECT error FROM dead_letters ORDER BY lane");
  EXPECT_NE(errors.find("SqlTimeout: "), std::string::npos) << errors;
  EXPECT_NE(errors.find("db.query: statement stopped"), std::string::npos) << errors;
  EXPECT_NE(errors.find("db.exec #2: statement stopped"), std::string::npos) << errors;
  ASSERT_TRUE(
      waitUntil([&] { return s.lastText(701) == "Sorry, something went wrong."; }, seconds(10)));
  ASSERT_TRUE(
      waitUntil([&] { return s.lastText(702) == "Sorry, something went wrong."; }, seconds(10)));
  EXPECT_EQ(s.sql("SELECT count(*) FROM sqlite_master WHERE name = 'spin'"), "0")
      << "the runaway commit applied nothing";
  // Both lanes move on, and the process is the same one.
  s.say(701, "after");
  s.say(702, "after");
  ASSERT_TRUE(waitUntil([&] { return s.lastText(701) == "echo after"; }, seconds(10)));
  ASSERT_TRUE(waitUntil([&] { return s.lastText(702) == "echo after"; }, seconds(10)));
  EXPECT_TRUE(s.botfn().running());
}

TEST(Issue7RunawayAppSqlE2e, HandlersCannotReadOrEmptyTheOutbox) {
  Stack s(testbot());
  s.say(711, "/peek");
  s.say(712, "/poke");
  s.say(713, "still here");
  ASSERT_TRUE(waitUntil([&] { return s.lastText(713) == "echo still here"; }, seconds(15)));
  ASSERT_TRUE(
      waitUntil([&] { return s.sql("SELECT count(*) FROM dead_letters") == "2"; }, seconds(30)))
      << s.logs();
  const std::string errors = s.sql("SELECT error FROM dead_letters ORDER BY lane");
  EXPECT_NE(errors.find("SqlRefused: apps/testbot/main.lua:"), std::string::npos) << errors;
  EXPECT_NE(errors.find(": db.query: table \"outbox\" is reserved for botfn"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("SqlRefused: db.exec #1: table \"outbox\" is reserved for botfn"),
            std::string::npos)
      << errors;
  // The replies already in the outbox were not deleted.
  EXPECT_EQ(s.sql("SELECT count(*) FROM outbox WHERE params LIKE '%echo still here%'"), "1");
  EXPECT_TRUE(s.botfn().running());
}

}  // namespace
}  // namespace botfn::e2e
