// Bot API methods about the bot and its update stream: getMe, getUpdates (long poll),
// setWebhook / deleteWebhook / getWebhookInfo, answerCallbackQuery and the command list.
#include <algorithm>

#include "bot_api.hpp"
#include "scheduler.hpp"
#include "text_utils.hpp"
#include "update_builder.hpp"

namespace botfn::fake_telegram {
namespace {

constexpr int kMaxPollTimeoutSeconds = 50;
constexpr size_t kMaxSecretTokenLength = 256;
const char* const kWebhookConflict =
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first";
const char* const kPollConflict =
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running";

bool isSecretChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

void dropPending(BotState& bot) {
  // In-flight webhook deliveries finish on their own; everything else is forgotten.
  auto& q = bot.updates;
  q.erase(std::remove_if(q.begin(), q.end(), [](const QueuedUpdate& u) { return !u.inFlight; }),
          q.end());
}

Json commandsKey(const Json& params) {
  Json key = Json::object();
  if (const Json* scope = paramValue(params, "scope")) key["scope"] = *scope;
  key["language_code"] = paramString(params, "language_code").value_or("");
  return key;
}

}  // namespace

HttpReply apiGetMe(ApiCall& call) { return apiOk(getMeJson(call.bot)); }

HttpReply apiGetUpdates(ApiCall& call) {
  BotState& bot = call.bot;
  Store& store = call.ctx.store;
  if (!bot.webhook.url.empty()) return apiError(409, kWebhookConflict);
  if (auto offset = paramInt(call.params, "offset")) store.confirmUpdates(bot, *offset);
  int limit =
      static_cast<int>(std::clamp<int64_t>(paramInt(call.params, "limit").value_or(100), 1, 100));
  int timeout = static_cast<int>(
      std::clamp<int64_t>(paramInt(call.params, "timeout").value_or(0), 0, kMaxPollTimeoutSeconds));
  if (const Json* allowed = paramValue(call.params, "allowed_updates")) {
    if (allowed->is_array()) bot.allowedUpdates = *allowed;
  }
  if (bot.poll) store.finishPoll(bot, call.out, 409, kPollConflict);
  Json updates = store.peekUpdates(bot, limit);
  if (!updates.empty() || timeout == 0) return apiOk(updates);

  uint64_t id = store.nextWaiterId();
  bot.poll = PollWaiter{id, call.responder, call.params, limit};
  ServerContext& ctx = call.ctx;
  std::string token = bot.token;
  ctx.scheduler.runAfter(std::chrono::seconds(timeout), [&ctx, token, id] {
    Outbox out;
    {
      auto lock = ctx.store.lock();
      ctx.store.expirePoll(token, id, out);
    }
    ctx.flush(out);
  });
  call.deferred = true;
  return HttpReply{};
}

HttpReply apiSetWebhook(ApiCall& call) {
  BotState& bot = call.bot;
  std::string url = paramString(call.params, "url").value_or("");
  std::string secret = paramString(call.params, "secret_token").value_or("");
  if (secret.size() > kMaxSecretTokenLength) {
    return apiError(400, "Bad Request: secret token is too long");
  }
  if (!std::all_of(secret.begin(), secret.end(), isSecretChar)) {
    return apiError(400, "Bad Request: secret token contains unallowed characters");
  }
  if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return apiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook");
  }
  if (paramBool(call.params, "drop_pending_updates")) dropPending(bot);
  if (const Json* allowed = paramValue(call.params, "allowed_updates")) {
    if (allowed->is_array()) bot.allowedUpdates = *allowed;
  }
  if (url.empty()) {
    bool had = !bot.webhook.url.empty();
    bot.webhook.url.clear();
    bot.webhook.secret.clear();
    return apiOk(true, had ? "Webhook was deleted" : "Webhook is already deleted");
  }
  bool same = bot.webhook.url == url;
  bot.webhook.url = url;
  bot.webhook.secret = secret;
  bot.webhook.maxConnections = static_cast<int>(
      std::clamp<int64_t>(paramInt(call.params, "max_connections").value_or(40), 1, 100));
  if (bot.poll) call.ctx.store.finishPoll(bot, call.out, 409, kWebhookConflict);
  call.out.wakeDelivery();
  return apiOk(true, same ? "Webhook is already set" : "Webhook was set");
}

HttpReply apiDeleteWebhook(ApiCall& call) {
  BotState& bot = call.bot;
  if (paramBool(call.params, "drop_pending_updates")) dropPending(bot);
  bool had = !bot.webhook.url.empty();
  bot.webhook.url.clear();
  bot.webhook.secret.clear();
  return apiOk(true, had ? "Webhook was deleted" : "Webhook is already deleted");
}

HttpReply apiGetWebhookInfo(ApiCall& call) {
  const BotState& bot = call.bot;
  const WebhookState& hook = bot.webhook;
  Json info = Json::object();
  info["url"] = hook.url;
  info["has_custom_certificate"] = false;
  info["pending_update_count"] = bot.updates.size();
  if (!hook.url.empty()) {
    if (hook.lastErrorDate != 0) {
      info["last_error_date"] = hook.lastErrorDate;
      info["last_error_message"] = hook.lastErrorMessage;
    }
    info["max_connections"] = hook.maxConnections;
    info["ip_address"] = "127.0.0.1";
    if (bot.allowedUpdates.is_array()) info["allowed_updates"] = bot.allowedUpdates;
  }
  return apiOk(info);
}

HttpReply apiAnswerCallbackQuery(ApiCall& call) {
  std::string id = paramString(call.params, "callback_query_id").value_or("");
  auto it = call.bot.callbacks.find(id);
  if (it != call.bot.callbacks.end()) call.chatId = it->second.chatId;
  if (it == call.bot.callbacks.end() || it->second.answered) {
    return apiError(400,
                    "Bad Request: query is too old and response timeout expired or query ID is "
                    "invalid");
  }
  if (codePointCount(paramString(call.params, "text").value_or("")) > 200) {
    return apiError(400, "Bad Request: MESSAGE_TOO_LONG");
  }
  it->second.answered = true;
  it->second.answer = call.params;
  return apiOk(true);
}

HttpReply apiSetMyCommands(ApiCall& call) {
  const Json* commands = paramValue(call.params, "commands");
  if (commands == nullptr || !commands->is_array()) {
    return apiError(400, "Bad Request: can't parse commands JSON object");
  }
  call.bot.commands[commandsKey(call.params).dump()] = *commands;
  return apiOk(true);
}

HttpReply apiGetMyCommands(ApiCall& call) {
  std::string key = commandsKey(call.params).dump();
  const Json& commands = call.bot.commands;
  return apiOk(commands.contains(key) ? commands[key] : Json::array());
}

HttpReply apiDeleteMyCommands(ApiCall& call) {
  call.bot.commands.erase(commandsKey(call.params).dump());
  return apiOk(true);
}

HttpReply apiLogOut(ApiCall&) { return apiOk(true); }

}  // namespace botfn::fake_telegram
