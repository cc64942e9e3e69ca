// Conversion in both directions, depth-limited (the inputs passed the 64-level ingress guard;
// script-built tables are capped at the same depth).
#include "lua/api/json_bridge.hpp"

#include <lua.hpp>
#include <simdjson.h>

#include <cmath>

#include "lua/binding.hpp"

namespace botfn::lua {
namespace {

constexpr int kMaxDepth = 64;
constexpr int64_t kMaxExactInt = int64_t{1} << 53;

void pushInteger(lua_State* L, int64_t v) {
  if (v > kMaxExactInt || v < -kMaxExactInt) {
    pushString(L, std::to_string(v));
  } else {
    lua_pushnumber(L, static_cast<lua_Number>(v));
  }
}

void pushUnsigned(lua_State* L, uint64_t v) {
  if (v > static_cast<uint64_t>(kMaxExactInt)) {
    pushString(L, std::to_string(v));
  } else {
    lua_pushnumber(L, static_cast<lua_Number>(v));
  }
}

void push(lua_State* L, const nlohmann::json& j, int depth) {
  luaL_checkstack(L, 4, "json");
  switch (j.type()) {
    case nlohmann::json::value_t::object:
      lua_createtable(L, 0, static_cast<int>(j.size()));
      if (depth < kMaxDepth) {
        for (auto it = j.begin(); it != j.end(); ++it) {
          if (it->is_null()) continue;
          pushString(L, it.key());
          push(L, *it, depth + 1);
          lua_rawset(L, -3);
        }
      }
      break;
    case nlohmann::json::value_t::array: {
      lua_createtable(L, static_cast<int>(j.size()), 0);
      int i = 1;
      if (depth < kMaxDepth) {
        for (const auto& v : j) {
          push(L, v, depth + 1);
          lua_rawseti(L, -2, i++);
        }
      }
      break;
    }
    case nlohmann::json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      lua_pushlstring(L, s.data(), s.size());
      break;
    }
    case nlohmann::json::value_t::boolean:
      lua_pushboolean(L, j.get<bool>());
      break;
    case nlohmann::json::value_t::number_integer:
      pushInteger(L, j.get<int64_t>());
      break;
    case nlohmann::json::value_t::number_unsigned:
      pushUnsigned(L, j.get<uint64_t>());
      break;
    case nlohmann::json::value_t::number_float:
      lua_pushnumber(L, j.get<double>());
      break;
    default:
      lua_pushnil(L);
  }
}

// The same values as push() for the nlohmann reading of the same text.
void pushElement(lua_State* L, simdjson::dom::element e, int depth) {
  namespace dom = simdjson::dom;
  luaL_checkstack(L, 4, "json");
  switch (e.type()) {
    case dom::element_type::OBJECT: {
      const dom::object object = e.get_object().value_unsafe();
      lua_createtable(L, 0, static_cast<int>(object.size()));
      if (depth < kMaxDepth) {
        for (auto field : object) {
          lua_pushlstring(L, field.key.data(), field.key.size());
          // A null removes the key: with duplicate keys the last one wins, as in nlohmann.
          if (field.value.is_null()) {
            lua_pushnil(L);
          } else {
            pushElement(L, field.value, depth + 1);
          }
          lua_rawset(L, -3);
        }
      }
      break;
    }
    case dom::element_type::ARRAY: {
      const dom::array array = e.get_array().value_unsafe();
      lua_createtable(L, static_cast<int>(array.size()), 0);
      int i = 1;
      if (depth < kMaxDepth) {
        for (auto v : array) {
          pushElement(L, v, depth + 1);
          lua_rawseti(L, -2, i++);
        }
      }
      break;
    }
    case dom::element_type::STRING: {
      const std::string_view s = e.get_string().value_unsafe();
      lua_pushlstring(L, s.data(), s.size());
      break;
    }
    case dom::element_type::BOOL:
      lua_pushboolean(L, e.get_bool().value_unsafe());
      break;
    case dom::element_type::INT64:
      pushInteger(L, e.get_int64().value_unsafe());
      break;
    case dom::element_type::UINT64:
      pushUnsigned(L, e.get_uint64().value_unsafe());
      break;
    case dom::element_type::DOUBLE:
      lua_pushnumber(L, e.get_double().value_unsafe());
      break;
    default:
      lua_pushnil(L);
  }
}

nlohmann::json convert(lua_State* L, int idx, const char* api, int depth) {
  if (idx < 0 && idx > LUA_REGISTRYINDEX) idx = lua_gettop(L) + idx + 1;
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      return nullptr;
    case LUA_TBOOLEAN:
      return lua_toboolean(L, idx) != 0;
    case LUA_TNUMBER: {
      const double d = lua_tonumber(L, idx);
      if (std::floor(d) == d && std::fabs(d) <= static_cast<double>(kMaxExactInt)) {
        return static_cast<int64_t>(d);
      }
      if (!std::isfinite(d)) raiseError(L, "%s: cannot convert inf or nan to JSON", api);
      return d;
    }
    case LUA_TSTRING:
      return std::string(stringAt(L, idx));
    case LUA_TTABLE: {
      if (depth >= kMaxDepth)
        raiseError(L, "%s: table nested deeper than %d levels", api, kMaxDepth);
      luaL_checkstack(L, 6, "json");
      const size_t n = lua_objlen(L, idx);
      size_t keys = 0;
      bool all_integer = true;
      forEachField(L, idx, [&] {
        ++keys;
        if (lua_type(L, -2) != LUA_TNUMBER) all_integer = false;
      });
      // A read-only table keeps items 1..n in place, so an array is read raw either way.
      if (keys > 0 && all_integer && keys == n) {
        nlohmann::json arr = nlohmann::json::array();
        for (size_t i = 1; i <= n; ++i) {
          lua_rawgeti(L, idx, static_cast<int>(i));
          arr.push_back(convert(L, -1, api, depth + 1));
          lua_pop(L, 1);
        }
        return arr;
      }
      nlohmann::json obj = nlohmann::json::object();
      forEachField(L, idx, [&] {
        std::string key;
        if (lua_type(L, -2) == LUA_TSTRING) {
          key = std::string(stringAt(L, -2));
        } else if (lua_type(L, -2) == LUA_TNUMBER) {
          lua_pushvalue(L, -2);
          key = lua_tostring(L, -1);
          lua_pop(L, 1);
        } else {
          raiseError(L, "%s: table keys must be strings or numbers", api);
        }
        obj[key] = convert(L, -1, api, depth + 1);
      });
      return obj;
    }
    default:
      raiseError(L, "%s: cannot convert %s to JSON", api, lua_typename(L, lua_type(L, idx)));
  }
  return nullptr;
}

}  // namespace

void pushJson(lua_State* L, const nlohmann::json& j) { push(L, j, 0); }
void pushJson(lua_State* L, simdjson::dom::element e) { pushElement(L, e, 0); }

nlohmann::json toJson(lua_State* L, int idx, const char* api_name) {
  return convert(L, idx, api_name, 0);
}

}  // namespace botfn::lua
