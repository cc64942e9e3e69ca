// ctx tables are built from the update's simdjson document; they must equal the tables built from
// the nlohmann reading of the same text (the bridge both directions used before): every captured
// update, plus the edge values (big integers, nulls, duplicate keys, escapes).
#include "lua/api/json_bridge.hpp"

#include <gtest/gtest.h>
#include <lua.hpp>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "telegram/update_document.hpp"

namespace botfn::lua {
namespace {

std::string describe(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TSTRING && lua_type(L, idx) != LUA_TNUMBER)
    return lua_typename(L, lua_type(L, idx));
  lua_pushvalue(L, idx);  // lua_tostring converts a number in place: never on a key lua_next uses
  std::string out = lua_tostring(L, -1);
  lua_pop(L, 1);
  return out;
}

// Deep equality of the values at a and b (absolute indexes); on a difference, where says where.
bool sameValue(lua_State* L, int a, int b, std::string path, std::string& where) {
  if (lua_type(L, a) != lua_type(L, b)) {
    where = path + ": " + describe(L, a) + " vs " + describe(L, b);
    return false;
  }
  if (lua_type(L, a) != LUA_TTABLE) {
    if (lua_rawequal(L, a, b)) return true;
    where = path + ": " + describe(L, a) + " vs " + describe(L, b);
    return false;
  }
  size_t keys_a = 0;
  lua_pushnil(L);
  while (lua_next(L, a) != 0) {
    ++keys_a;
    const int value_a = lua_gettop(L);
    const std::string key = describe(L, value_a - 1);
    lua_pushvalue(L, value_a - 1);
    lua_rawget(L, b);
    if (!sameValue(L, value_a, lua_gettop(L), path + "." + key, where)) {
      lua_settop(L, value_a - 2);
      return false;
    }
    lua_pop(L, 2);
  }
  size_t keys_b = 0;
  lua_pushnil(L);
  while (lua_next(L, b) != 0) {
    ++keys_b;
    lua_pop(L, 1);
  }
  if (keys_a != keys_b)
    where = path + ": " + std::to_string(keys_a) + " vs " + std::to_string(keys_b) + " keys";
  return keys_a == keys_b;
}

void expectSameTables(const std::string& text) {
  lua_State* L = luaL_newstate();
  auto doc = telegram::UpdateDocument::parse(text, 1000);
  ASSERT_TRUE(doc) << text;
  pushJson(L, nlohmann::json::parse(text));
  pushJson(L, (*doc)->root());
  std::string where;
  EXPECT_TRUE(sameValue(L, 1, 2, "$", where)) << where << "\n" << text;
  lua_close(L);
}

TEST(JsonBridgeTest, SimdjsonAndNlohmannBuildTheSameTablesForEveryCapturedUpdate) {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(BOTFN_TEST_DATA_DIR) +
                                                           "/telegram-updates")) {
    if (e.path().extension() != ".json") continue;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    expectSameTables(ss.str());
    ++files;
  }
  EXPECT_EQ(files, 66);
}

TEST(JsonBridgeTest, EdgeValuesBuildTheSameTables) {
  for (
      const char* text : {
          R"({"a":9007199254740993,"b":-9007199254740993,"c":18446744073709551615,"d":9007199254740992})",
          R"({"big":123456789012345678901234567890,"f":1.5e300,"neg":-0.0})",
          R"({"a":null,"b":[1,null,3],"c":{"d":null}})",
          R"({"a":1,"a":2,"b":{"x":1},"b":null,"c":null,"c":"back"})",
          R"({"s":"\u00e9\ud83d\ude00\"\\\/\n","":"empty key","t":true,"f":false})",
          R"([[],{},[[]],{"a":{}}])",
      }) {
    expectSameTables(text);
  }
}

}  // namespace
}  // namespace botfn::lua
