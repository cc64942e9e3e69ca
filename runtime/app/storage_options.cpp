// Config → storage::BackendOptions (see storage_options.hpp).
#include "app/storage_options.hpp"

#include <unistd.h>

namespace botfn::app {
namespace {

// Unique among instances on one host and stable across restarts (so a restart takes its
// partitions back at once); with port 0 (tests) the pid stands in for the port.
std::string defaultInstanceName(const Config& c) {
  char host[256] = {};
  const std::string name = gethostname(host, sizeof host - 1) == 0 && host[0] ? host : "botfn";
  return name + ":" +
         (c.server_port ? std::to_string(c.server_port) : "pid" + std::to_string(getpid()));
}

}  // namespace

storage::BackendOptions backendOptionsOf(const Config& c) {
  storage::BackendOptions o;
  const bool postgres = !c.storage_postgres_url.empty(), redis = !c.storage_redis_url.empty();
  o.kind = postgres ? (redis ? "postgres+redis" : "postgres") : (redis ? "sqlite+redis" : "sqlite");
  o.postgres.url = c.storage_postgres_url;
  o.redis_url = c.storage_redis_url;
  o.redis_prefix = c.storage_redis_prefix;
  o.instance = c.storage_instance.empty() ? defaultInstanceName(c) : c.storage_instance;
  o.redis_partitions = static_cast<size_t>(c.storage_redis_partitions);
  o.redis_lease_ms = c.storage_redis_lease_ms;
  o.embedded.path = c.storage_path;
  o.embedded.max_page_count = c.storage_max_page_count;
  o.embedded.read_connections = 4;
  o.embedded.busy_timeout_ms = c.storage_busy_timeout_ms;
  // loadConfig accepts only "full" and "normal".
  o.embedded.sync_every_commit = c.storage_synchronous != "normal";
  o.dedupe_window_s = c.ingest_dedupe_window_s;
  o.retention.processed_s = c.storage_retention_processed_h * 3600;
  o.retention.sent_outbox_s = c.storage_retention_sent_outbox_h * 3600;
  o.retention.dead_letters_s = c.storage_retention_dead_letters_days * 86400;
  o.window.max_updates = static_cast<size_t>(c.ingest_max_queued_updates);
  o.window.max_bytes = static_cast<size_t>(c.ingest_max_queued_bytes);
  o.app_sql = appSqlBudget(c);
  return o;
}

storage::AppSqlBudget appSqlBudget(const Config& c) {
  return storage::AppSqlBudget{std::chrono::milliseconds(c.lua_sql_budget_ms),
                               static_cast<size_t>(c.lua_sql_max_rows),
                               static_cast<size_t>(c.lua_sql_max_bytes)};
}

}  // namespace botfn::app
