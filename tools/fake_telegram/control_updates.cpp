// Control API handlers that create updates or chats: POST /control/message, /control/press,
// /control/update and /control/chats.
#include "control_api.hpp"
#include "update_builder.hpp"

namespace botfn::fake_telegram {
namespace {

UserSpec userFromParams(const Json& params, int64_t userId) {
  UserSpec user;
  user.id = userId;
  user.firstName = paramString(params, "first_name").value_or("User");
  user.lastName = paramString(params, "last_name").value_or("");
  user.username = paramString(params, "username").value_or("");
  user.languageCode = paramString(params, "language_code").value_or("en");
  return user;
}

// Finds or creates the chat a user writes in; private chats follow the user's current names.
ChatState& chatForUser(BotState& bot, const Json& params, const UserSpec& user, int64_t chatId) {
  ChatState& chat = bot.chats[chatId];
  if (chatId == user.id) {
    chat.chat = privateChatJson(user);
  } else if (chat.chat.is_null()) {
    std::string type = paramString(params, "chat_type").value_or("group");
    chat.chat = groupChatJson(chatId, type, paramString(params, "chat_title").value_or(""));
  }
  return chat;
}

bool hasButton(const Json& message, const std::string& data) {
  if (!message.contains("reply_markup")) return false;
  const Json& rows = message["reply_markup"].value("inline_keyboard", Json::array());
  for (const Json& row : rows) {
    for (const Json& button : row) {
      if (button.value("callback_data", "") == data && button.contains("callback_data"))
        return true;
    }
  }
  return false;
}

}  // namespace

HttpReply controlInjectMessage(ControlCall& call) {
  HttpReply error;
  BotState* bot = controlBot(call, error);
  if (bot == nullptr) return error;
  auto userId = paramInt(call.params, "user_id");
  auto text = paramString(call.params, "text");
  if (!userId || *userId == 0) return controlError(400, "user_id is required");
  if (!text) return controlError(400, "text is required");
  UserSpec user = userFromParams(call.params, *userId);
  int64_t chatId = paramInt(call.params, "chat_id").value_or(*userId);
  ChatState& chat = chatForUser(*bot, call.params, user, chatId);
  int64_t messageId = chat.nextMessageId++;
  Json message = userTextMessage(messageId, userJson(user), chat.chat, *text);
  if (auto replyTo = paramInt(call.params, "reply_to_message_id")) {
    auto it = chat.messages.find(*replyTo);
    if (it != chat.messages.end()) {
      Json ordered = Json::object();
      for (auto& [key, value] : message.items()) {
        if (key == "text") ordered["reply_to_message"] = it->second.message;
        ordered[key] = value;
      }
      ordered["reply_to_message"].erase("reply_to_message");
      message = std::move(ordered);
    }
  }
  call.ctx.store.keepMessage(chat, messageId, StoredMessage{message, false});
  bool queued = false;
  int64_t updateId =
      call.ctx.store.enqueueUpdate(*bot, Json{{"message", message}}, call.out, &queued);
  return controlOk(Json{{"update_id", updateId}, {"message_id", messageId}, {"queued", queued}});
}

HttpReply controlPress(ControlCall& call) {
  HttpReply error;
  BotState* bot = controlBot(call, error);
  if (bot == nullptr) return error;
  auto userId = paramInt(call.params, "user_id");
  auto messageId = paramInt(call.params, "message_id");
  std::string data = paramString(call.params, "data").value_or("");
  if (!userId || *userId == 0) return controlError(400, "user_id is required");
  int64_t chatId = paramInt(call.params, "chat_id").value_or(*userId);
  auto chat = bot->chats.find(chatId);
  if (chat == bot->chats.end() || !messageId) return controlError(400, "no such button");
  auto stored = chat->second.messages.find(*messageId);
  if (stored == chat->second.messages.end() || !stored->second.fromBot ||
      !hasButton(stored->second.message, data)) {
    return controlError(400, "no such button");
  }
  UserSpec user = userFromParams(call.params, *userId);
  const Json& chatJson = chat->second.chat;
  if (chatId == *userId && !call.params.contains("first_name")) {
    user.firstName = chatJson.value("first_name", user.firstName);
    user.lastName = chatJson.value("last_name", user.lastName);
    user.username = chatJson.value("username", user.username);
  }
  std::string queryId = numericStringId(call.ctx.store.random64());
  Json query = Json::object();
  query["id"] = queryId;
  query["from"] = userJson(user);
  query["message"] = stored->second.message;
  query["chat_instance"] = chatInstance(bot->id, chatId);
  query["data"] = data;
  bot->callbacks[queryId] = CallbackRecord{chatId, *messageId, *userId, false, nullptr};
  bool queued = false;
  int64_t updateId =
      call.ctx.store.enqueueUpdate(*bot, Json{{"callback_query", query}}, call.out, &queued);
  return controlOk(
      Json{{"update_id", updateId}, {"callback_query_id", queryId}, {"queued", queued}});
}

HttpReply controlRawUpdate(ControlCall& call) {
  HttpReply error;
  BotState* bot = controlBot(call, error);
  if (bot == nullptr) return error;
  const Json* update = paramValue(call.params, "update");
  Json parsed = update != nullptr && update->is_string()
                    ? Json::parse(update->get<std::string>(), nullptr, false)
                    : (update != nullptr ? *update : Json());
  if (!parsed.is_object()) return controlError(400, "update must be a JSON object");
  bool queued = false;
  int64_t updateId = call.ctx.store.enqueueUpdate(*bot, parsed, call.out, &queued);
  return controlOk(Json{{"update_id", updateId}, {"queued", queued}});
}

HttpReply controlRegisterChat(ControlCall& call) {
  HttpReply error;
  BotState* bot = controlBot(call, error);
  if (bot == nullptr) return error;
  auto chatId = paramInt(call.params, "chat_id");
  if (!chatId || *chatId == 0) return controlError(400, "chat_id is required");
  std::string type = paramString(call.params, "type").value_or(*chatId > 0 ? "private" : "group");
  ChatState& chat = bot->chats[*chatId];
  if (type == "private") {
    chat.chat = privateChatJson(userFromParams(call.params, *chatId));
  } else {
    chat.chat = groupChatJson(*chatId, type, paramString(call.params, "title").value_or(""));
  }
  return controlOk(Json{{"chat", chat.chat}});
}

}  // namespace botfn::fake_telegram
