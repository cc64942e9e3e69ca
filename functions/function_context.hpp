// What the HTTP functions may use, handed over by the composition root: the bots they serve,
// the inbound bus, metrics and the server's lifecycle flags. Functions verify, normalise and hand
// over; they hold no business logic.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/metrics.hpp"
#include "ingress/router.hpp"
#include "storage/inbox.hpp"

namespace botfn::functions {

struct WebhookBot {
  std::string name;
  std::string secret;    // "" = no secret (allowed with a start-up warning)
  std::string username;  // without '@', to recognise "/cmd@username"
  // Counters resolved once by registerFunctions(): no label strings or registry lock per request.
  std::map<int, std::atomic<uint64_t>*> status_counters;
  std::atomic<uint64_t>* duplicates = nullptr;
};

// Shared: a function's completion (a webhook answered once its update is durable, on the storage
// writer's thread) holds it, so it outlives the router and the server that handed it out.
struct FunctionContext : std::enable_shared_from_this<FunctionContext> {
  std::map<std::string, WebhookBot> bots;
  storage::Inbox* inbox = nullptr;
  Metrics* metrics = nullptr;
  const std::atomic<bool>* shutting_down = nullptr;
  size_t max_backlog = 10000;
  // /readyz: "" when ready, otherwise the reason.
  std::function<std::string()> readiness;
  // /readyz names the backends: "sqlite" or "postgres"; "embedded" or "redis".
  std::string store_kind = "sqlite", bus_kind = "embedded";
  Histogram* durable_latency = nullptr;  // request → durable, set by registerFunctions()
};

// Registers every endpoint (functions/registry.cpp is the one list).
void registerFunctions(ingress::Router& router, std::shared_ptr<FunctionContext> context);

// Individual functions, one file each.
void handleWebhook(const FunctionContext& ctx, ingress::HttpRequest& request,
                   ingress::Responder responder);
void handleHealth(const FunctionContext& ctx, ingress::HttpRequest& request,
                  ingress::Responder responder);
void handleReady(const FunctionContext& ctx, ingress::HttpRequest& request,
                 ingress::Responder responder);
void handleMetrics(const FunctionContext& ctx, ingress::HttpRequest& request,
                   ingress::Responder responder);

// Constant-time comparison of the secret header (length differences are not hidden).
bool secretMatches(const std::string& expected, const std::string* given);

}  // namespace botfn::functions
