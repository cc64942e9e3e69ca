// Loading botfn.toml (the only translation unit with toml++), environment overrides, flags,
// secret resolution and validation.
#include <toml++/toml.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "app/config.hpp"
#include "app/config_schema.hpp"

namespace botfn::app {
namespace {

std::string where(const toml::node& node) {
  const auto& src = node.source();
  return src.begin ? " (line " + std::to_string(src.begin.line) + ")" : "";
}

[[noreturn]] void fail(const std::string& key, const toml::node* node, const std::string& what) {
  throw ConfigError("config key '" + key + "'" + (node ? where(*node) : "") + ": " + what);
}

ConfigValue fromToml(const std::string& key, const toml::node& node, KeyType type) {
  ConfigValue v{type};
  switch (type) {
    case KeyType::Int:
      if (!node.is_integer()) fail(key, &node, "expected an integer");
      v.i = node.as_integer()->get();
      break;
    case KeyType::String:
      if (!node.is_string()) fail(key, &node, "expected a string");
      v.s = node.as_string()->get();
      break;
    case KeyType::Bool:
      if (!node.is_boolean()) fail(key, &node, "expected true or false");
      v.b = node.as_boolean()->get();
      break;
    case KeyType::StringList:
      if (!node.is_array()) fail(key, &node, "expected an array of strings");
      for (const auto& item : *node.as_array()) {
        if (item.is_integer()) {
          v.list.push_back(std::to_string(item.as_integer()->get()));
          continue;
        }
        if (!item.is_string()) fail(key, &item, "expected an array of strings");
        v.list.push_back(item.as_string()->get());
      }
      break;
    case KeyType::Table:
      if (!node.is_table()) fail(key, &node, "expected a table");
      break;
  }
  return v;
}

ConfigValue fromEnv(const std::string& name, const char* text, KeyType type) {
  ConfigValue v{type};
  const std::string s = text;
  if (type == KeyType::Int) {
    char* end = nullptr;
    v.i = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0')
      throw ConfigError("environment " + name + ": expected an integer, got '" + s + "'");
  } else if (type == KeyType::Bool) {
    if (s == "1" || s == "true")
      v.b = true;
    else if (s == "0" || s == "false")
      v.b = false;
    else
      throw ConfigError("environment " + name + ": expected true or false, got '" + s + "'");
  } else if (type == KeyType::StringList) {
    size_t start = 0;
    while (start <= s.size()) {
      const size_t comma = s.find(',', start);
      const std::string item =
          s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) v.list.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else {
    v.s = s;
  }
  return v;
}

void applyGlobal(Config& c, const GlobalKey& k, const ConfigValue& v, const std::string& origin,
                 const toml::node* node) {
  if (std::string_view(k.path) == "dispatch.retry_delays_ms") {
    for (const auto& item : v.list) {
      if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos) {
        const std::string msg = "expected millisecond counts, got '" + item + "'";
        if (node) fail(k.path, node, msg);
        throw ConfigError(origin + ": " + msg);
      }
    }
  }
  if (k.type == KeyType::Int && (v.i < k.min || v.i > k.max)) {
    const std::string range = "expected " + std::to_string(k.min) + ".." + std::to_string(k.max) +
                              ", got " + std::to_string(v.i);
    if (node) fail(k.path, node, range);
    throw ConfigError(origin + ": " + range);
  }
  k.apply(c, v);
}

nlohmann::json toJson(const toml::node& node) {
  if (auto t = node.as_table()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : *t) out[std::string(k.str())] = toJson(v);
    return out;
  }
  if (auto a = node.as_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : *a) out.push_back(toJson(v));
    return out;
  }
  if (auto s = node.as_string()) return s->get();
  if (auto i = node.as_integer()) return i->get();
  if (auto f = node.as_floating_point()) return f->get();
  if (auto b = node.as_boolean()) return b->get();
  return nlohmann::json();
}

