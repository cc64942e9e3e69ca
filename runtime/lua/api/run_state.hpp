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
#include "effects/run.hpp"
#include "lua/ref.hpp"
#include "net/http_client.hpp"
#include "storage/store.hpp"

namespace botfn::lua {

struct HostServices {
  storage::Store* store = nullptr;
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

struct RunState {
  const effects::RunInput* input = nullptr;
  effects::Effects effects;
  AppInstance* app = nullptr;
  HostServices* services = nullptr;
  std::string lang;
  int data_ref = -2;  // registry ref of ctx.data once a script touched it
  std::chrono::steady_clock::time_point deadline;
  std::optional<net::HttpRequest> pending_http;  // set by http.request before it yields
};

}  // namespace botfn::lua
