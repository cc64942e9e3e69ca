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
      INT_KEY("server.max_connections", server_max_connections, 512,
              "Open HTTP connections at most; more are answered 503 and closed, so file "
              "descriptors cannot run out.",
              1, 1000000),
      STR_KEY("storage.path", storage_path, "data/botfn.db",
              "SQLite database file of the embedded backend (with storage.postgres_url: the "
              "queue's file)."),
      STR_KEY("storage.postgres_url", storage_postgres_url, "",
              "postgresql://user:password@host:port/db: keeps the Store (app tables, "
              "conversations, outbox, dead letters) in PostgreSQL; empty = embedded. DATABASE_URL "
              "is read when this is not set. The password is never logged."),
      STR_KEY("storage.redis_url", storage_redis_url, "",
              "redis://[:password@]host[:port][/db]: puts the inbound queue (the Bus) on Redis "
              "streams; empty = embedded. REDIS_URL is read when this is not set. The password "
              "is never logged."),
      STR_KEY("storage.redis_prefix", storage_redis_prefix, "botfn:",
              "Prefix of every Redis key botfn uses (several deployments may share one Redis)."),
      STR_KEY("storage.instance", storage_instance, "",
              "This instance's name among those sharing one Redis Bus (its partition leases); "
              "empty = host:port. A restart under the same name takes its partitions back at "
              "once."),
      INT_KEY("storage.redis_partitions", storage_redis_partitions, 16,
              "Partitions the lanes are hashed into on Redis, each leased by one instance at a "
              "time (at most this many instances share the work). Every instance must agree.",
              1, 1024),
      INT_KEY("storage.redis_lease_ms", storage_redis_lease_ms, 15000,
              "A partition lease not renewed for this long (its instance died or lost Redis) "
              "passes to another instance, which takes over the pending work of its lanes.",
              300, 600000),
      INT_KEY("storage.max_page_count", storage_max_page_count, 0,
              "Test-only: caps the SQLite file (pages) to provoke a full disk; 0 = no cap.", 0,
              INT64_MAX),
      INT_KEY("storage.busy_timeout_ms", storage_busy_timeout_ms, 5000,
              "How long a write waits for a lock held by another process before it fails as a "
              "storage fault.",
              1, 600000),
      STR_KEY("storage.synchronous", storage_synchronous, "full",
              "full or normal (SQLite PRAGMA synchronous, WAL mode). Both survive a process "
              "crash; only full survives power loss or an OS crash (an fsync per write group)."),
      INT_KEY("storage.retention_processed_h", storage_retention_processed_h, 72,
              "Hours a processed marker is kept (never while its update is still queued).", 1,
              24 * 365),
      INT_KEY("storage.retention_sent_outbox_h", storage_retention_sent_outbox_h, 168,
              "Hours a sent or failed outbox row is kept; an edit of a pruned message's handle "
              "finds no message.",
              1, 24 * 3650),
      INT_KEY("storage.retention_dead_letters_days", storage_retention_dead_letters_days, 30,
              "Days a dead letter is kept (and listed by `botfn dlq list`).", 1, 3650),
      INT_KEY("ingest.max_backlog", ingest_max_backlog, 10000,
              "Writes waiting for the disk above which webhooks answer 503 with Retry-After.", 1,
              10000000),
      INT_KEY("ingest.max_queued_updates", ingest_max_queued_updates, 20000,
              "Queued updates held in memory; at the cap webhooks answer 503 with Retry-After and "
              "the rest of the queue (after a restart, or from long polling) waits on disk.",
              1, 100000000),
      INT_KEY("ingest.max_queued_bytes", ingest_max_queued_bytes, 67108864,
              "Bytes of queued updates held in memory; the same rule as max_queued_updates.",
              1048576, INT64_MAX),
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
      INT_KEY("lua.sql_budget_ms", lua_sql_budget_ms, 500,
              "Time the app's SQL of one update may run: its db.query statements together, and "
              "its db.exec statements together in the commit (on the storage writer). A statement "
              "still running past it is stopped and the update fails (SqlTimeout).",
              1, 60000),
      INT_KEY("lua.sql_max_rows", lua_sql_max_rows, 10000,
              "Rows one db.query may return; more fails the query (SqlTooLarge).", 1, 10000000),
      INT_KEY("lua.sql_max_bytes", lua_sql_max_bytes, 4194304,
              "Bytes one db.query may return (each value counts 8 bytes plus its text); also the "
              "largest value any app statement may make. Past it the statement fails "
              "(SqlTooLarge).",
              1024, 1 << 30),
      INT_KEY("lua.effects_max_writes", lua_effects_max_writes, 1000,
              "db.exec statements one update may record; the next one raises (EffectsTooLarge).", 1,
              1000000),
      INT_KEY("lua.effects_max_messages", lua_effects_max_messages, 100,
              "Messages (Bot API calls) one update may record; the next one raises "
              "(EffectsTooLarge).",
              1, 100000),
      INT_KEY("lua.effects_max_bytes", lua_effects_max_bytes, 4194304,
              "Bytes of SQL text, parameters and message parameters one update may record, "
              "together; past it the recording call raises (EffectsTooLarge).",
              1024, 1 << 30),
      GlobalKey{"dispatch.retry_delays_ms", KeyType::StringList, "[1000, 5000, 25000]",
                "Delays before re-running a handler that failed with a transient error (its lane "
                "waits); after the last one the update is dead-lettered. The retry class of the "
                "error code decides (docs/error-codes.md): a script that does not compile or "
                "breaks the sandbox is dead-lettered at once, a CPU or memory budget kill runs "
                "once more, a storage fault waits (dispatch.storage_retry_min_ms).",
                [](Config& c, const ConfigValue& v) {
                  c.retry_delays_ms.clear();
                  for (const auto& s : v.list) c.retry_delays_ms.push_back(std::stoll(s));
                }},
      INT_KEY("dispatch.storage_retry_min_ms", storage_retry_min_ms, 500,
              "First wait of an update whose commit failed because of the storage (full, locked, "
              "I/O); doubles per fault up to dispatch.storage_retry_max_ms. Such waits do not "
              "count as retries and never dead-letter the update.",
              1, 3600000),
      INT_KEY("dispatch.storage_retry_max_ms", storage_retry_max_ms, 30000,
              "Longest wait of an update for the storage.", 1, 3600000),
      BOOL_KEY("dispatch.paused", dispatch_paused, false,
               "Test-only: lease no updates (crash tests)."),
      BOOL_KEY("sender.paused", sender_paused, false,
               "Test-only: send nothing from the outbox (crash tests)."),
      INT_KEY("sender.max_attempts", sender_max_attempts, 5,
              "Attempts for a message failing with 5xx, transport errors or timeouts after it was "
              "sent (429 retries and requests that never left the client are not counted).",
              1, 100),
      INT_KEY("sender.call_timeout_s", sender_call_timeout_s, 30,
              "HTTP timeout of each Bot API call of the sender. A call still unanswered 30 s "
              "after it is counted as lost: its chat's next messages are not held back, and the "
              "message is sent again.",
              1, 600),
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
