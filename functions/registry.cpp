// The one list of HTTP endpoints.
#include "functions/function_context.hpp"

namespace botfn::functions {

void registerFunctions(ingress::Router& router, std::shared_ptr<const FunctionContext> context) {
  auto bind = [context](auto fn) {
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
