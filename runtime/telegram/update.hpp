// The Update model: what the runtime needs to route and order an update (kind, ordering lane,
// chat/user ids, command, callback data), parsed once from the raw JSON that Lua later reads
// lazily. Used by functions/webhook, the polling loop, the dispatcher and the Lua ctx module.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace botfn::telegram {

struct Update {
  int64_t update_id = 0;
  std::string kind;  // "message", "callback_query", ... or "" when the update has no payload
  std::string lane;  // ordering lane within the bot: "c<chat id>", "u<user id>" or "bot"
  std::optional<int64_t> chat_id;
  std::optional<int64_t> user_id;
  std::string chat_type;  // "private", "group", ... when known
  std::optional<int64_t> message_id;
  std::string message_kind;  // for message-like kinds: "text", "photo", "document", ...
  std::string text;          // message text, or caption for media
  std::string command;       // "start" for "/start@ThisBot args" (lowercase); empty when none
  std::string command_args;  // "args"
  bool command_for_other_bot = false;  // "/cmd@OtherBot": not ours, routed nowhere
  std::string callback_data;
  std::string callback_id;
  std::string language_code;
};

// Message-like kinds whose payload is a Message (chat, from, text, entities...).
bool isMessageKind(std::string_view kind);
// The kind as a metric label: one of the Bot API's update types, "none", or "other" for any
// other key, so a sender of made-up keys cannot grow the label set.
std::string_view kindLabel(std::string_view kind);

class UpdateDocument;

// Parses an update already validated as a JSON object with an integer update_id.
// bot_username (without '@') decides whether "/cmd@name" is addressed to this bot.
// The kind is the first key after update_id in the text, as the ingress reader takes it.
Update parseUpdate(const UpdateDocument& update, std::string_view bot_username);
// The same for an nlohmann value (tests, benchmarks).
Update parseUpdateValue(const nlohmann::json& update, std::string_view bot_username);

// Validates the envelope Telegram guarantees: a JSON object with an integer update_id.
Result<int64_t> updateIdOf(const nlohmann::json& update);

// Byte offset in utf8 of the UTF-16 code unit offset units (Telegram entity offsets are UTF-16).
size_t utf16ToByteOffset(std::string_view utf8, size_t units);

}  // namespace botfn::telegram
