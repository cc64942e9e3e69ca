// Issue 7 item 11, end to end with one worker (one VM): a global and a module field that one
// chat's handler set were read by the next chat's handler. Both writes are now refused, so the
// other chat reads nil.
#include <gtest/gtest.h>

#include "stack.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

TEST(Issue7GlobalsLeakBetweenChats, OtherChatOnTheSameVmReadsNil) {
  StackOptions o;
  o.app = "testbot";
  o.toml_extra = "[lua]\nworkers = 1\n[dispatch]\nretry_delays_ms = [100]\n";
  Stack s(o);
  s.say(901, "/remember card-4242");
  // The write either fails the update as a sandbox violation (now; dead-lettered at once) or is
  // answered (before the fix).
  ASSERT_TRUE(waitUntil(
      [&] {
        return s.lastText(901) == "remembered" ||
               s.metric("botfn_lua_errors_total{app=\"testbot\",code=\"LuaSandbox\"}") >= 1;
      },
      seconds(20)))
      << s.logs();
  s.say(902, "/recall");
  ASSERT_TRUE(waitUntil([&] { return !s.lastText(902).empty(); }, seconds(20))) << s.logs();
  EXPECT_EQ(s.lastText(902), "recall nil nil");
  ASSERT_TRUE(
      waitUntil([&] { return s.sql("SELECT count(*) FROM dead_letters") == "1"; }, seconds(20)));
  EXPECT_NE(s.sql("SELECT error FROM dead_letters").find("attempt to set global 'last_secret'"),
            std::string::npos)
      << s.sql("SELECT error FROM dead_letters");
}

}  // namespace
}  // namespace botfn::e2e
