// The composition root: builds every stage from the Config in pipeline order, wires them, runs
// until SIGTERM/SIGINT, then drains in reverse. The only place that knows concrete types.
#pragma once

#include <filesystem>
#include <optional>

#include "app/config.hpp"

namespace botfn::storage {
class AppSql;
}

namespace botfn::app {

struct ServeOptions {
  bool force_polling = false;
  std::optional<std::filesystem::path> port_file;  // written once the HTTP port is bound
};

// Runs the server; returns the process exit code.
int serve(const Config& config, const ServeOptions& options);

// One-shot commands.
int migrate(const Config& config);
int check(const Config& config);
// print: the CLI prints results; serve only logs them.
int webhookCommand(const Config& config, const std::string& action, const std::string& bot,
                   const std::string& url, bool print = true);
int dlqList(const Config& config, size_t limit);

// Shared with `botfn migrate-data` (migrate_data.cpp).
// Applies every configured app's migrations; returns the exit code (2 when one fails).
int migrateApps(const Config& config, storage::AppSql& store);
// Registers the bot tokens and the passwords of the storage URLs as log secrets.
void registerSecrets(const Config& config);
// Registers the password of scheme://user:password@host/... as a log secret.
void registerUrlSecret(const std::string& url);

}  // namespace botfn::app
