// The Lua side of the run seam: an effects::Executor per worker that owns one sandboxed VM, loads
// each app (main.lua, its i18n catalogs) into it lazily, and runs every update as a coroutine of
// that VM — suspended while http.request waits, resumed through the worker's mailbox.
// Created through makeExecutorFactory() by the composition root; checkApp() validates an app at
// start-up and for `botfn check`.
#pragma once

#include <chrono>
#include <filesystem>

#include "core/error.hpp"
#include "effects/run.hpp"
#include "lua/api/run_state.hpp"

namespace botfn::lua {

struct AppRuntimeOptions {
  std::filesystem::path scripts_dir = "scripts-lua";
  std::chrono::milliseconds cpu_budget{200};
  size_t memory_bytes = size_t{64} << 20;
  std::chrono::seconds update_deadline{30};
  RunLimits limits;  // app SQL and recorded effects per update
};

effects::ExecutorFactory makeExecutorFactory(AppRuntimeOptions options, HostServices services);

// Loads the app in a scratch VM (on a big-stack thread): syntax, module chunks, the shape of
// the returned app, catalogs. The error names file:line.
Result<void> checkApp(const AppRuntimeOptions& options, const std::string& app);

}  // namespace botfn::lua
