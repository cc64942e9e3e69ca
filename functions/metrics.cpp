// GET /metrics: Prometheus text exposition of every counter.
#include "functions/function_context.hpp"

namespace botfn::functions {

void handleMetrics(const FunctionContext& ctx, ingress::HttpRequest&,
                   ingress::Responder responder) {
  if (ctx.inbox)
    ctx.metrics->gauge("botfn_queue_depth").store(static_cast<int64_t>(ctx.inbox->depth()));
  if (ctx.inbox) {
    ctx.metrics->gauge("botfn_write_backlog")
        .store(static_cast<int64_t>(ctx.inbox->writeBacklog()));
  }
  responder.send(200, ctx.metrics->render(), "text/plain; version=0.0.4");
}

}  // namespace botfn::functions
