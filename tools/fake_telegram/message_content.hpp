// Validation and construction of messages the bot sends or edits: text/caption with parse_mode,
// reply_markup (inline keyboards, callback_data limits), reply parameters and photo sizes, with
// Telegram's error descriptions. Used by bot_api_messages.cpp.
#pragma once

#include <cstdint>
#include <string>

#include "bot_state.hpp"
#include "text_format.hpp"

namespace botfn::fake_telegram {

constexpr size_t kMaxTextLength = 4096;  // Unicode code points (not UTF-16 units, not bytes)
constexpr size_t kMaxCaptionLength = 1024;
constexpr size_t kMaxCallbackDataBytes = 64;

// Each returns "" on success or the full error description ("Bad Request: ...").

// Reads textKey with parse_mode / entitiesKey; allowEmpty=false rejects blank text.
std::string readFormattedText(const Json& params, const std::string& textKey,
                              const std::string& entitiesKey, bool allowEmpty, FormattedText& out);
// "Bad Request: message is too long" / "Bad Request: message caption is too long".
std::string checkLength(const FormattedText& text, bool caption);
// Parses reply_markup. inlineMarkup receives the markup when it is an InlineKeyboardMarkup
// (null otherwise or when absent). Checks callback_data sizes (BUTTON_DATA_INVALID).
std::string readReplyMarkup(const Json& params, Json& inlineMarkup);
// Resolves reply_parameters / reply_to_message_id against the chat; replyTo receives the message
// replied to (null when none).
std::string readReplyTarget(const Json& params, const ChatState& chat, Json& replyTo);

// Resolves chat_id (integer or numeric string; "@username" matches a known chat's username).
// Returns nullptr and sets error ("Bad Request: chat_id is empty" / "... chat not found").
ChatState* findChat(BotState& bot, const Json& params, std::string& error);

// The bot's new message in canonical field order.
Json buildBotMessage(const BotState& bot, const ChatState& chat, int64_t messageId,
                     const Json& replyTo, const Json& content, const Json& inlineMarkup);
// {"text", "entities"?} content object for buildBotMessage.
Json textContent(const FormattedText& text);
// {"photo":[PhotoSize...], "caption"?, "caption_entities"?} for a file_id, URL or upload.
Json photoContent(const Json& photoParam, const FormattedText& caption, uint64_t random);
// Re-emits a message with keys in Telegram's order (after edits).
Json canonicalMessage(const Json& message);

}  // namespace botfn::fake_telegram
