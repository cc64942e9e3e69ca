// Bot API dispatcher for /bot<TOKEN>/<method>: token check, case-insensitive method lookup,
// injected faults, strict flood limits, call logging and latency. Method bodies live in
// bot_api_messages.cpp and bot_api_updates.cpp. Used by http_server and webhook_delivery.
#pragma once

#include <optional>
#include <string>

#include "store.hpp"

namespace botfn::fake_telegram {

// Everything a method implementation gets; it runs under the store lock.
struct ApiCall {
  ServerContext& ctx;
  BotState& bot;
  const Json& params;
  ResponderPtr responder;
  Outbox& out;
  std::optional<int64_t> chatId;  // chat the call touched, for the call log and /control/wait
  bool deferred = false;          // the method answers later itself (long poll)
};

class BotApi {
 public:
  explicit BotApi(ServerContext& ctx) : ctx_(ctx) {}

  void handle(const std::string& token, const std::string& method, const ParsedParams& params,
              const ResponderPtr& responder);
  // Runs a method named in a webhook response body ({"method":...}); the result is discarded.
  void handleWebhookReply(const std::string& token, const Json& body);

 private:
  ServerContext& ctx_;
};

// Method implementations (bot_api_updates.cpp).
HttpReply apiGetMe(ApiCall& call);
HttpReply apiGetUpdates(ApiCall& call);
HttpReply apiSetWebhook(ApiCall& call);
HttpReply apiDeleteWebhook(ApiCall& call);
HttpReply apiGetWebhookInfo(ApiCall& call);
HttpReply apiAnswerCallbackQuery(ApiCall& call);
HttpReply apiSetMyCommands(ApiCall& call);
HttpReply apiGetMyCommands(ApiCall& call);
HttpReply apiDeleteMyCommands(ApiCall& call);
HttpReply apiLogOut(ApiCall& call);
// Method implementations (bot_api_messages.cpp).
HttpReply apiSendMessage(ApiCall& call);
HttpReply apiSendPhoto(ApiCall& call);
HttpReply apiEditMessageText(ApiCall& call);
HttpReply apiEditMessageReplyMarkup(ApiCall& call);
HttpReply apiDeleteMessage(ApiCall& call);
HttpReply apiSendChatAction(ApiCall& call);

}  // namespace botfn::fake_telegram
