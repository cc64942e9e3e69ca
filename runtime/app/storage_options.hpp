// The storage settings of the configuration (storage.*, ingest.* keys): which backend, the
// embedded database, retention, the queue's windows and the app SQL budget. Used by serve() and
// the read-only commands, and by tests that check a key reaches the backend.
#pragma once

#include "app/config.hpp"
#include "storage/backend_options.hpp"

namespace botfn::app {

storage::BackendOptions backendOptionsOf(const Config& c);
// lua.sql_*: what an app's SQL may use per update (also the Lua runtime's db.query bounds).
storage::AppSqlBudget appSqlBudget(const Config& c);

}  // namespace botfn::app