std::string readSecretFile(const std::string& key, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("config key '" + key + "': cannot read file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

struct BotSources {
  std::string token_env, token_file, secret_env, secret_file;
};

void loadBot(Config& c, const std::string& name, const toml::table& table, BotSources& src) {
  BotConfig bot;
  bot.name = name;
  for (const auto& [k, node] : table) {
    const std::string key(k.str());
    const std::string path = "bots." + name + "." + key;
    if (key == "token" || key == "secret" || key == "secret_token") {
      fail(path, &node,
           "literal secrets are not allowed in the config file; use " + key.substr(0, 5) +
               (key == "token" ? "_env or token_file" : "_env or secret_file"));
    }
    const BotKey* desc = nullptr;
    for (const auto& bk : botKeys()) {
      if (key == bk.name) desc = &bk;
    }
    if (!desc) fail(path, &node, "unknown key");
    ConfigValue v = fromToml(path, node, desc->type);
    if (key == "vars")
      bot.vars = toJson(node);
    else if (key == "token_env")
      src.token_env = v.s;
    else if (key == "token_file")
      src.token_file = v.s;
    else if (key == "secret_env")
      src.secret_env = v.s;
    else if (key == "secret_file")
      src.secret_file = v.s;
    else
      desc->apply(bot, v);
  }
  c.bots[name] = std::move(bot);
}

void resolveSecrets(Config& c, std::map<std::string, BotSources>& sources, bool require_tokens) {
  static const std::regex kSecret("^[A-Za-z0-9_-]{1,256}$");
  static const std::regex kName("^[A-Za-z0-9_-]{1,64}$");
  for (auto& [name, bot] : c.bots) {
    if (!std::regex_match(name, kName)) {
      throw ConfigError("config key 'bots." + name + "': bot names must match [A-Za-z0-9_-]{1,64}");
    }
    // A folder name under scripts-lua/apps and a metric label value: no path or quote characters.
    static const std::regex kApp("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$");
    if (!std::regex_match(bot.app, kApp)) {
      throw ConfigError("config key 'bots." + name + ".app': app names must match " +
                        "[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}, got '" + bot.app + "'");
    }
    auto& src = sources[name];
    if (!src.token_env.empty()) {
      const char* t = std::getenv(src.token_env.c_str());
      if (t && *t) {
        bot.token = t;
        bot.token_source = "env " + src.token_env;
      }
    }
    if (bot.token.empty() && !src.token_file.empty()) {
      bot.token = readSecretFile("bots." + name + ".token_file", src.token_file);
      bot.token_source = "file " + src.token_file;
    }
    if (bot.token.empty() && require_tokens) {
      throw ConfigError(
          "config key 'bots." + name + ".token_env': no token for bot '" + name + "' (set " +
          (src.token_env.empty() ? "token_env or token_file" : "$" + src.token_env) + ")");
    }
    if (!src.secret_env.empty()) {
      const char* s = std::getenv(src.secret_env.c_str());
      if (s) bot.secret = s;
    }
    if (bot.secret.empty() && !src.secret_file.empty()) {
      bot.secret = readSecretFile("bots." + name + ".secret_file", src.secret_file);
    }
    if (!src.secret_file.empty() && bot.secret.empty()) {
      throw ConfigError("config key 'bots." + name + ".secret_file': the file is empty");
    }
    if (!bot.secret.empty() && !std::regex_match(bot.secret, kSecret)) {
      throw ConfigError("config key 'bots." + name +
                        (src.secret_env.empty() ? ".secret_file" : ".secret_env") +
                        "': the webhook secret must be 1-256 characters of A-Z a-z 0-9 _ -");
    }
    if (bot.max_connections < 1 || bot.max_connections > 100) {
      throw ConfigError("config key 'bots." + name + ".max_connections': expected 1..100");
    }
  }
}

}  // namespace

Config loadConfig(const ConfigOverrides& overrides) {
  Config c;
  std::map<std::string, BotSources> sources;
  std::optional<std::filesystem::path> file = overrides.file;
  if (!file) {
    if (const char* env = std::getenv("BOTFN_CONFIG")) file = env;
  }
  if (file) {
    toml::table root;
    try {
      root = toml::parse_file(file->string());
    } catch (const toml::parse_error& e) {
      throw ConfigError(file->string() + ":" + std::to_string(e.source().begin.line) + ": " +
                        std::string(e.description()));
    }
    for (const auto& [section, node] : root) {
      const std::string sname(section.str());
      if (sname == "bots") {
        if (!node.is_table()) fail("bots", &node, "expected a table of bots");
        for (const auto& [bname, bnode] : *node.as_table()) {
          if (!bnode.is_table())
            fail("bots." + std::string(bname.str()), &bnode, "expected a table");
          loadBot(c, std::string(bname.str()), *bnode.as_table(),
                  sources[std::string(bname.str())]);
        }
        continue;
      }
      auto visit = [&](const std::string& path, const toml::node& n) {
        for (const auto& k : globalKeys()) {
          if (path == k.path) return applyGlobal(c, k, fromToml(path, n, k.type), path, &n);
        }
        fail(path, &n, "unknown key");
      };
      if (node.is_table()) {
        for (const auto& [k, n] : *node.as_table()) visit(sname + "." + std::string(k.str()), n);
      } else {
        visit(sname, node);
      }
    }
  }
  for (const auto& k : globalKeys()) {
    const std::string env = envNameOf(k.path);
    if (const char* text = std::getenv(env.c_str())) {
      applyGlobal(c, k, fromEnv(env, text, k.type), "environment " + env, nullptr);
    }
  }
  // The convention of hosting platforms, below botfn's own key.
  if (c.storage_postgres_url.empty()) {
    if (const char* url = std::getenv("DATABASE_URL")) c.storage_postgres_url = url;
  }
  if (c.storage_redis_url.empty()) {
    if (const char* url = std::getenv("REDIS_URL")) c.storage_redis_url = url;
  }
  if (!c.storage_redis_url.empty() && c.storage_redis_url.rfind("redis://", 0) != 0) {
    throw ConfigError("config key 'storage.redis_url' (or REDIS_URL): expected a redis:// URL");
  }
  if (!c.storage_postgres_url.empty() && c.storage_postgres_url.rfind("postgresql://", 0) != 0 &&
      c.storage_postgres_url.rfind("postgres://", 0) != 0) {
    throw ConfigError(
        "config key 'storage.postgres_url' (or DATABASE_URL): expected a postgresql:// URL");
  }
  if (c.bots.empty()) {  // no bots declared: the demo bot, fed by $BOT_TOKEN
    c.bots["demo"] = BotConfig{};
    c.bots["demo"].name = "demo";
    c.bots["demo"].error_text = "Sorry, something went wrong. Please try again later.";
    sources["demo"].token_env = "BOT_TOKEN";
  }
  if (overrides.port) c.server_port = *overrides.port;
  if (overrides.api_base) c.api_base = *overrides.api_base;
  if (overrides.db_path) c.storage_path = *overrides.db_path;
  if (overrides.scripts_dir) c.scripts_dir = *overrides.scripts_dir;
  auto& first = c.bots.begin()->second;
  if (overrides.token_env)
    sources[first.name] = BotSources{*overrides.token_env, "", sources[first.name].secret_env,
                                     sources[first.name].secret_file};
  if (overrides.app) first.app = *overrides.app;
  resolveSecrets(c, sources, overrides.require_tokens);
  if (c.storage_synchronous != "full" && c.storage_synchronous != "normal") {
    throw ConfigError("config key 'storage.synchronous': expected full or normal, got '" +
                      c.storage_synchronous + "'");
  }
  if (c.log_format != "json" && c.log_format != "text") {
    throw ConfigError("config key 'log.format': expected json or text, got '" + c.log_format + "'");
  }
  return c;
}

std::string configReferenceMarkdown() {
  std::string out =
      "# Configuration reference\n\n"
      "Generated by `botfn docs config` from `runtime/app/config_schema.cpp`; do not edit by "
      "hand.\n\n"
      "Precedence: defaults < `botfn.toml` (`--config` or `$BOTFN_CONFIG`) < environment "
      "(`BOTFN_<SECTION>_<KEY>`) < command-line flags. Unknown keys are errors. Secrets (bot "
      "tokens, webhook secrets) come only from `*_env` or `*_file` keys; a literal secret in the "
      "file is an error.\n\n"
      "## Global keys\n\n| key | type | default | environment | meaning |\n|---|---|---|---|---|\n";
  for (const auto& k : globalKeys()) {
    out += "| `" + std::string(k.path) + "` | " + typeName(k.type) + " | `" + k.default_text +
           "` | `" + envNameOf(k.path) + "` | " + k.description + " |\n";
  }
  out +=
      "\n## Bots: `[bots.<name>]`\n\nWith no `[bots]` table, one bot `demo` runs the `demo` "
      "app with its token from `$BOT_TOKEN`.\n\n| key | type | default | meaning "
      "|\n|---|---|---|---|\n";
  for (const auto& k : botKeys()) {
    out += "| `" + std::string(k.name) + "` | " + typeName(k.type) + " | `" + k.default_text +
           "` | " + k.description + " |\n";
  }
  return out;
}

}  // namespace botfn::app
