// The Bot API dispatcher declared in bot_api.hpp: method table, fault and flood checks, call
// logging, and running methods returned in webhook response bodies.
#include "bot_api.hpp"

#include <map>

#include "limits.hpp"
#include "text_utils.hpp"

namespace botfn::fake_telegram {
namespace {

struct MethodEntry {
  const char* name;
  HttpReply (*fn)(ApiCall&);
  bool floodLimited;  // counted by --strict-limits
};

const std::map<std::string, MethodEntry>& methodTable() {
  static const std::map<std::string, MethodEntry> table = [] {
    const MethodEntry entries[] = {
        {"getMe", apiGetMe, false},
        {"getUpdates", apiGetUpdates, false},
        {"setWebhook", apiSetWebhook, false},
        {"deleteWebhook", apiDeleteWebhook, false},
        {"getWebhookInfo", apiGetWebhookInfo, false},
        {"answerCallbackQuery", apiAnswerCallbackQuery, false},
        {"setMyCommands", apiSetMyCommands, false},
        {"getMyCommands", apiGetMyCommands, false},
        {"deleteMyCommands", apiDeleteMyCommands, false},
        {"logOut", apiLogOut, false},
        {"close", apiLogOut, false},
        {"sendMessage", apiSendMessage, true},
        {"sendPhoto", apiSendPhoto, true},
        {"editMessageText", apiEditMessageText, true},
        {"editMessageReplyMarkup", apiEditMessageReplyMarkup, true},
        {"deleteMessage", apiDeleteMessage, false},
        {"sendChatAction", apiSendChatAction, false},
    };
    std::map<std::string, MethodEntry> m;
    for (const auto& e : entries) m.emplace(toLower(e.name), e);
    return m;
  }();
  return table;
}

// A responder that discards the answer (methods run from a webhook response body).
class NullResponder : public Responder {
 public:
  void send(HttpReply) override {}
};

}  // namespace

void BotApi::handle(const std::string& token, const std::string& method, const ParsedParams& parsed,
                    const ResponderPtr& responder) {
  Outbox out;
  {
    auto lock = ctx_.store.lock();
    Store& store = ctx_.store;
    std::chrono::milliseconds latency(store.config().latencyMs);
    BotState* bot = store.findBot(token);
    if (bot == nullptr) {
      out.reply(responder, apiError(401, "Unauthorized"), latency);
    } else {
      const Json& params = parsed.params;
      auto it = methodTable().find(toLower(method));
      std::string name = it == methodTable().end() ? method : it->second.name;
      std::optional<int64_t> chatId = paramInt(params, "chat_id");
      std::optional<HttpReply> reply;
      if (it == methodTable().end()) {
        reply = apiError(404, "Not Found: method not found");
      } else if (!parsed.error.empty()) {
        reply = apiError(400, parsed.error);
      } else if (auto fault = store.takeFault(token, name)) {
        reply = faultReply(*fault);
      } else if (store.config().strictLimits && it->second.floodLimited) {
        int retryAfter = takeRateSlot(*bot, chatId, std::chrono::steady_clock::now());
        if (retryAfter > 0) {
          reply = apiError(429, "Too Many Requests: retry after " + std::to_string(retryAfter),
                           retryAfter);
        }
      }
      if (!reply) {
        ApiCall call{ctx_, *bot, params, responder, out, chatId, false};
        HttpReply result = it->second.fn(call);
        chatId = call.chatId;
        if (!call.deferred) reply = std::move(result);
      }
      if (reply) store.answerApiCall(*bot, responder, name, params, chatId, std::move(*reply), out);
    }
  }
  ctx_.flush(out);
}

void BotApi::handleWebhookReply(const std::string& token, const Json& body) {
  if (!body.is_object() || !body.contains("method") || !body["method"].is_string()) return;
  std::string method = body["method"].get<std::string>();
  std::string lower = toLower(method);
  if (lower.rfind("get", 0) == 0 || lower == "setwebhook" || lower == "deletewebhook" ||
      lower == "close" || lower == "logout") {
    return;
  }
  ParsedParams parsed;
  for (auto& [key, value] : body.items()) {
    if (key != "method") parsed.params[key] = value;
  }
  handle(token, method, parsed, std::make_shared<NullResponder>());
}

}  // namespace botfn::fake_telegram
