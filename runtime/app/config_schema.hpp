// The one description of every configuration key: name, type, default, meaning, and how it is
// applied. Drives validation, environment overrides and docs/config.md.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "app/config.hpp"

namespace botfn::app {

enum class KeyType { Int, String, Bool, StringList, Table };

struct ConfigValue {
  KeyType type;
  int64_t i = 0;
  bool b = false;
  std::string s;
  std::vector<std::string> list;
};

struct GlobalKey {
  const char* path;  // "server.port"
  KeyType type;
  const char* default_text;
  const char* description;
  std::function<void(Config&, const ConfigValue&)> apply;
  int64_t min = INT64_MIN;
  int64_t max = INT64_MAX;
};

struct BotKey {
  const char* name;  // key under [bots.<name>]
  KeyType type;
  const char* default_text;
  const char* description;
  std::function<void(BotConfig&, const ConfigValue&)> apply;
};

const std::vector<GlobalKey>& globalKeys();
const std::vector<BotKey>& botKeys();
// "server.port" → "BOTFN_SERVER_PORT"
std::string envNameOf(const std::string& path);
const char* typeName(KeyType type);

}  // namespace botfn::app
