// The composition root: builds every stage from the Config in pipeline order, wires them, runs
// until SIGTERM/SIGINT, then drains in reverse. The only place that knows concrete types.
#pragma once

#include <filesystem>
#include <optional>

#include "app/config.hpp"

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

}  // namespace botfn::app
