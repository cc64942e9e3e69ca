// Update parsing: every kind of the captured corpus, lanes, commands, UTF-16 offsets, ids.
#include "telegram/update.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace botfn::telegram {
namespace {

nlohmann::json load(const std::string& name) {
  std::ifstream in(std::string(BOTFN_TEST_DATA_DIR) + "/telegram-updates/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

nlohmann::json textMessage(const std::string& text, int cmd_len = -1) {
  nlohmann::json m{
      {"message_id", 7},
      {"date", 1},
      {"chat", {{"id", 42}, {"type", "private"}}},
      {"from", {{"id", 42}, {"is_bot", false}, {"first_name", "A"}, {"language_code", "ru"}}},
      {"text", text}};
  if (cmd_len >= 0) m["entities"] = {{{"type", "bot_command"}, {"offset", 0}, {"length", cmd_len}}};
  return {{"update_id", 1}, {"message", m}};
}

TEST(UpdateTest, EveryCorpusSampleParsesWithALane) {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(BOTFN_TEST_DATA_DIR) +
                                                           "/telegram-updates")) {
    if (e.path().extension() != ".json") continue;
    ++files;
    const auto j = load(e.path().filename().string());
    ASSERT_TRUE(updateIdOf(j).has_value()) << e.path();
    const auto u = parseUpdateValue(j, "demo_bot");
    EXPECT_FALSE(u.kind.empty()) << e.path();
    EXPECT_FALSE(u.lane.empty()) << e.path();
  }
  EXPECT_EQ(files, 66);
}

TEST(UpdateTest, LanesFollowChatThenUserThenBot) {
  EXPECT_EQ(parseUpdateValue(load("67-callback_query-channel-message.json"), "").lane[0], 'c');
  EXPECT_EQ(parseUpdateValue(load("71-inline_query.json"), "").lane[0], 'u');
  EXPECT_EQ(parseUpdateValue(load("76-poll.json"), "").lane, "bot");
  EXPECT_EQ(parseUpdateValue(load("86-message_reaction.json"), "").lane[0], 'c');
  EXPECT_EQ(parseUpdateValue(load("85-chat_join_request.json"), "").lane[0], 'c');
  EXPECT_EQ(parseUpdateValue(load("91-removed_chat_boost.json"), "").lane[0], 'c');
  const auto cb = parseUpdateValue(load("68-callback_query-inline_message_id.json"), "");
  EXPECT_EQ(cb.lane[0], 'u');  // inline message: no chat, the presser's lane
}

TEST(UpdateTest, SixtyFourBitIdsSurvive) {
  const auto u = parseUpdateValue(load("40-message-group-id-beyond-int32.json"), "");
  ASSERT_TRUE(u.chat_id);
  EXPECT_LT(*u.chat_id, -2147483648LL);
}

TEST(UpdateTest, CallbackIdsStayStrings) {
  const auto j = load("67-callback_query-channel-message.json");
  const auto u = parseUpdateValue(j, "");
  EXPECT_EQ(u.callback_id, j["callback_query"]["id"].get<std::string>());
}

TEST(UpdateTest, UnknownKindIsKeptWithBotLane) {
  const auto u = parseUpdateValue(load("98-unknown-update-kind-edge.json"), "");
  EXPECT_EQ(u.kind, "new_update_kind");
  EXPECT_EQ(u.lane, "bot");
}

TEST(UpdateTest, NoPayloadUpdate) {
  const auto u = parseUpdateValue(nlohmann::json{{"update_id", 3}}, "");
  EXPECT_EQ(u.kind, "");
  EXPECT_EQ(u.lane, "bot");
}

TEST(UpdateTest, CommandWithArguments) {
  const auto u = parseUpdateValue(textMessage("/start ref_42", 6), "demo_bot");
  EXPECT_EQ(u.command, "start");
  EXPECT_EQ(u.command_args, "ref_42");
  EXPECT_EQ(u.language_code, "ru");
}

TEST(UpdateTest, CommandAddressedToThisBot) {
  const auto u = parseUpdateValue(textMessage("/Help@Demo_Bot topic", 14), "demo_bot");
  EXPECT_EQ(u.command, "help");
  EXPECT_EQ(u.command_args, "topic");
  EXPECT_FALSE(u.command_for_other_bot);
}

TEST(UpdateTest, CommandForAnotherBotIsIgnored) {
  const auto u = parseUpdateValue(textMessage("/start@other_bot", 16), "demo_bot");
  EXPECT_EQ(u.command, "");
  EXPECT_TRUE(u.command_for_other_bot);
}

TEST(UpdateTest, SlashWithoutEntityIsText) {
  const auto j = [] {
    auto j = textMessage("/not a command");
    j["message"]["entities"] = nlohmann::json::array();
    return j;
  }();
  EXPECT_EQ(parseUpdateValue(j, "demo_bot").command, "");
}

TEST(UpdateTest, LegacyCommandWithoutEntities) {
  EXPECT_EQ(parseUpdateValue(load("01-message-text-command-legacy.json"), "").command, "start");
}

TEST(UpdateTest, Utf16Offsets) {
  const std::string s = "\xF0\x9F\x98\x80/a";  // 😀 is two UTF-16 units
  EXPECT_EQ(utf16ToByteOffset(s, 2), 4u);
  EXPECT_EQ(utf16ToByteOffset(s, 3), 5u);
  EXPECT_EQ(utf16ToByteOffset("абв", 2), 4u);
}

TEST(UpdateTest, EnvelopeErrors) {
  EXPECT_EQ(updateIdOf(nlohmann::json::array()).error().code, ErrorCode::NotAnObject);
  EXPECT_EQ(updateIdOf(nlohmann::json{{"x", 1}}).error().code, ErrorCode::MissingUpdateId);
  EXPECT_EQ(updateIdOf(nlohmann::json{{"update_id", "5"}}).error().code,
            ErrorCode::MissingUpdateId);
  EXPECT_EQ(*updateIdOf(nlohmann::json{{"update_id", 5}}), 5);
}

}  // namespace
}  // namespace botfn::telegram
