// Typed configuration of the whole process: defaults < botfn.toml < environment < flags.
// Only the composition root reads it. The one description of every key lives in
// config_schema.cpp and drives validation (unknown keys fail, naming the key and line) and
// docs/config.md.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace botfn::app {

struct BotConfig {
  std::string name;
  std::string app = "demo";
  std::string token;         // resolved from token_env / token_file
  std::string token_source;  // "env BOT_TOKEN", "file /path": for messages, never the token
  std::string secret;        // resolved from secret_env / secret_file
  std::string username;      // without '@'; fetched with getMe when empty
  std::string webhook_url;
  std::vector<std::string> allowed_updates;
  int max_connections = 40;
  std::string error_text;
  nlohmann::json vars = nlohmann::json::object();
};

struct Config {
  std::string server_host = "127.0.0.1";
  int server_port = 8080;
  int server_threads = 2;
  int64_t max_body_bytes = 1 << 20;
  int header_timeout_s = 10;
  int body_timeout_s = 10;
  int server_max_connections = 512;
  std::string storage_postgres_url;  // "" = embedded Store
  std::string storage_redis_url;     // "" = embedded Bus
  std::string storage_redis_prefix = "botfn:";
  std::string storage_instance;  // "" = host:port
  int64_t storage_redis_partitions = 16;
  int64_t storage_redis_lease_ms = 15000;
  std::string storage_path = "data/botfn.db";
  int64_t storage_max_page_count = 0;
  int storage_busy_timeout_ms = 5000;
  std::string storage_synchronous = "full";
  int64_t storage_retention_processed_h = 72;
  int64_t storage_retention_sent_outbox_h = 168;
  int64_t storage_retention_dead_letters_days = 30;
  int64_t ingest_max_backlog = 10000;
  int64_t ingest_max_queued_updates = 20000;
  int64_t ingest_max_queued_bytes = 64 << 20;
  int64_t ingest_dedupe_window_s = 3 * 24 * 3600;
  std::string scripts_dir = "scripts-lua";
  int lua_workers = 2;
  int lua_cpu_budget_ms = 200;
  int lua_memory_mb = 64;
  int lua_update_deadline_s = 30;
  int lua_sql_budget_ms = 500;
  int64_t lua_sql_max_rows = 10000;
  int64_t lua_sql_max_bytes = 4 << 20;
  int64_t lua_effects_max_writes = 1000;
  int64_t lua_effects_max_messages = 100;
  int64_t lua_effects_max_bytes = 4 << 20;
  bool dispatch_paused = false;
  std::vector<int64_t> retry_delays_ms{1000, 5000, 25000};
  int storage_retry_min_ms = 500;
  int storage_retry_max_ms = 30000;
  bool sender_paused = false;
  int sender_max_attempts = 5;
  int sender_call_timeout_s = 30;
  std::string api_base = "https://api.telegram.org";
  bool polling_enabled = false;
  int polling_timeout_s = 30;
  bool polling_delete_webhook = true;
  std::string log_level = "info";
  std::string log_format = "json";
  int shutdown_grace_s = 10;
  std::map<std::string, BotConfig> bots;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ConfigOverrides {
  std::optional<std::filesystem::path> file;  // --config
  std::optional<int> port;
  std::optional<std::string> api_base;
  std::optional<std::string> token_env;  // for the single/first bot
  std::optional<std::string> app;        // for the single/first bot
  std::optional<std::string> db_path;
  std::optional<std::string> scripts_dir;
  // Commands that only read the database or the scripts (check, migrate, dlq) run without a bot
  // token: an operator inspecting dead letters should not need the secret that sends messages.
  bool require_tokens = true;
};

// Loads and validates; throws ConfigError naming the key, its line and what was expected.
Config loadConfig(const ConfigOverrides& overrides);

// Markdown reference of every key (docs/config.md).
std::string configReferenceMarkdown();

}  // namespace botfn::app
