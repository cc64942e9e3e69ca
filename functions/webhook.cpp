// POST /tg/<bot>/webhook: verify the secret, validate the envelope, push durably, then answer.
// Any JSON object with an integer update_id gets 200 (a 4xx would stall that chat at Telegram);
// the 200 is sent only after the update is durable, a failed or refused write answers 503.
#include <openssl/crypto.h>

#include <chrono>

#include "core/json_guard.hpp"
#include "core/log.hpp"
#include "functions/function_context.hpp"
#include "telegram/update.hpp"

namespace botfn::functions {
namespace {

std::string errorBody(ErrorCode code) {
  return nlohmann::json{{"ok", false}, {"error", errorInfo(code).name},
                        {"description", errorInfo(code).message}}
      .dump();
}

void count(const FunctionContext& ctx, const std::string& bot, int status) {
  ctx.metrics->counter("botfn_ingress_requests_total",
                       "bot=\"" + bot + "\",status=\"" + std::to_string(status) + "\"")++;
}

void refuse(const FunctionContext& ctx, const std::string& bot, const ingress::Responder& res,
            ErrorCode code, int retry_after = 0) {
  ingress::HttpResponse r;
  r.status = errorInfo(code).http_status;
  r.body = errorBody(code);
  if (retry_after > 0) r.headers.emplace_back("Retry-After", std::to_string(retry_after));
  count(ctx, bot, r.status);
  res.send(std::move(r));
}

}  // namespace

bool secretMatches(const std::string& expected, const std::string* given) {
  if (expected.empty()) return true;
  if (!given || given->size() != expected.size()) return false;
  return CRYPTO_memcmp(expected.data(), given->data(), expected.size()) == 0;
}

void handleWebhook(const FunctionContext& ctx, ingress::HttpRequest& request,
                   ingress::Responder responder) {
  const std::string& bot_name = request.params.at(0);
  auto bot = ctx.bots.find(bot_name);
  if (bot == ctx.bots.end()) return refuse(ctx, "", responder, ErrorCode::UnknownBot);
  if (ctx.shutting_down->load()) {
    return refuse(ctx, bot_name, responder, ErrorCode::ShuttingDown, 5);
  }
  if (!secretMatches(bot->second.secret, request.header("x-telegram-bot-api-secret-token"))) {
    return refuse(ctx, bot_name, responder, ErrorCode::Unauthorized);
  }
  auto json = parseJsonGuarded(request.body);
  if (!json) return refuse(ctx, bot_name, responder, json.error().code);
  auto update_id = telegram::updateIdOf(*json);
  if (!update_id) return refuse(ctx, bot_name, responder, update_id.error().code);
  if (ctx.bus->writeBacklog() >= ctx.max_backlog) {
    ctx.metrics->counter("botfn_ingress_backlog_refused_total", "bot=\"" + bot_name + "\"")++;
    return refuse(ctx, bot_name, responder, ErrorCode::Backlog, 1);
  }
  const auto update = telegram::parseUpdate(*json, bot->second.username);
  storage::InboundUpdate item{bot_name, *update_id, update.lane, update.kind,
                              std::move(request.body)};
  std::vector<storage::InboundUpdate> batch;
  batch.push_back(std::move(item));
  const FunctionContext* c = &ctx;
  const auto started = std::chrono::steady_clock::now();
  ctx.bus->push(std::move(batch), std::nullopt,
                [c, bot_name, responder, id = *update_id, started](
                    Result<std::vector<storage::PushOutcome>> r) {
                  c->metrics->histogram("botfn_ingress_durable_seconds")
                      .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
                  if (!r) {
                    log::get("ingress")->error("update {} not stored: {}", id, r.error().describe());
                    return refuse(*c, bot_name, responder, r.error().code, 1);
                  }
                  if (r->at(0) == storage::PushOutcome::Duplicate) {
                    c->metrics->counter("botfn_ingress_duplicates_total",
                                        "bot=\"" + bot_name + "\"")++;
                  }
                  count(*c, bot_name, 200);
                  responder.send(200, R"({"ok":true})");
                });
}

}  // namespace botfn::functions
