// http: outbound requests from scripts, only to the hosts the app lists (app.http_hosts), http
// and https only, no redirects, responses up to 1 MiB, timeout 10 s by default (60 s at most).
// The handler's coroutine is suspended while the request runs on the shared libcurl loop; the
// worker serves other chats meanwhile. Not part of the commit: a retried update calls again.
#include <lua.hpp>

#include <algorithm>
#include <optional>

#include "lua/api/modules.hpp"
#include "lua/api/run_state.hpp"
#include "lua/binding.hpp"

namespace botfn::lua {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Host of an http(s) URL, or "" when the URL is not one we accept.
std::string hostOf(const std::string& url) {
  const std::string l = lower(url);
  size_t start;
  if (l.rfind("http://", 0) == 0) {
    start = 7;
  } else if (l.rfind("https://", 0) == 0) {
    start = 8;
  } else {
    return {};
  }
  const size_t end = l.find_first_of("/?#", start);
  std::string authority =
      l.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (authority.find('@') != std::string::npos) return {};  // no credentials in URLs
  if (!authority.empty() && authority[0] == '[') {          // IPv6 literal
    const size_t close = authority.find(']');
    return close == std::string::npos ? std::string() : authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.find(':'));
}

int refuse(lua_State* L, const std::string& why) {
  lua_pushnil(L);
  pushString(L, "http.request: " + why);
  return 2;
}

/// @lua http.request{url=, method=, headers=, body=, timeout=} -> response | nil, err
/// @context update handler
/// @param url string http:// or https:// URL whose host is listed in the app's http_hosts
/// @param method string? GET (default), POST, PUT, PATCH, DELETE
/// @param headers table? name -> value
/// @param body string? request body
/// @param timeout number? seconds, default 10, at most 60
/// @return table {status=, body=, headers={lowercase name -> value}}
/// @error returns nil, err when refused by policy, on timeouts, transport errors or a body over 1
/// MiB
/// @example local res, err = http.request({ url = "https://api.example.com/v1/status", timeout = 5
/// })
/// @example if not res then return ctx:reply("The service is unavailable: " .. err) end
int httpRequest(lua_State* L) {
  auto* run = hostContextAs<RunState>(L);
  if (!run) return raiseError(L, "http.request: not allowed outside an update handler");
  ArgReader args(L, "http.request");
  const int t = args.table(1, "request");
  std::optional<CallbackScope> nesting(std::in_place, L, "http.request");  // __index may call back
  net::HttpRequest req;
  lua_getfield(L, t, "url");
  req.url = std::string(stringAt(L, -1));
  lua_pop(L, 1);
  if (req.url.empty()) return raiseError(L, "http.request: url is required");
  lua_getfield(L, t, "method");
  req.method = lua_type(L, -1) == LUA_TSTRING ? std::string(stringAt(L, -1)) : "GET";
  lua_pop(L, 1);
  std::transform(req.method.begin(), req.method.end(), req.method.begin(), ::toupper);
  static const char* kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
  if (std::none_of(std::begin(kMethods), std::end(kMethods),
                   [&](const char* m) { return req.method == m; })) {
    return raiseError(L, "http.request: unsupported method '%s'", req.method.c_str());
  }
  lua_getfield(L, t, "body");
  if (lua_type(L, -1) == LUA_TSTRING) req.body = std::string(stringAt(L, -1));
  lua_pop(L, 1);
  lua_getfield(L, t, "headers");
  if (lua_istable(L, -1)) {
    forEachField(L, lua_gettop(L), [&] {
      if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
        std::string name(stringAt(L, -2));
        std::string value(stringAt(L, -1));
        if (name.find_first_of("\r\n:") != std::string::npos ||
            value.find_first_of("\r\n") != std::string::npos) {
          raiseError(L, "http.request: header '%s' contains a line break or colon", name.c_str());
        }
        req.headers.emplace_back(std::move(name), std::move(value));
      }
    });
  }
  lua_pop(L, 1);
  double timeout_s = 10;
  lua_getfield(L, t, "timeout");
  if (lua_type(L, -1) == LUA_TNUMBER) timeout_s = std::clamp(lua_tonumber(L, -1), 0.1, 60.0);
  lua_pop(L, 1);
  nesting.reset();  // the request is read; a yield needs the depth back at 0
  const std::string host = hostOf(req.url);
  if (host.empty())
    return refuse(L, "only http:// and https:// URLs without credentials are allowed");
  if (!run->app->http_hosts.count(host)) {
    return refuse(L, "host '" + host + "' is not in the app's http_hosts");
  }
  const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
      run->deadline - std::chrono::steady_clock::now());
  req.timeout =
      std::min(std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)), remaining);
  if (req.timeout.count() <= 0) return refuse(L, "the update's deadline has passed");
  req.max_response_bytes = 1 << 20;
  if (!canYieldToHost(L)) {
    return raiseError(L,
                      "http.request: cannot wait here (called from inside a callback or a "
                      "coroutine of the script)");
  }
  run->pending_http = std::move(req);
  return yieldToHost(L, "http.request", 0);
}

constexpr luaL_Reg kHttp[] = {{"request", wrap<httpRequest>}, {nullptr, nullptr}};

}  // namespace

const luaL_Reg* httpFunctions() { return kHttp; }

}  // namespace botfn::lua
