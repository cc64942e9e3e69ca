// Implementation of message_content.hpp: inline keyboard validation, reply targets, chat lookup
// and construction of text/photo messages in Telegram's field order.
#include "message_content.hpp"

#include <array>

#include "text_utils.hpp"
#include "update_builder.hpp"

namespace botfn::fake_telegram {
namespace {

constexpr std::array<const char*, 10> kButtonActions = {"callback_data",
                                                        "url",
                                                        "web_app",
                                                        "login_url",
                                                        "switch_inline_query",
                                                        "switch_inline_query_current_chat",
                                                        "switch_inline_query_chosen_chat",
                                                        "copy_text",
                                                        "callback_game",
                                                        "pay"};

std::string checkButton(const Json& button) {
  const std::string prefix = "Bad Request: can't parse inline keyboard button: ";
  if (!button.is_object()) return prefix + "InlineKeyboardButton must be an Object";
  if (!button.contains("text") || !button["text"].is_string()) {
    return prefix + "Field \"text\" must be of type String";
  }
  bool hasAction = false;
  for (const char* key : kButtonActions) hasAction = hasAction || button.contains(key);
  if (!hasAction) return prefix + "Text buttons are unallowed in the inline keyboard";
  if (button.contains("callback_data")) {
    const Json& data = button["callback_data"];
    if (!data.is_string()) return prefix + "Field \"callback_data\" must be of type String";
    size_t bytes = data.get<std::string>().size();
    if (bytes == 0 || bytes > kMaxCallbackDataBytes) return "Bad Request: BUTTON_DATA_INVALID";
  }
  return "";
}

std::string randomToken(uint64_t seed, size_t length) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint64_t x = seed | 1;
  for (size_t i = 0; i < length; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift
    out.push_back(kAlphabet[x % 64]);
  }
  return out;
}

}  // namespace

std::string readFormattedText(const Json& params, const std::string& textKey,
                              const std::string& entitiesKey, bool allowEmpty, FormattedText& out) {
  std::string raw = paramString(params, textKey).value_or("");
  const Json* entities = paramValue(params, entitiesKey);
  if (entities != nullptr && entities->is_array()) {
    out.text = raw;
    out.entities = *entities;
  } else {
    std::string error;
    if (!parseFormattedText(raw, paramString(params, "parse_mode").value_or(""), out, error)) {
      return error;
    }
  }
  if (!allowEmpty && isBlank(out.text)) return "Bad Request: message text is empty";
  return "";
}

std::string checkLength(const FormattedText& text, bool caption) {
  size_t limit = caption ? kMaxCaptionLength : kMaxTextLength;
  if (codePointCount(text.text) <= limit) return "";
  return caption ? "Bad Request: message caption is too long" : "Bad Request: message is too long";
}

std::string readReplyMarkup(const Json& params, Json& inlineMarkup) {
  inlineMarkup = nullptr;
  const Json* markup = paramValue(params, "reply_markup");
  if (markup == nullptr) return "";
  const std::string parseError = "Bad Request: can't parse reply keyboard markup JSON object";
  if (!markup->is_object()) return parseError;
  if (!markup->contains("inline_keyboard")) {
    bool known = markup->contains("keyboard") || markup->contains("remove_keyboard") ||
                 markup->contains("force_reply");
    return known ? "" : parseError;
  }
  const Json& rows = (*markup)["inline_keyboard"];
  if (!rows.is_array()) {
    return "Bad Request: field \"inline_keyboard\" of the InlineKeyboardMarkup should be an "
           "Array of Arrays";
  }
  bool anyButton = false;
  for (const Json& row : rows) {
    if (!row.is_array()) {
      return "Bad Request: field \"inline_keyboard\" of the InlineKeyboardMarkup should be an "
             "Array of Arrays";
    }
    for (const Json& button : row) {
      std::string error = checkButton(button);
      if (!error.empty()) return error;
      anyButton = true;
    }
  }
  if (anyButton) inlineMarkup = Json{{"inline_keyboard", rows}};
  return "";
}

