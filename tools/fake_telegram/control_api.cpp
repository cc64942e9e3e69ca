// Control API routing plus the handlers that inspect or configure the fake: bots, config,
// faults, reset, calls, wait, chat messages, webhook stats (update injection is in
// control_updates.cpp).
#include "control_api.hpp"

#include <algorithm>
#include <regex>

#include "scheduler.hpp"
#include "text_utils.hpp"
#include "update_builder.hpp"

namespace botfn::fake_telegram {
namespace {

constexpr int64_t kDefaultWaitMs = 30000;
constexpr int64_t kMaxWaitMs = 300000;

bool validToken(const std::string& token) {
  static const std::regex kToken("^[0-9]+:[A-Za-z0-9_-]+$");
  return std::regex_match(token, kToken);
}

HttpReply registerBot(ControlCall& call) {
  std::string token = paramString(call.params, "token").value_or("");
  if (!validToken(token)) return controlError(400, "invalid token");
  BotState& bot =
      call.ctx.store.registerBot(token, paramString(call.params, "username").value_or(""),
                                 paramString(call.params, "first_name").value_or(""));
  return controlOk(Json{{"bot", getMeJson(bot)}});
}

HttpReply listBots(ControlCall& call) {
  Json list = Json::array();
  for (BotState* bot : call.ctx.store.bots()) {
    Json j = getMeJson(*bot);
    j["token"] = bot->token;
    list.push_back(std::move(j));
  }
  return controlOk(Json{{"bots", list}});
}

Json configJson(const RuntimeConfig& config) {
  return Json{{"latency_ms", config.latencyMs}, {"strict_limits", config.strictLimits}};
}

HttpReply setConfig(ControlCall& call) {
  RuntimeConfig& config = call.ctx.store.config();
  if (auto latency = paramInt(call.params, "latency_ms")) {
    config.latencyMs = static_cast<int>(std::clamp<int64_t>(*latency, 0, 600000));
  }
  if (paramValue(call.params, "strict_limits") != nullptr) {
    config.strictLimits = paramBool(call.params, "strict_limits");
  }
  return controlOk(configJson(config));
}

HttpReply addFault(ControlCall& call) {
  FaultSpec fault;
  fault.token = paramString(call.params, "token").value_or("");
  fault.method = paramString(call.params, "method").value_or("");
  fault.errorCode = static_cast<int>(paramInt(call.params, "error_code").value_or(0));
  fault.description = paramString(call.params, "description").value_or("");
  fault.retryAfter = static_cast<int>(paramInt(call.params, "retry_after").value_or(0));
  fault.dropConnection = paramBool(call.params, "drop_connection");
  fault.remaining = static_cast<int>(paramInt(call.params, "count").value_or(1));
  if (fault.method.empty()) return controlError(400, "method is required");
  if (!fault.dropConnection && (fault.errorCode < 400 || fault.errorCode > 599)) {
    return controlError(400, "error_code (400-599) or drop_connection is required");
  }
  if (fault.remaining < 1) return controlError(400, "count must be at least 1");
  call.ctx.store.addFault(std::move(fault));
  return controlOk(Json{{"faults", call.ctx.store.faultsJson()}});
}

HttpReply listCalls(ControlCall& call, BotState& bot) {
  int64_t since = paramInt(call.params, "since").value_or(0);
  std::string method = paramString(call.params, "method").value_or("");
  return controlOk(call.ctx.store.callsJson(bot, since, paramInt(call.params, "chat_id"), method));
}

HttpReply waitForChat(ControlCall& call, BotState& bot) {
  auto chatId = paramInt(call.params, "chat_id");
  if (!chatId) return controlError(400, "chat_id is required");
  int64_t afterSeq = paramInt(call.params, "after_seq").value_or(0);
  int64_t timeoutMs = std::clamp<int64_t>(
      paramInt(call.params, "timeout_ms").value_or(kDefaultWaitMs), 0, kMaxWaitMs);
  Store& store = call.ctx.store;
  Json body = store.callsJson(bot, afterSeq, chatId, "");
  if (!body["calls"].empty() || timeoutMs == 0) {
    body["timeout"] = body["calls"].empty();
    return controlOk(body);
  }
  uint64_t id = store.nextWaiterId();
  store.addChatWaiter(bot, ChatWaiter{id, call.responder, *chatId, afterSeq});
  ServerContext& ctx = call.ctx;
  std::string token = bot.token;
  ctx.scheduler.runAfter(std::chrono::milliseconds(timeoutMs), [&ctx, token, id] {
    Outbox out;
    {
      auto lock = ctx.store.lock();
      ctx.store.expireChatWaiter(token, id, out);
    }
    ctx.flush(out);
  });
  call.deferred = true;
  return HttpReply{};
}

HttpReply chatMessages(ControlCall& call, BotState& bot) {
  auto chatId = parseInt64(call.pathArg);
  auto chat = chatId ? bot.chats.find(*chatId) : bot.chats.end();
  if (chat == bot.chats.end()) return controlError(404, "chat not found");
  bool includeUser = paramBool(call.params, "include_user");
  Json list = Json::array();
  for (auto& [id, stored] : chat->second.messages) {
    if (stored.fromBot || includeUser) list.push_back(stored.message);
  }
  return controlOk(Json{{"chat", chat->second.chat}, {"messages", list}});
}

HttpReply webhookStats(BotState& bot) {
  const WebhookState& hook = bot.webhook;
  Json attempts = Json::array();
  for (const auto& a : hook.attempts) {
    attempts.push_back(Json{{"update_id", a.updateId},
                            {"attempt", a.attempt},
                            {"status", a.status},
                            {"error", a.error},
                            {"time", a.time}});
  }
  Json body = Json::object();
  body["url"] = hook.url;
  body["secret_set"] = !hook.secret.empty();
  body["delivered"] = hook.delivered;
  body["failed"] = hook.failed;
  body["pending"] = bot.updates.size();
  body["last_status"] = hook.lastStatus;
  body["last_error_message"] = hook.lastErrorMessage;
  body["attempts"] = std::move(attempts);
  body["get_updates_waiting"] = bot.poll.has_value();
  return controlOk(body);
}

}  // namespace

BotState* controlBot(ControlCall& call, HttpReply& reply) {
  std::string token = paramString(call.params, "token").value_or("");
  BotState* bot = token.empty() ? nullptr : call.ctx.store.findBot(token);
  if (bot == nullptr) {
    reply =
        token.empty() ? controlError(400, "token is required") : controlError(404, "unknown bot");
  }
  return bot;
}

void ControlApi::handle(const std::string& httpMethod, const std::string& path,
                        const ParsedParams& parsed, const ResponderPtr& responder) {
  Outbox out;
  {
    auto lock = ctx_.store.lock();
    ControlCall call{ctx_, parsed.params, responder, out, "", false};
    std::string route = path.substr(std::string("/control").size());
    while (route.size() > 1 && route.back() == '/') route.pop_back();
    bool post = httpMethod == "POST";
    HttpReply reply = controlError(404, "unknown control endpoint");
    std::smatch match;
    static const std::regex kChatMessages("^/chats/(-?[0-9]+)/messages$");
    // Endpoints that need a bot resolve it first; errors come back in `reply`.
    auto withBot = [&](auto fn) {
      if (BotState* bot = controlBot(call, reply)) reply = fn(*bot);
    };
    if (!parsed.error.empty()) {
      reply = controlError(400, "can't parse request body");
    } else if (route == "/health") {
      reply = controlOk();
    } else if (route == "/bots") {
      reply = post ? registerBot(call) : listBots(call);
    } else if (route == "/chats" && post) {
      reply = controlRegisterChat(call);
    } else if (route == "/message" && post) {
      reply = controlInjectMessage(call);
    } else if (route == "/press" && post) {
      reply = controlPress(call);
    } else if (route == "/update" && post) {
      reply = controlRawUpdate(call);
    } else if (route == "/calls") {
      withBot([&](BotState& bot) { return listCalls(call, bot); });
    } else if (route == "/wait") {
      withBot([&](BotState& bot) { return waitForChat(call, bot); });
    } else if (route == "/webhook") {
      withBot([&](BotState& bot) { return webhookStats(bot); });
    } else if (std::regex_match(route, match, kChatMessages)) {
      call.pathArg = match[1];
      withBot([&](BotState& bot) { return chatMessages(call, bot); });
    } else if (route == "/faults") {
      if (httpMethod == "DELETE") ctx_.store.clearFaults();
      reply = post ? addFault(call) : controlOk(Json{{"faults", ctx_.store.faultsJson()}});
    } else if (route == "/config") {
      reply = post ? setConfig(call) : controlOk(configJson(ctx_.store.config()));
    } else if (route == "/reset" && post) {
      ctx_.store.reset(paramBool(parsed.params, "drop_webhooks"));
      reply = controlOk();
    }
    if (!call.deferred) out.reply(responder, std::move(reply));
  }
  ctx_.flush(out);
}

}  // namespace botfn::fake_telegram
