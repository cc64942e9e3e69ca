// Bot API methods that create or change messages in a chat: sendMessage, sendPhoto,
// editMessageText, editMessageReplyMarkup, deleteMessage, sendChatAction.
#include "bot_api.hpp"
#include "message_content.hpp"
#include "text_utils.hpp"

namespace botfn::fake_telegram {
namespace {

const char* const kNotModified =
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message";

// Key order does not matter when Telegram compares content.
bool sameJson(const Json& a, const Json& b) {
  return nlohmann::json::parse(a.dump()) == nlohmann::json::parse(b.dump());
}

HttpReply badRequest(const std::string& description) { return apiError(400, description); }

// Shared lookup for edit/delete: the chat from chat_id and the message from message_id.
StoredMessage* findTargetMessage(ApiCall& call, const char* notFound, std::string& error) {
  ChatState* chat = findChat(call.bot, call.params, error);
  if (chat == nullptr) return nullptr;
  call.chatId = chat->chat["id"].get<int64_t>();
  auto messageId = paramInt(call.params, "message_id");
  if (!messageId || *messageId == 0) {
    error = "Bad Request: message identifier is not specified";
    return nullptr;
  }
  auto it = chat->messages.find(*messageId);
  if (it == chat->messages.end()) {
    error = notFound;
    return nullptr;
  }
  return &it->second;
}

// Adds the send result to the chat and answers with it.
HttpReply storeNewMessage(ApiCall& call, ChatState& chat, const Json& content, const Json& markup) {
  Json replyTo;
  std::string error = readReplyTarget(call.params, chat, replyTo);
  if (!error.empty()) return badRequest(error);
  int64_t messageId = chat.nextMessageId++;
  Json message = buildBotMessage(call.bot, chat, messageId, replyTo, content, markup);
  call.ctx.store.keepMessage(chat, messageId, StoredMessage{message, true});
  return apiOk(message);
}

}  // namespace

HttpReply apiSendMessage(ApiCall& call) {
  FormattedText text;
  std::string error = readFormattedText(call.params, "text", "entities", false, text);
  if (error.empty()) {
    Json markup;
    error = readReplyMarkup(call.params, markup);
    if (error.empty()) {
      ChatState* chat = findChat(call.bot, call.params, error);
      if (chat != nullptr) {
        call.chatId = chat->chat["id"].get<int64_t>();
        error = checkLength(text, false);
        if (error.empty()) return storeNewMessage(call, *chat, textContent(text), markup);
      }
    }
  }
  return badRequest(error);
}

HttpReply apiSendPhoto(ApiCall& call) {
  const Json* photo = paramValue(call.params, "photo");
  if (photo == nullptr || (photo->is_string() && photo->get<std::string>().empty())) {
    return badRequest("Bad Request: there is no photo in the request");
  }
  FormattedText caption;
  std::string error = readFormattedText(call.params, "caption", "caption_entities", true, caption);
  if (!error.empty()) return badRequest(error);
  Json markup;
  error = readReplyMarkup(call.params, markup);
  if (!error.empty()) return badRequest(error);
  ChatState* chat = findChat(call.bot, call.params, error);
  if (chat == nullptr) return badRequest(error);
  call.chatId = chat->chat["id"].get<int64_t>();
  error = checkLength(caption, true);
  if (!error.empty()) return badRequest(error);
  Json content = photoContent(*photo, caption, call.ctx.store.random64());
  return storeNewMessage(call, *chat, content, markup);
}

HttpReply apiEditMessageText(ApiCall& call) {
  FormattedText text;
  std::string error = readFormattedText(call.params, "text", "entities", false, text);
  if (!error.empty()) return badRequest(error);
  Json markup;
  error = readReplyMarkup(call.params, markup);
  if (!error.empty()) return badRequest(error);
  if (paramValue(call.params, "inline_message_id") != nullptr &&
      paramValue(call.params, "chat_id") == nullptr) {
    return badRequest("Bad Request: message to edit not found");
  }
  StoredMessage* stored = findTargetMessage(call, "Bad Request: message to edit not found", error);
  if (stored == nullptr) return badRequest(error);
  if (!stored->fromBot) return badRequest("Bad Request: message can't be edited");
  Json& message = stored->message;
  if (!message.contains("text")) {
    return badRequest("Bad Request: there is no text in the message to edit");
  }
  error = checkLength(text, false);
  if (!error.empty()) return badRequest(error);
  Json currentEntities = message.value("entities", Json::array());
  Json currentMarkup = message.contains("reply_markup") ? message["reply_markup"] : Json();
  if (message["text"] == text.text && sameJson(currentEntities, text.entities) &&
      sameJson(currentMarkup, markup)) {
    return badRequest(kNotModified);
  }
  message["text"] = text.text;
  if (text.entities.empty())
    message.erase("entities");
  else
    message["entities"] = text.entities;
  if (markup.is_null())
    message.erase("reply_markup");
  else
    message["reply_markup"] = markup;
  message["edit_date"] = unixSecondsNow();
  message = canonicalMessage(message);
  return apiOk(message);
}

HttpReply apiEditMessageReplyMarkup(ApiCall& call) {
  Json markup;
  std::string error = readReplyMarkup(call.params, markup);
  if (!error.empty()) return badRequest(error);
  if (paramValue(call.params, "inline_message_id") != nullptr &&
      paramValue(call.params, "chat_id") == nullptr) {
    return badRequest("Bad Request: message to edit not found");
  }
  StoredMessage* stored = findTargetMessage(call, "Bad Request: message to edit not found", error);
  if (stored == nullptr) return badRequest(error);
  if (!stored->fromBot) return badRequest("Bad Request: message can't be edited");
  Json& message = stored->message;
  Json currentMarkup = message.contains("reply_markup") ? message["reply_markup"] : Json();
  if (sameJson(currentMarkup, markup)) return badRequest(kNotModified);
  if (markup.is_null())
    message.erase("reply_markup");
  else
    message["reply_markup"] = markup;
  message["edit_date"] = unixSecondsNow();
  message = canonicalMessage(message);
  return apiOk(message);
}

HttpReply apiDeleteMessage(ApiCall& call) {
  std::string error;
  StoredMessage* stored =
      findTargetMessage(call, "Bad Request: message to delete not found", error);
  if (stored == nullptr) return badRequest(error);
  ChatState& chat = call.bot.chats.at(*call.chatId);
  chat.messages.erase(stored->message["message_id"].get<int64_t>());
  return apiOk(true);
}

HttpReply apiSendChatAction(ApiCall& call) {
  std::string error;
  ChatState* chat = findChat(call.bot, call.params, error);
  if (chat == nullptr) return badRequest(error);
  call.chatId = chat->chat["id"].get<int64_t>();
  if (paramString(call.params, "action").value_or("").empty()) {
    return badRequest("Bad Request: action is empty");
  }
  return apiOk(true);
}

}  // namespace botfn::fake_telegram