std::string readReplyTarget(const Json& params, const ChatState& chat, Json& replyTo) {
  replyTo = nullptr;
  int64_t messageId = paramInt(params, "reply_to_message_id").value_or(0);
  bool allowWithout = paramBool(params, "allow_sending_without_reply");
  if (const Json* rp = paramValue(params, "reply_parameters")) {
    if (!rp->is_object()) return "Bad Request: can't parse reply parameters JSON object";
    messageId = paramInt(*rp, "message_id").value_or(0);
    allowWithout = paramBool(*rp, "allow_sending_without_reply", allowWithout);
  }
  if (messageId == 0) return "";
  auto it = chat.messages.find(messageId);
  if (it == chat.messages.end()) {
    return allowWithout ? "" : "Bad Request: message to be replied not found";
  }
  replyTo = it->second.message;
  replyTo.erase("reply_to_message");
  return "";
}

ChatState* findChat(BotState& bot, const Json& params, std::string& error) {
  const Json* value = paramValue(params, "chat_id");
  if (value == nullptr || (value->is_string() && value->get<std::string>().empty())) {
    error = "Bad Request: chat_id is empty";
    return nullptr;
  }
  if (auto id = paramInt(params, "chat_id")) {
    auto it = bot.chats.find(*id);
    if (it != bot.chats.end()) return &it->second;
  } else if (value->is_string() && value->get<std::string>().rfind('@', 0) == 0) {
    std::string username = value->get<std::string>().substr(1);
    for (auto& [id, chat] : bot.chats) {
      if (chat.chat.value("username", "") == username) return &chat;
    }
  }
  error = "Bad Request: chat not found";
  return nullptr;
}

Json textContent(const FormattedText& text) {
  Json content = Json::object();
  content["text"] = text.text;
  if (!text.entities.empty()) content["entities"] = text.entities;
  return content;
}

Json photoContent(const Json& photoParam, const FormattedText& caption, uint64_t random) {
  std::string givenId = photoParam.is_string() ? photoParam.get<std::string>() : "";
  bool isFileId = !givenId.empty() && givenId.find("://") == std::string::npos;
  static const int kSizes[3][2] = {{90, 67}, {320, 240}, {800, 600}};
  Json sizes = Json::array();
  for (int i = 0; i < 3; ++i) {
    Json size = Json::object();
    size["file_id"] =
        (i == 2 && isFileId) ? givenId : "AgACAgIAAxkBAAI" + randomToken(random + i, 60);
    size["file_unique_id"] = "AQAD" + randomToken(random + 7 * i + 1, 12);
    size["file_size"] = kSizes[i][0] * kSizes[i][1] / 8;
    size["width"] = kSizes[i][0];
    size["height"] = kSizes[i][1];
    sizes.push_back(std::move(size));
  }
  Json content = Json::object();
  content["photo"] = std::move(sizes);
  if (!caption.text.empty()) content["caption"] = caption.text;
  if (!caption.entities.empty()) content["caption_entities"] = caption.entities;
  return content;
}

Json buildBotMessage(const BotState& bot, const ChatState& chat, int64_t messageId,
                     const Json& replyTo, const Json& content, const Json& inlineMarkup) {
  Json message = Json::object();
  message["message_id"] = messageId;
  message["from"] = botUserJson(bot);
  message["chat"] = chat.chat;
  message["date"] = unixSecondsNow();
  if (!replyTo.is_null()) message["reply_to_message"] = replyTo;
  for (auto& [key, value] : content.items()) message[key] = value;
  if (!inlineMarkup.is_null()) message["reply_markup"] = inlineMarkup;
  return message;
}

Json canonicalMessage(const Json& message) {
  static const char* const kOrder[] = {
      "message_id",       "message_thread_id", "from", "sender_chat", "chat",  "date",
      "edit_date",        "reply_to_message",  "text", "entities",    "photo", "caption",
      "caption_entities", "reply_markup"};
  Json out = Json::object();
  for (const char* key : kOrder) {
    if (message.contains(key)) out[key] = message[key];
  }
  for (auto& [key, value] : message.items()) {
    if (!out.contains(key)) out[key] = value;
  }
  return out;
}

}  // namespace botfn::fake_telegram
