// GET /healthz (the process answers), GET /readyz (storage writable, scripts loaded, not stopping).
#include <nlohmann/json.hpp>

#include "functions/function_context.hpp"

namespace botfn::functions {

void handleHealth(const FunctionContext&, ingress::HttpRequest&, ingress::Responder responder) {
  responder.send(200, R"({"ok":true,"status":"alive"})");
}

void handleReady(const FunctionContext& ctx, ingress::HttpRequest&, ingress::Responder responder) {
  std::string reason;
  if (ctx.shutting_down->load()) {
    reason = "shutting down";
  } else if (ctx.readiness) {
    reason = ctx.readiness();
  }
  const nlohmann::json backends{{"store", ctx.store_kind}, {"bus", ctx.bus_kind}};
  if (reason.empty()) {
    return responder.send(
        200, nlohmann::json{{"ok", true}, {"status", "ready"}, {"backends", backends}}.dump());
  }
  ingress::HttpResponse r;
  r.status = 503;
  r.body = nlohmann::json{{"ok", false}, {"status", reason}, {"backends", backends}}.dump();
  r.headers.emplace_back("Retry-After", "5");
  responder.send(std::move(r));
}

}  // namespace botfn::functions
