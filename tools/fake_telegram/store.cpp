// Store basics: bots, config, faults, reset, the call log and /control/wait waiters
// (update queue operations live in update_queue.cpp).
#include "store.hpp"

#include <algorithm>

#include "scheduler.hpp"
#include "text_utils.hpp"

namespace botfn::fake_telegram {
namespace {

Json callToJson(const CallRecord& call) {
  Json j = Json::object();
  j["seq"] = call.seq;
  j["method"] = call.method;
  j["params"] = call.params;
  j["status"] = call.status;
  j["ok"] = call.ok;
  j["time"] = call.time;
  if (call.chatId) j["chat_id"] = *call.chatId;
  // The log keeps answers as text (a DOM per call cost more than the call itself); the control
  // API reads them back rarely.
  Json response;
  if (call.status != 0) {
    response = Json::parse(call.response, nullptr, false);
    if (response.is_discarded()) response = Json(call.response);
  }
  if (!call.ok) {
    std::string description = "connection dropped (injected fault)";
    if (call.status != 0) {
      const auto d = response.is_object() ? response.find("description") : response.end();
      description = d != response.end() && d->is_string() ? d->get<std::string>() : "";
    }
    j["description"] = description;
  }
  j["response"] = std::move(response);
  return j;
}

}  // namespace

void ServerContext::flush(Outbox& out) { out.flush(scheduler, wakeDelivery); }

Store::Store(RuntimeConfig startup)
    : startupConfig_(startup), config_(startup), rng_(std::random_device{}()) {}

BotState* Store::findBot(const std::string& token) {
  auto it = bots_.find(token);
  return it == bots_.end() ? nullptr : it->second.get();
}

BotState& Store::registerBot(const std::string& token, const std::string& username,
                             const std::string& firstName) {
  auto& slot = bots_[token];
  if (!slot) {
    slot = std::make_unique<BotState>();
    slot->token = token;
    slot->id = parseInt64(token.substr(0, token.find(':'))).value_or(0);
    slot->nextUpdateId = 100000000 + static_cast<int64_t>(rng_() % 800000000);
    slot->username = "test_" + std::to_string(slot->id) + "_bot";
    slot->firstName = "Test Bot";
  }
  if (!username.empty()) slot->username = username;
  if (!firstName.empty()) slot->firstName = firstName;
  return *slot;
}

std::vector<BotState*> Store::bots() {
  std::vector<BotState*> out;
  for (auto& [token, bot] : bots_) out.push_back(bot.get());
  return out;
}

Json Store::faultsJson() const {
  Json list = Json::array();
  for (const auto& f : faults_) {
    Json j = Json::object();
    if (!f.token.empty()) j["token"] = f.token;
    j["method"] = f.method;
    if (f.dropConnection) {
      j["drop_connection"] = true;
    } else {
      j["error_code"] = f.errorCode;
      j["description"] = f.description;
      if (f.retryAfter > 0) j["retry_after"] = f.retryAfter;
    }
    j["count"] = f.remaining;
    list.push_back(std::move(j));
  }
  return list;
}

std::optional<FaultSpec> Store::takeFault(const std::string& token, const std::string& method) {
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (!it->token.empty() && it->token != token) continue;
    if (it->method != "*" && !equalsIgnoreCase(it->method, method)) continue;
    FaultSpec taken = *it;
    if (--it->remaining <= 0) faults_.erase(it);
    return taken;
  }
  return std::nullopt;
}

void Store::reset(bool dropWebhooks) {
  faults_.clear();
  config_ = startupConfig_;
  for (auto& [token, bot] : bots_) {
    bot->calls.clear();
    for (auto& [id, chat] : bot->chats) chat.messages.clear();
    bot->callbacks.clear();
    bot->updates.clear();
    bot->chatBuckets.clear();
    bot->globalBucket = RateBucket{};
    WebhookState fresh;
    if (!dropWebhooks) {
      fresh.url = bot->webhook.url;
      fresh.secret = bot->webhook.secret;
      fresh.maxConnections = bot->webhook.maxConnections;
    }
    bot->webhook = fresh;
    if (dropWebhooks) bot->allowedUpdates = nullptr;
  }
}

void Store::keepMessage(ChatState& chat, int64_t messageId, StoredMessage message) {
  chat.messages[messageId] = std::move(message);
  // Message ids grow per chat, so the map's first entry is the oldest.
  while (chat.messages.size() > std::max<size_t>(config_.maxMessagesPerChat, 1)) {
    chat.messages.erase(chat.messages.begin());
  }
}

bool Store::isChatChangingMethod(const std::string& method) {
  static const char* const kMethods[] = {"sendMessage",     "sendPhoto",
                                         "editMessageText", "editMessageReplyMarkup",
                                         "deleteMessage",   "answerCallbackQuery"};
  for (const char* m : kMethods) {
    if (method == m) return true;
  }
  return false;
}

const CallRecord& Store::recordCall(BotState& bot, CallRecord record, Outbox& out) {
  record.seq = bot.nextSeq++;
  record.time = unixTimeNow();
  bot.calls.push_back(std::move(record));
  while (bot.calls.size() > std::max<size_t>(config_.maxCalls, 1)) bot.calls.pop_front();
  const CallRecord& stored = bot.calls.back();
  if (stored.chatId && isChatChangingMethod(stored.method)) {
    auto& waiters = bot.chatWaiters;
    for (auto it = waiters.begin(); it != waiters.end();) {
      if (it->chatId == *stored.chatId && stored.seq > it->afterSeq) {
        Json body = callsJson(bot, it->afterSeq, it->chatId, "");
        body["timeout"] = false;
        out.reply(it->responder, controlOk(body));
        it = waiters.erase(it);
      } else {
        ++it;
      }
    }
  }
  return stored;
}

void Store::answerApiCall(BotState& bot, const ResponderPtr& responder, const std::string& method,
                          const Json& params, std::optional<int64_t> chatId, HttpReply reply,
                          Outbox& out) {
  CallRecord record;
  record.method = method;
  record.params = params;
  record.status = reply.dropConnection ? 0 : reply.status;
  record.ok = !reply.dropConnection && reply.status == 200;
  record.chatId = chatId;
  if (!reply.dropConnection) record.response = reply.body;
  recordCall(bot, std::move(record), out);
  out.reply(responder, std::move(reply), std::chrono::milliseconds(config_.latencyMs));
}

Json Store::callsJson(const BotState& bot, int64_t since, std::optional<int64_t> chatId,
                      const std::string& method) const {
  Json list = Json::array();
  for (const auto& call : bot.calls) {
    if (call.seq <= since) continue;
    if (chatId && (call.chatId != chatId || !isChatChangingMethod(call.method))) continue;
    if (!method.empty() && !equalsIgnoreCase(method, call.method)) continue;
    list.push_back(callToJson(call));
  }
  Json body = Json::object();
  body["calls"] = std::move(list);
  body["last_seq"] = bot.nextSeq - 1;
  return body;
}

void Store::expireChatWaiter(const std::string& token, uint64_t id, Outbox& out) {
  BotState* bot = findBot(token);
  if (bot == nullptr) return;
  auto& waiters = bot->chatWaiters;
  auto it =
      std::find_if(waiters.begin(), waiters.end(), [&](const ChatWaiter& w) { return w.id == id; });
  if (it == waiters.end()) return;
  Json body = callsJson(*bot, it->afterSeq, it->chatId, "");
  body["timeout"] = true;
  out.reply(it->responder, controlOk(body));
  waiters.erase(it);
}

}  // namespace botfn::fake_telegram
