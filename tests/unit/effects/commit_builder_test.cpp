// Commit assembly: conversation changes, the automatic callback answer, dead letters.
#include "effects/commit_builder.hpp"

#include <gtest/gtest.h>

namespace botfn::effects {
namespace {

RunInput callbackInput() {
  RunInput in;
  in.bot = std::make_shared<BotProfile>(BotProfile{"demo", "demo", "demo_bot", {}, "Oops"});
  in.entry.update_id = 9;
  in.update.kind = "callback_query";
  in.update.callback_id = "4382189322133713";
  in.update.chat_id = 5;
  in.update.user_id = 5;
  in.update.lane = "c5";
  in.conversation = {"flow.a", R"({"x":1})"};
  return in;
}

TEST(CommitBuilderTest, UnansweredCallbackIsAnsweredFirst) {
  Effects fx;
  fx.outbox.push_back(storage::OutboxMessage{"demo", "c5", 5, "sendMessage", "{}", "h1", ""});
  const auto c = buildCommit(callbackInput(), fx);
  ASSERT_EQ(c.outbox.size(), 2u);
  EXPECT_EQ(c.outbox[0].method, "answerCallbackQuery");
  EXPECT_NE(c.outbox[0].params_json.find("\"4382189322133713\""), std::string::npos);
}

TEST(CommitBuilderTest, AnsweredCallbackIsNotAnsweredTwice) {
  Effects fx;
  fx.answered_callback = true;
  EXPECT_TRUE(buildCommit(callbackInput(), fx).outbox.empty());
}

TEST(CommitBuilderTest, StateChangeKeepsData) {
  Effects fx;
  fx.state = "flow.b";
  const auto c = buildCommit(callbackInput(), fx);
  ASSERT_TRUE(c.conversation);
  EXPECT_EQ(c.conversation->state, "flow.b");
  EXPECT_EQ(c.conversation->data_json, R"({"x":1})");
  EXPECT_EQ(c.conversation_key->chat_id, 5);
}

TEST(CommitBuilderTest, NoChangeNoConversationWrite) {
  EXPECT_FALSE(buildCommit(callbackInput(), Effects{}).conversation);
}

TEST(CommitBuilderTest, DeadLetterSendsErrorText) {
  const auto c =
      buildDeadLetterCommit(callbackInput(), Error{ErrorCode::LuaRuntime, "boom"}, "main.lua:3", 4);
  ASSERT_TRUE(c.dead_letter);
  EXPECT_EQ(c.dead_letter->attempts, 4);
  ASSERT_EQ(c.outbox.size(), 2u);
  EXPECT_NE(c.outbox[1].params_json.find("Oops"), std::string::npos);
  EXPECT_TRUE(c.app_writes.empty());
}

TEST(CommitBuilderTest, HandlesAreUnique) {
  EXPECT_NE(newHandle(), newHandle());
  EXPECT_EQ(newHandle().size(), 25u);
}

}  // namespace
}  // namespace botfn::effects
