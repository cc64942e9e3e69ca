// serve: wiring in pipeline order (storage → ingress → dispatcher + Lua → sender), then the
// drain in reverse on SIGTERM/SIGINT, all within shutdown_grace_s.
#include "app/server_app.hpp"

#include <unistd.h>

#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "app/signals.hpp"
#include "app/storage_options.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "effects/run.hpp"
#include "flow/dispatcher.hpp"
#include "functions/function_context.hpp"
#include "ingress/http_server.hpp"
#include "ingress/long_poller.hpp"
#include "lua/app_runtime.hpp"
#include "net/http_client_curl.hpp"
#include "sender/outbox_sender.hpp"
#include "storage/backend.hpp"
#include "telegram/bot_api.hpp"

namespace botfn::app {
namespace {

lua::AppRuntimeOptions luaOptions(const Config& c) {
  lua::AppRuntimeOptions o;
  o.scripts_dir = c.scripts_dir;
  o.cpu_budget = std::chrono::milliseconds(c.lua_cpu_budget_ms);
  o.memory_bytes = static_cast<size_t>(c.lua_memory_mb) << 20;
  o.update_deadline = std::chrono::seconds(c.lua_update_deadline_s);
  o.limits.sql = appSqlBudget(c);
  o.limits.effects.max_writes = static_cast<size_t>(c.lua_effects_max_writes);
  o.limits.effects.max_messages = static_cast<size_t>(c.lua_effects_max_messages);
  o.limits.effects.max_bytes = static_cast<size_t>(c.lua_effects_max_bytes);
  return o;
}

std::set<std::string> appsOf(const Config& c) {
  std::set<std::string> apps;
  for (const auto& [name, bot] : c.bots) apps.insert(bot.app);
  return apps;
}

// Opens the configured backend. A server that is down (a storage fault) is tried again every
// 2 s for up to retry_for, so botfn started together with its database waits for it; anything
// else (a bad URL, a changed migration) fails at once.
std::unique_ptr<storage::Backend> openStorage(const Config& c, Metrics& metrics,
                                              std::chrono::seconds retry_for = {}) {
  const auto until = std::chrono::steady_clock::now() + retry_for;
  while (true) {
    auto backend = storage::openBackend(backendOptionsOf(c), metrics);
    if (backend) return std::move(*backend);
    if (!backend.error().isStorageFault() || std::chrono::steady_clock::now() >= until) {
      throw std::runtime_error("storage: " + backend.error().describe());
    }
    log::get("app")->error("storage: {}; trying again in 2 s", backend.error().describe());
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
}

}  // namespace

int migrateApps(const Config& c, storage::AppSql& store) {
  for (const auto& app : appsOf(c)) {
    const auto dir = std::filesystem::path(c.scripts_dir) / "apps" / app / "migrations";
    auto r = store.migrateApp(app, dir);
    if (!r) {
      log::get("app")->error("migrations of app '{}' failed: {}", app, r.error().describe());
      return 2;
    }
    if (*r > 0) log::get("app")->info("app '{}': applied {} migration(s)", app, *r);
  }
  return 0;
}

// scheme://user:password@host/...: the password never reaches a log line.
void registerUrlSecret(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return;
  const size_t colon = url.find(':', scheme + 3);
  if (colon != std::string::npos && colon < at)
    log::addSecret(url.substr(colon + 1, at - colon - 1));
}

void registerSecrets(const Config& c) {
  for (const auto& [name, bot] : c.bots) {
    log::addSecret(bot.token);
    log::addSecret(bot.secret);
  }
  registerUrlSecret(c.storage_postgres_url);
  registerUrlSecret(c.storage_redis_url);
}

int serve(const Config& c, const ServeOptions& options) {
  auto log = log::get("app");
  registerSecrets(c);
  Metrics& metrics = globalMetrics();
  const bool polling = options.force_polling || c.polling_enabled;

  auto backend = openStorage(c, metrics, std::chrono::seconds(60));
  storage::Store& store = backend->store();
  storage::Bus& bus = backend->bus();
  if (int rc = migrateApps(c, store)) return rc;
  if (auto r = backend->recover(); !r) {
    log->error("queue recovery failed: {}", r.error().describe());
    return 2;
  }

  auto http = net::makeCurlHttpClient({"out"});  // Bot API calls of the sender
  auto lua_http =
      net::makeCurlHttpClient({"lua"});  // http.request of scripts (aborted on a stuck drain)
  auto poll_http = net::makeCurlHttpClient({"poll"});
  std::map<std::string, std::unique_ptr<telegram::BotApi>> apis;
  std::map<std::string, std::unique_ptr<telegram::BotApi>> poll_apis;
  std::map<std::string, std::shared_ptr<const effects::BotProfile>> profiles;
  for (const auto& [name, bot] : c.bots) {
    apis[name] = std::make_unique<telegram::BotApi>(*http, c.api_base, bot.token);
    poll_apis[name] = std::make_unique<telegram::BotApi>(*poll_http, c.api_base, bot.token);
    std::string username = bot.username;
    if (username.empty()) {
      auto me = apis[name]->callSync("getMe", nlohmann::json::object(), std::chrono::seconds(10));
      const auto& result = me.result();
      if (me.ok && result.is_object() && result.contains("username") &&
          result["username"].is_string()) {
        username = result["username"].get<std::string>();
      } else {
        log->warn("bot {}: getMe failed ({} {}); commands addressed as /cmd@name will be ignored",
                  name, me.error_code, me.description);
      }
    }
    profiles[name] = std::make_shared<effects::BotProfile>(
        effects::BotProfile{name, bot.app, username, bot.vars, bot.error_text});
  }

  const auto lua_options = luaOptions(c);
  for (const auto& app : appsOf(c)) {
    if (auto r = lua::checkApp(lua_options, app); !r) {
      log->error("app '{}' does not load: {}", app, r.error().describe());
      std::fprintf(stderr, "botfn: app '%s' does not load: %s\n", app.c_str(),
                   r.error().detail.c_str());
      return 2;
    }
  }
  auto factory =
      lua::makeExecutorFactory(lua_options, lua::HostServices{&store, lua_http.get(), &metrics});

  flow::DispatcherOptions dispatch_options;
  dispatch_options.workers = c.lua_workers;
  dispatch_options.paused = c.dispatch_paused;
  dispatch_options.retry_delays.clear();
  for (auto ms : c.retry_delays_ms) dispatch_options.retry_delays.emplace_back(ms);
  dispatch_options.storage_retry_min = std::chrono::milliseconds(c.storage_retry_min_ms);
  dispatch_options.storage_retry_max = std::chrono::milliseconds(c.storage_retry_max_ms);
  flow::Dispatcher dispatcher(
      dispatch_options, bus, store, store, factory,
      [&profiles](const std::string& bot) -> std::shared_ptr<const effects::BotProfile> {
        auto it = profiles.find(bot);
        return it == profiles.end() ? nullptr : it->second;
      },
      metrics);
  dispatcher.start();

  sender::SenderOptions sender_options;
  sender_options.paused = c.sender_paused;
  sender_options.max_attempts = c.sender_max_attempts;
  sender_options.call_timeout = std::chrono::seconds(c.sender_call_timeout_s);
  sender::OutboxSender sender(
      sender_options, store,
      [&apis](const std::string& bot) -> telegram::BotApi* {
        auto it = apis.find(bot);
        return it == apis.end() ? nullptr : it->second.get();
      },
      metrics, bus);
  sender.start();

  std::atomic<bool> shutting_down{false};
  auto fc = std::make_shared<functions::FunctionContext>();
  for (const auto& [name, bot] : c.bots) {
    fc->bots[name] = functions::WebhookBot{name, bot.secret, profiles[name]->username};
    if (bot.secret.empty() && !polling) {
      log->warn(
          "bot {} has NO webhook secret: anyone who knows the URL can inject updates; "
          "set secret_env or secret_file",
          name);
    }
  }
  fc->inbox = &bus;
  fc->metrics = &metrics;
  fc->shutting_down = &shutting_down;
  fc->max_backlog = static_cast<size_t>(c.ingest_max_backlog);
  const size_t max_backlog = fc->max_backlog;
  fc->readiness = [&bus, storage = backend.get(), max_backlog]() -> std::string {
    // Updates wait while the storage fails (full, locked, I/O): not ready until a write commits.
    if (auto fault = storage->currentFault()) return "storage failing: " + fault->describe();
    if (auto fault = bus.fault()) return "bus failing: " + fault->describe();
    return bus.writeBacklog() >= max_backlog ? "storage backlog is full" : "";
  };
  const std::string kind = backendOptionsOf(c).kind;
  fc->store_kind = kind.rfind("postgres", 0) == 0 ? "postgres" : "sqlite";
  fc->bus_kind = kind.find("redis") != std::string::npos ? "redis" : "embedded";
  auto router = std::make_shared<ingress::Router>();
  functions::registerFunctions(*router, fc);
  ingress::HttpServerOptions server_options;
  server_options.host = c.server_host;
  server_options.port = static_cast<uint16_t>(c.server_port);
  server_options.threads = c.server_threads;
  server_options.max_body_bytes = static_cast<size_t>(c.max_body_bytes);
  server_options.header_timeout = std::chrono::seconds(c.header_timeout_s);
  server_options.body_timeout = std::chrono::seconds(c.body_timeout_s);
  server_options.max_connections = static_cast<size_t>(c.server_max_connections);
  auto server = std::make_unique<ingress::HttpServer>(server_options, router, metrics);
  server->start();
  if (options.port_file) {
    const auto tmp = options.port_file->string() + ".tmp";
    std::ofstream(tmp) << server->port() << "\n";
    std::filesystem::rename(tmp, *options.port_file);
  }
  log->info("botfn serving on {}:{} ({} bot(s), {})", c.server_host, server->port(), c.bots.size(),
            polling ? "long polling" : "webhook");

  std::vector<std::unique_ptr<ingress::LongPoller>> pollers;
  for (const auto& [name, bot] : c.bots) {
    if (polling) {
      pollers.push_back(std::make_unique<ingress::LongPoller>(
          ingress::LongPollerOptions{name, profiles[name]->username, c.polling_timeout_s,
                                     c.polling_delete_webhook, bot.allowed_updates},
          *poll_apis[name], bus, metrics));
      pollers.back()->start();
    } else if (!bot.webhook_url.empty()) {
      webhookCommand(c, "set", name, "", /*print=*/false);  // serve never writes to stdout
    }
  }

  waitForStopSignal();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(c.shutdown_grace_s);
  shutting_down = true;
  poll_http->abortAll();
  for (auto& p : pollers) p->stop();
  bool drained = dispatcher.stop(deadline);
  if (!drained) {
    // Runs still suspended on outbound HTTP: fail those calls so the runs end (their updates stay
    // queued and run again after the restart).
    lua_http->abortAll();
    drained = dispatcher.stop(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  }
  const bool sent = sender.stop(deadline);
  if (!drained || !sent) {
    log->warn("shutdown grace ended with work in flight; it stays queued for the next start");
    // A worker still holds a run, or a Bot API call is in flight: its completion would run on a
    // sender, dispatcher or store torn down under it. Every update and outbox row is durable (an
    // unrecorded send goes out again after the restart), so leave at once.
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
    _exit(0);
  }
  // Pistache's shutdown can hang while clients hold connections open: bound it.
  auto stopped = std::async(std::launch::async, [&server] { server->shutdown(); });
  if (stopped.wait_for(std::chrono::seconds(3)) != std::future_status::ready) {
    log->warn("HTTP server did not stop in time; exiting anyway");
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
    _exit(0);
  }
  log->info("botfn stopped");
  return 0;
}

int migrate(const Config& c) {
  registerSecrets(c);
  auto backend = openStorage(c, globalMetrics());
  return migrateApps(c, backend->store());
}

int check(const Config& c) {
  int rc = 0;
  for (const auto& app : appsOf(c)) {
    if (auto r = lua::checkApp(luaOptions(c), app); !r) {
      std::fprintf(stderr, "%s\n", r.error().detail.c_str());
      rc = 1;
    } else {
      std::printf("app '%s': ok\n", app.c_str());
    }
  }
  return rc;
}

int webhookCommand(const Config& c, const std::string& action, const std::string& bot_name,
                   const std::string& url, bool print) {
  registerSecrets(c);
  auto http = net::makeCurlHttpClient({"cli"});
  int rc = 0;
  for (const auto& [name, bot] : c.bots) {
    if (!bot_name.empty() && name != bot_name) continue;
    telegram::BotApi api(*http, c.api_base, bot.token);
    telegram::ApiResponse r;
    if (action == "set") {
      nlohmann::json params{{"url", url.empty() ? bot.webhook_url : url},
                            {"max_connections", bot.max_connections},
                            {"allowed_updates", bot.allowed_updates}};
      if (!bot.secret.empty()) params["secret_token"] = bot.secret;
      r = api.callSync("setWebhook", params);
    } else if (action == "delete") {
      r = api.callSync("deleteWebhook", nlohmann::json::object());
    } else {
      r = api.callSync("getWebhookInfo", nlohmann::json::object());
    }
    if (r.ok) {
      if (print) std::printf("%s: %s\n", name.c_str(), r.result().dump().c_str());
      log::get("app")->info("bot {}: {} webhook: {}", name, action, r.result().dump());
    } else {
      if (print) {
        std::fprintf(stderr, "%s: %s failed: %d %s\n", name.c_str(), action.c_str(), r.error_code,
                     log::redact(r.description).c_str());
      }
      log::get("app")->error("bot {}: {} webhook failed: {} {}", name, action, r.error_code,
                             r.description);
      rc = 1;
    }
  }
  return rc;
}

int dlqList(const Config& c, size_t limit) {
  registerSecrets(c);
  auto backend = openStorage(c, globalMetrics());
  auto rows = backend->store().deadLetters(limit);
  if (!rows) {
    std::fprintf(stderr, "%s\n", rows.error().describe().c_str());
    return 1;
  }
  for (const auto& d : *rows) {
    nlohmann::json j{{"id", d.id},     {"bot", d.bot},     {"update_id", d.update_id},
                     {"lane", d.lane}, {"kind", d.kind},   {"attempts", d.attempts},
                     {"at", d.at},     {"error", d.error}, {"traceback", d.traceback}};
    std::printf("%s\n", j.dump().c_str());
  }
  if (rows->empty()) std::fprintf(stderr, "no dead letters\n");
  return 0;
}

}  // namespace botfn::app
