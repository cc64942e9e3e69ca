// The host state of one update's run, reachable from every api module through
// hostContextAs<RunState>(L): the input, the effects being recorded, the app it runs in and the
// pending asynchronous operation. Owned by the executor (lua/app_runtime.cpp).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "core/metrics.hpp"
#include "effects/effect_limits.hpp"
#include "effects/run.hpp"
#include "lua/binding.hpp"
#include "lua/ref.hpp"
#include "net/http_client.hpp"
#include "storage/app_sql.hpp"

namespace botfn::lua {

struct HostServices {
  storage::AppSql* sql = nullptr;  // db.query (app writes ride the update's commit)
  net::HttpClient* http = nullptr;
  Metrics* metrics = nullptr;
};

// What an app declared when it loaded (main.lua's returned table), fixed for the VM's lifetime.
struct AppInstance {
  std::string name;
  Ref app;                              // the app table (has :handle and :enter_state)
  Ref handle;                           // app.handle
  std::set<std::string> http_hosts;     // hosts http.request may reach
  std::map<std::string, Ref> catalogs;  // language -> its i18n table
  std::string default_lang = "en";
};

// What one run may use (config lua.sql_*, lua.effects_*), copied from the runtime's options.
struct RunLimits {
  storage::AppSqlBudget sql;
  effects::EffectLimits effects;
};

struct RunState {
  const effects::RunInput* input = nullptr;
  effects::Effects effects;
  AppInstance* app = nullptr;
  HostServices* services = nullptr;
  std::string lang;
  int data_ref = -2;  // registry ref of ctx.data once a script touched it
  std::chrono::steady_clock::time_point deadline;
  std::optional<net::HttpRequest> pending_http;  // set by http.request before it yields
  RunLimits limits;
  std::chrono::steady_clock::duration sql_used{};  // db.query time so far, against limits.sql
  // The last failure an API raised with its own code (raiseFailure): a run that ends with that
  // error fails with this code, not LuaRuntime, so the error table's retry class applies.
  std::optional<Error> raised;
};

// Raises `message` (prefixed with the script's file:line) and remembers its code in the run.
inline int raiseFailure(lua_State* L, RunState& run, ErrorCode code, const std::string& message) {
  run.raised = Error{code, message};
  return raiseError(L, "%s", message.c_str());
}

// The code a run that failed with `message` fails with.
inline ErrorCode failureCode(const RunState& run, const std::string& message) {
  if (!run.raised) return ErrorCode::LuaRuntime;
  const auto& raised = run.raised->detail;
  const bool same = message.size() >= raised.size() &&
                    message.compare(message.size() - raised.size(), raised.size(), raised) == 0;
  return same ? run.raised->code : ErrorCode::LuaRuntime;
}

}  // namespace botfn::lua
