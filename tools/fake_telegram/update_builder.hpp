// Builders for the JSON objects the fake puts into updates and answers: users, chats, incoming
// user messages (with bot_command entities), callback queries and their ids. Used by control_api
// (injected updates) and bot_api (getMe, message authors).
#pragma once

#include <cstdint>
#include <string>

#include "bot_state.hpp"

namespace botfn::fake_telegram {

struct UserSpec {
  int64_t id = 0;
  std::string firstName;
  std::string lastName;
  std::string username;
  std::string languageCode = "en";
};

// {id, is_bot:false, first_name, last_name?, username?, language_code?}
Json userJson(const UserSpec& user);
// The bot as a message author: {id, is_bot:true, first_name, username}.
Json botUserJson(const BotState& bot);
// getMe result.
Json getMeJson(const BotState& bot);
// {id, first_name, last_name?, username?, type:"private"}
Json privateChatJson(const UserSpec& user);
// {id, title, type} for "group", "supergroup" or "channel".
Json groupChatJson(int64_t id, const std::string& type, const std::string& title);

// A bot_command entity at offset 0 when text starts with '/' followed by a non-space; its length
// (UTF-16 units) runs to the first whitespace, so "/cmd@bot" is one entity. Empty array otherwise.
Json commandEntities(const std::string& text);
// Message from a user: {message_id, from, chat, date, text, entities?}.
Json userTextMessage(int64_t messageId, const Json& from, const Json& chat,
                     const std::string& text);

// A 64-bit positive decimal number as a string (callback query ids).
std::string numericStringId(uint64_t random);
// Stable per (bot, chat) signed 64-bit decimal string, like Telegram's chat_instance.
std::string chatInstance(int64_t botId, int64_t chatId);

}  // namespace botfn::fake_telegram
