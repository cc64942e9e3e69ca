// The seam between the dispatcher (flow/) and whatever runs an update (the Lua app in lua/):
// RunInput in, RunOutcome out, through an Executor confined to one worker thread.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "effects/effects.hpp"
#include "storage/types.hpp"
#include "telegram/update.hpp"
#include "telegram/update_document.hpp"

namespace botfn::effects {

struct BotProfile {
  std::string name;        // config key, e.g. "demo"
  std::string app;         // app folder name under scripts-lua/apps
  std::string username;    // bot username without '@'
  nlohmann::json vars;     // read-only ctx.bot.vars
  std::string error_text;  // sent to the user when an update is dead-lettered
};

struct RunInput {
  std::shared_ptr<const BotProfile> bot;
  storage::QueueEntry entry;
  telegram::Update update;
  std::shared_ptr<const telegram::UpdateDocument> update_doc;  // the update's JSON, for ctx
  storage::Conversation conversation;
  int attempt = 1;
};

struct RunOutcome {
  bool ok = false;
  Effects effects;
  Error error;            // when !ok
  std::string traceback;  // when !ok: where the script failed
};

// Posts work onto the worker thread that owns the executor (used to resume after async I/O).
using Post = std::function<void(std::function<void()>)>;

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs the update; done is called exactly once on the worker thread (possibly later, after
  // suspended I/O). Several runs may be in progress at once (different lanes).
  // The input stays owned by the caller's job (shared, so retries reuse it without copying the
  // update's JSON).
  virtual void run(std::shared_ptr<const RunInput> input, std::function<void(RunOutcome)> done) = 0;
  virtual size_t active() const = 0;
};

using ExecutorFactory = std::function<std::unique_ptr<Executor>(Post post)>;

}  // namespace botfn::effects
