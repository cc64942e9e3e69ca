// POST /tg/<bot>/webhook: verify the secret, validate the envelope, push durably, then answer.
// Any JSON object with an integer update_id gets 200 (a 4xx would stall that chat at Telegram);
// the 200 is sent only after the update is durable, a failed or refused write answers 503.
#include <openssl/crypto.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "functions/function_context.hpp"
#include "telegram/update_envelope.hpp"

namespace botfn::functions {
namespace {

std::string errorBody(ErrorCode code) {
  return nlohmann::json{
      {"ok", false}, {"error", errorInfo(code).name}, {"description", errorInfo(code).message}}
      .dump();
}

void count(const FunctionContext& ctx, const std::string& bot, int status) {
  if (auto it = ctx.bots.find(bot); it != ctx.bots.end()) {
    if (auto c = it->second.status_counters.find(status); c != it->second.status_counters.end()) {
      c->second->fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  ctx.metrics->counter("botfn_ingress_requests_total", "bot=\"" + labelValue(bot) + "\",status=\"" +
                                                           std::to_string(status) + "\"")++;
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
  const auto secret = request.header("x-telegram-bot-api-secret-token");
  if (!secretMatches(bot->second.secret, secret ? &*secret : nullptr)) {
    return refuse(ctx, bot_name, responder, ErrorCode::Unauthorized);
  }
  // One SAX pass: validation (JSON, object, depth ≤ 64, integer update_id) plus kind and lane.
  auto envelope = telegram::parseEnvelope(request.body);
  if (!envelope) return refuse(ctx, bot_name, responder, envelope.error().code);
  if (ctx.inbox->writeBacklog() >= ctx.max_backlog) {
    ctx.metrics->counter("botfn_ingress_backlog_refused_total", "bot=\"" + bot_name + "\"")++;
    return refuse(ctx, bot_name, responder, ErrorCode::Backlog, 1);
  }
  // The queue's memory window is full (ingest.max_queued_updates / max_queued_bytes), or entries
  // already wait on disk behind it: Telegram keeps the update and retries.
  if (ctx.inbox->queueLoad().full) {
    ctx.metrics->counter("botfn_ingress_queue_refused_total", "bot=\"" + bot_name + "\"")++;
    return refuse(ctx, bot_name, responder, ErrorCode::Backlog, 1);
  }
  const int64_t update_id = envelope->update_id;
  storage::InboundUpdate item{bot_name, update_id, std::move(envelope->lane),
                              std::move(envelope->kind), std::move(request.body)};
  std::vector<storage::InboundUpdate> batch;
  batch.push_back(std::move(item));
  // The completion runs on the storage writer, possibly after the server stopped: it holds the
  // context it uses.
  std::shared_ptr<const FunctionContext> c = ctx.shared_from_this();
  const auto started = std::chrono::steady_clock::now();
  ctx.inbox->push(
      std::move(batch), std::nullopt,
      [c = std::move(c), bot_name, responder, id = update_id,
       started](Result<std::vector<storage::PushOutcome>> r) {
        c->durable_latency->observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        if (!r) {
          log::get("ingress")->error("update {} not stored: {}", id, r.error().describe());
          return refuse(*c, bot_name, responder, r.error().code, 1);
        }
        if (r->at(0) == storage::PushOutcome::Duplicate) {
          c->bots.at(bot_name).duplicates->fetch_add(1, std::memory_order_relaxed);
        }
        count(*c, bot_name, 200);
        responder.send(200, R"({"ok":true})");
      });
}

}  // namespace botfn::functions
