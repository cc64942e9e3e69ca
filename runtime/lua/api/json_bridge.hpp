// JSON <-> Lua values for the api modules: ctx.update and ctx.data are built from JSON, ctx.data
// and keyboard options are read back. Integers beyond ±2^53 become strings so no id is rounded.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

struct lua_State;
namespace simdjson::dom {
class element;
}  // namespace simdjson::dom

namespace botfn::lua {

// Pushes one value for j (tables for objects and arrays; json null becomes nil).
void pushJson(lua_State* L, const nlohmann::json& j);
void pushJson(lua_State* L, simdjson::dom::element e);  // the same values for a simdjson reading
// Converts the value at idx; tables with keys 1..n only become arrays, other tables objects.
// Functions, userdata and cycles raise "<api>: cannot convert <type> to JSON".
nlohmann::json toJson(lua_State* L, int idx, const char* api_name);

}  // namespace botfn::lua
