// Issue 7, item 14: the fake Bot API kept every message of every chat for its whole life, so a
// long load run grew it without bound. Messages per chat and the call log are capped; the oldest
// is evicted, and an evicted message answers like Telegram for a missing one.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace botfn::fake_telegram::testing {
namespace {

TEST(FakeBoundsTest, OldestMessagesAndCallsAreEvicted) {
  FakeTelegram fake({"--max-messages-per-chat", "3", "--max-calls", "4"});
  ASSERT_TRUE(fake.started());
  ASSERT_EQ(fake.userSays(42, "hello")["ok"], true);  // message 1 (from the user)
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = fake.api("sendMessage", {{"chat_id", 42}, {"text", "m" + std::to_string(i)}});
    ASSERT_EQ(r.status, 200) << r.body;
    ids.push_back(r.json()["result"]["message_id"].get<int64_t>());
  }
  auto messages = fake.controlGet("chats/42/messages?token=" + urlEncode(kToken));
  ASSERT_EQ(messages.status, 200) << messages.body;
  const auto list = messages.json()["messages"];
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["message_id"], ids[2]);  // the newest three
  EXPECT_EQ(list[2]["message_id"], ids[4]);

  auto edit = fake.api("editMessageText", {{"chat_id", 42}, {"message_id", ids[0]}, {"text", "x"}});
  EXPECT_EQ(edit.status, 400);
  EXPECT_EQ(edit.json()["description"], "Bad Request: message to edit not found");
  auto kept = fake.api("editMessageText", {{"chat_id", 42}, {"message_id", ids[4]}, {"text", "x"}});
  EXPECT_EQ(kept.status, 200) << kept.body;

  auto calls = fake.controlGet("calls?token=" + urlEncode(kToken));
  ASSERT_EQ(calls.status, 200) << calls.body;
  EXPECT_EQ(calls.json()["calls"].size(), 4u);
  EXPECT_EQ(calls.json()["last_seq"], 7);  // seq keeps counting past evictions
  EXPECT_EQ(fake.terminate(), 0) << fake.stderrText();
}

TEST(FakeBoundsTest, CapsMustBePositive) {
  FakeTelegram fake({"--max-calls", "0"});
  EXPECT_FALSE(fake.started());
}

}  // namespace
}  // namespace botfn::fake_telegram::testing
