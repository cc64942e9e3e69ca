// The one list of HTTP endpoints.
#include "functions/function_context.hpp"

namespace botfn::functions {

void registerFunctions(ingress::Router& router, std::shared_ptr<FunctionContext> context) {
  for (auto& [name, bot] : context->bots) {
    for (int status : {200, 400, 401, 404, 413, 503}) {
      bot.status_counters[status] = &context->metrics->counter(
          "botfn_ingress_requests_total",
          "bot=\"" + name + "\",status=\"" + std::to_string(status) + "\"");
    }
    bot.duplicates =
        &context->metrics->counter("botfn_ingress_duplicates_total", "bot=\"" + name + "\"");
  }
  context->durable_latency = &context->metrics->histogram("botfn_ingress_durable_seconds");
  std::shared_ptr<const FunctionContext> frozen = context;
  auto bind = [context = frozen](auto fn) {
    return [context, fn](ingress::HttpRequest& req, ingress::Responder res) {
      fn(*context, req, std::move(res));
    };
  };
  router.add("POST", "/tg/:bot/webhook", bind(handleWebhook));
  router.add("GET", "/healthz", bind(handleHealth));
  router.add("GET", "/readyz", bind(handleReady));
  router.add("GET", "/metrics", bind(handleMetrics));
}

}  // namespace botfn::functions
