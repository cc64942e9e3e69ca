// Every configuration key, in one table.
#include "app/config_schema.hpp"

#include <cctype>

namespace botfn::app {

const char* typeName(KeyType type) {
  switch (type) {
    case KeyType::Int:
      return "integer";
    case KeyType::String:
      return "string";
    case KeyType::Bool:
      return "boolean";
    case KeyType::StringList:
      return "array of strings";
    case KeyType::Table:
      return "table";
  }
  return "?";
}

std::string envNameOf(const std::string& path) {
  std::string out = "BOTFN_";
  for (char c : path)
    out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

#define INT_KEY(path, field, def, desc, lo, hi)                                                 \
  GlobalKey {                                                                                   \
    path, KeyType::Int, #def, desc,                                                             \
        [](Config& c, const ConfigValue& v) { c.field = static_cast<decltype(c.field)>(v.i); }, \
        lo, hi                                                                                  \
  }
#define STR_KEY(path, field, def, desc)                                                      \
  GlobalKey {                                                                                \
    path, KeyType::String, def, desc, [](Config& c, const ConfigValue& v) { c.field = v.s; } \
  }
#define BOOL_KEY(path, field, def, desc)                                                    \
  GlobalKey {                                                                               \
    path, KeyType::Bool, #def, desc, [](Config& c, const ConfigValue& v) { c.field = v.b; } \
  }

const std::vector<GlobalKey>& globalKeys() {
  static const std::vector<GlobalKey> keys = {
      STR_KEY("server.host", server_host, "127.0.0.1",
              "Address the HTTP server binds (put nginx with TLS in front)."),
      INT_KEY("server.port", server_port, 8080, "HTTP port; 0 picks a free port (tests).", 0,
              65535),
      INT_KEY("server.threads", server_threads, 2, "HTTP reactor threads.", 1, 64),
      INT_KEY("server.max_body_bytes", max_body_bytes, 1048576,
              "Largest accepted request body; larger gets 413 and the connection is closed.", 1024,
              64 << 20),
      INT_KEY("server.header_timeout_s", header_timeout_s, 10,
              "Seconds allowed to receive request headers.", 1, 600),
      INT_KEY("server.body_timeout_s", body_timeout_s, 10,
              "Seconds allowed to receive a request body.", 1, 600),
      STR_KEY("storage.path", storage_path, "data/botfn.db",
              "SQLite database file of the embedded backend."),
      INT_KEY("storage.max_page_count", storage_max_page_count, 0,
              "Test-only: caps the SQLite file (pages) to provoke a full disk; 0 = no cap.", 0,
              INT64_MAX),
      INT_KEY("ingest.max_backlog", ingest_max_backlog, 10000,
              "Writes waiting for the disk above which webhooks answer 503 with Retry-After.", 1,
              10000000),
      INT_KEY("ingest.dedupe_window_s", ingest_dedupe_window_s, 259200,
              "Seconds an update_id is remembered per bot to drop repeats.", 60, 30 * 86400),
      STR_KEY("lua.scripts_dir", scripts_dir, "scripts-lua", "Folder with lib/ and apps/."),
      INT_KEY("lua.workers", lua_workers, 2, "Worker threads, one Lua VM each.", 1, 256),
      INT_KEY("lua.cpu_budget_ms", lua_cpu_budget_ms, 200,
              "CPU time one update's Lua may run (time suspended on I/O is not counted).", 1,
              60000),
      INT_KEY("lua.memory_mb", lua_memory_mb, 64,
              "Memory cap per Lua VM; a VM that hits it is recycled.", 4, 4096),
      INT_KEY("lua.update_deadline_s", lua_update_deadline_s, 30,
              "Wall-clock bound for one update, suspended I/O included.", 1, 3600),
      GlobalKey{"dispatch.retry_delays_ms", KeyType::StringList, "[1000, 5000, 25000]",
                "Delays before re-running a failed handler (its lane waits); after the last one "
                "the update is dead-lettered.",
                [](Config& c, const ConfigValue& v) {
                  c.retry_delays_ms.clear();
                  for (const auto& s : v.list) c.retry_delays_ms.push_back(std::stoll(s));
                }},
      BOOL_KEY("dispatch.paused", dispatch_paused, false,
               "Test-only: lease no updates (crash tests)."),
      BOOL_KEY("sender.paused", sender_paused, false,
               "Test-only: send nothing from the outbox (crash tests)."),
      INT_KEY("sender.max_attempts", sender_max_attempts, 5,
              "Attempts for a message failing with 5xx, transport errors or timeouts after it was "
              "sent (429 retries and requests that never left the client are not counted).",
              1, 100),
      STR_KEY("telegram.api_base", api_base, "https://api.telegram.org",
              "Bot API base URL (the fake Bot API in tests)."),
      BOOL_KEY("polling.enabled", polling_enabled, false,
               "Use long polling (getUpdates) instead of the webhook."),
      INT_KEY("polling.timeout_s", polling_timeout_s, 30,
              "getUpdates long-poll timeout; the HTTP timeout is this + 10 s.", 0, 50),
      BOOL_KEY("polling.delete_webhook", polling_delete_webhook, true,
               "On 409 because a webhook is set, call deleteWebhook and go on polling."),
      STR_KEY("log.level", log_level, "info", "trace, debug, info, warn, error."),
      STR_KEY("log.format", log_format, "json", "json (one object per line) or text."),
      INT_KEY("shutdown_grace_s", shutdown_grace_s, 10,
              "Seconds SIGTERM waits for in-flight work before exiting.", 0, 600),
  };
  return keys;
}

const std::vector<BotKey>& botKeys() {
  static const std::vector<BotKey> keys = {
      {"app", KeyType::String, "demo",
       "App folder under scripts-lua/apps (several bots may share one).",
       [](BotConfig& b, const ConfigValue& v) { b.app = v.s; }},
      {"token_env", KeyType::String, "", "Environment variable holding the bot token.",
       [](BotConfig&, const ConfigValue&) {}},
      {"token_file", KeyType::String, "", "File holding the bot token.",
       [](BotConfig&, const ConfigValue&) {}},
      {"secret_env", KeyType::String, "",
       "Environment variable holding the webhook secret token ([A-Za-z0-9_-]{1,256}).",
       [](BotConfig&, const ConfigValue&) {}},
      {"secret_file", KeyType::String, "", "File holding the webhook secret token.",
       [](BotConfig&, const ConfigValue&) {}},
      {"username", KeyType::String, "", "Bot username without @ (fetched with getMe when empty).",
       [](BotConfig& b, const ConfigValue& v) { b.username = v.s; }},
      {"webhook_url", KeyType::String, "",
       "Public HTTPS URL; when set, setWebhook is called at start.",
       [](BotConfig& b, const ConfigValue& v) { b.webhook_url = v.s; }},
      {"allowed_updates", KeyType::StringList, "[]",
       "Update kinds Telegram should send ([] = all but chat_member and reactions).",
       [](BotConfig& b, const ConfigValue& v) { b.allowed_updates = v.list; }},
      {"max_connections", KeyType::Int, "40", "setWebhook max_connections (1-100).",
       [](BotConfig& b, const ConfigValue& v) { b.max_connections = static_cast<int>(v.i); }},
      {"error_text", KeyType::String, "", "Sent to the user when their update is dead-lettered.",
       [](BotConfig& b, const ConfigValue& v) { b.error_text = v.s; }},
      {"vars", KeyType::Table, "{}", "Read-only values the app sees as ctx.bot.vars.",
       [](BotConfig&, const ConfigValue&) {}},
  };
  return keys;
}

}  // namespace botfn::app
