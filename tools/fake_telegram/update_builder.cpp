// Implementation of update_builder.hpp: JSON builders for users, chats, user messages and
// callback-query identifiers.
#include "update_builder.hpp"

#include "text_utils.hpp"

namespace botfn::fake_telegram {

Json userJson(const UserSpec& user) {
  Json j = Json::object();
  j["id"] = user.id;
  j["is_bot"] = false;
  j["first_name"] = user.firstName.empty() ? "User" : user.firstName;
  if (!user.lastName.empty()) j["last_name"] = user.lastName;
  if (!user.username.empty()) j["username"] = user.username;
  if (!user.languageCode.empty()) j["language_code"] = user.languageCode;
  return j;
}

Json botUserJson(const BotState& bot) {
  Json j = Json::object();
  j["id"] = bot.id;
  j["is_bot"] = true;
  j["first_name"] = bot.firstName;
  j["username"] = bot.username;
  return j;
}

Json getMeJson(const BotState& bot) {
  Json j = botUserJson(bot);
  j["can_join_groups"] = true;
  j["can_read_all_group_messages"] = false;
  j["supports_inline_queries"] = false;
  j["can_connect_to_business"] = false;
  j["has_main_web_app"] = false;
  return j;
}

Json privateChatJson(const UserSpec& user) {
  Json j = Json::object();
  j["id"] = user.id;
  j["first_name"] = user.firstName.empty() ? "User" : user.firstName;
  if (!user.lastName.empty()) j["last_name"] = user.lastName;
  if (!user.username.empty()) j["username"] = user.username;
  j["type"] = "private";
  return j;
}

Json groupChatJson(int64_t id, const std::string& type, const std::string& title) {
  Json j = Json::object();
  j["id"] = id;
  j["title"] = title.empty() ? "Chat " + std::to_string(id) : title;
  j["type"] = type;
  return j;
}

Json commandEntities(const std::string& text) {
  Json list = Json::array();
  if (text.size() < 2 || text[0] != '/') return list;
  size_t end = text.find_first_of(" \t\r\n");
  if (end == std::string::npos) end = text.size();
  if (end < 2) return list;
  Json entity = Json::object();
  entity["offset"] = 0;
  entity["length"] = utf16Length(std::string_view(text).substr(0, end));
  entity["type"] = "bot_command";
  list.push_back(std::move(entity));
  return list;
}

Json userTextMessage(int64_t messageId, const Json& from, const Json& chat,
                     const std::string& text) {
  Json j = Json::object();
  j["message_id"] = messageId;
  j["from"] = from;
  j["chat"] = chat;
  j["date"] = unixSecondsNow();
  j["text"] = text;
  Json entities = commandEntities(text);
  if (!entities.empty()) j["entities"] = std::move(entities);
  return j;
}

std::string numericStringId(uint64_t random) {
  // 16-19 digits, never starting with 0, fits in a signed 64-bit integer.
  uint64_t value = 1000000000000000ULL + random % 8000000000000000000ULL;
  return std::to_string(value);
}

std::string chatInstance(int64_t botId, int64_t chatId) {
  // FNV-1a over both ids: stable for a (bot, chat) pair, looks random.
  uint64_t h = 1469598103934665603ULL;
  for (int64_t v : {botId, chatId}) {
    for (int i = 0; i < 8; ++i) {
      h ^= (static_cast<uint64_t>(v) >> (i * 8)) & 0xFF;
      h *= 1099511628211ULL;
    }
  }
  return std::to_string(static_cast<int64_t>(h));
}

}  // namespace botfn::fake_telegram
