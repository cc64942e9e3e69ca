// Issue 7 item 10: two chats whose handlers ran a pathological pattern held both Lua workers for
// minutes inside one string.find call, and no other chat was answered. Now each bomb stops at the
// CPU budget, and a third chat keeps its normal latency meanwhile.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "stack.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

TEST(Issue7PatternBombHoldsWorkers, ANormalChatIsAnsweredWhileTwoChatsRunPatternBombs) {
  StackOptions o;
  o.app = "testbot";
  o.toml_extra = "[lua]\nworkers = 2\n";
  Stack s(o);
  constexpr int64_t kHostileA = 7001, kHostileB = 7002, kNormal = 7100;
  s.say(kNormal, "warm");
  ASSERT_TRUE(waitUntil([&] { return s.lastText(kNormal) == "echo warm"; }, seconds(15)))
      << s.logs();

  for (int i = 0; i < 3; ++i) {
    s.say(kHostileA, "/patbomb");
    s.say(kHostileB, "/patbomb");
  }
  // With LuaJIT's matcher each bomb held its worker for more than 10 minutes. Generous bound:
  // a bomb now stops at the 200 ms budget, so a reply waits at most about that long for a worker.
  for (int i = 0; i < 5; ++i) {
    const std::string text = "ping " + std::to_string(i);
    const auto sent = std::chrono::steady_clock::now();
    s.say(kNormal, text);
    ASSERT_TRUE(waitUntil([&] { return s.lastText(kNormal) == "echo " + text; }, seconds(15)))
        << text << s.logs();
    EXPECT_LT(std::chrono::steady_clock::now() - sent, seconds(3)) << text;
  }
  // The bombs really ran, and were stopped by the budget rather than finishing.
  EXPECT_TRUE(s.waitMetric("botfn_lua_kills_total{app=\"testbot\"}", 2, seconds(30))) << s.logs();
  for (const int64_t chat : {kHostileA, kHostileB}) {
    for (const auto& m : s.messages(chat)) {
      EXPECT_EQ(m["text"].get<std::string>().rfind("patbomb", 0), std::string::npos) << m.dump();
    }
  }
}

}  // namespace
}  // namespace botfn::e2e
