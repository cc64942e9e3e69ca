// Config loading: precedence, unknown keys with their line, secrets only from env/files.
#include "app/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "app/storage_options.hpp"

namespace botfn::app {
namespace {

std::string write(const std::string& text) {
  static int n = 0;
  const std::string path = ::testing::TempDir() + "/botfn_config_" + std::to_string(getpid()) +
                           "_" + std::to_string(n++) + ".toml";
  std::ofstream(path) << text;
  return path;
}

std::string errorOf(const std::string& toml) {
  ConfigOverrides o;
  o.file = write(toml);
  try {
    loadConfig(o);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigTest, DefaultsTomlEnvFlags) {
  setenv("TEST_BOT_TOKEN", "1:AAA", 1);
  setenv("BOTFN_SERVER_THREADS", "3", 1);
  ConfigOverrides o;
  o.file = write(
      "[server]\nport = 9000\nthreads = 1\n[bots.a]\ntoken_env = "
      "\"TEST_BOT_TOKEN\"\n[bots.a.vars]\nsupport = \"@x\"\n");
  o.port = 9100;
  const Config c = loadConfig(o);
  unsetenv("BOTFN_SERVER_THREADS");
  EXPECT_EQ(c.server_port, 9100);  // flag beats toml
  EXPECT_EQ(c.server_threads, 3);  // env beats toml
  EXPECT_EQ(c.lua_cpu_budget_ms, 200);
  ASSERT_EQ(c.bots.count("a"), 1u);
  EXPECT_EQ(c.bots.at("a").token, "1:AAA");
  EXPECT_EQ(c.bots.at("a").vars["support"], "@x");
}

TEST(ConfigTest, UnknownKeyNamesKeyAndLine) {
  const auto e = errorOf("[server]\nport = 1\nprot = 2\n");
  EXPECT_NE(e.find("server.prot"), std::string::npos) << e;
  EXPECT_NE(e.find("line 3"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key"), std::string::npos) << e;
}

TEST(ConfigTest, WrongTypeSaysWhatWasExpected) {
  const auto e = errorOf("[server]\nport = \"80\"\n");
  EXPECT_NE(e.find("server.port"), std::string::npos) << e;
  EXPECT_NE(e.find("expected an integer"), std::string::npos) << e;
}

TEST(ConfigTest, LiteralSecretIsAnError) {
  const auto e = errorOf("[bots.a]\ntoken = \"1:AAA\"\n");
  EXPECT_NE(e.find("literal secrets are not allowed"), std::string::npos) << e;
}

TEST(ConfigTest, BadWebhookSecretIsAnError) {
  setenv("TEST_BOT_TOKEN", "1:AAA", 1);
  setenv("TEST_BAD_SECRET", "has space", 1);
  const auto e =
      errorOf("[bots.a]\ntoken_env = \"TEST_BOT_TOKEN\"\nsecret_env = \"TEST_BAD_SECRET\"\n");
  EXPECT_NE(e.find("A-Z a-z 0-9 _ -"), std::string::npos) << e;
  setenv("TEST_BAD_SECRET", std::string(257, 'a').c_str(), 1);
  EXPECT_NE(errorOf("[bots.a]\ntoken_env = \"TEST_BOT_TOKEN\"\nsecret_env = \"TEST_BAD_SECRET\"\n")
                .find("1-256"),
            std::string::npos);
}

TEST(ConfigTest, MissingTokenNamesTheVariable) {
  unsetenv("NO_SUCH_TOKEN_VAR");
  const auto e = errorOf("[bots.a]\ntoken_env = \"NO_SUCH_TOKEN_VAR\"\n");
  EXPECT_NE(e.find("NO_SUCH_TOKEN_VAR"), std::string::npos) << e;
}

TEST(ConfigTest, OutOfRange) {
  const auto e = errorOf("[lua]\nworkers = 0\n");
  EXPECT_NE(e.find("lua.workers"), std::string::npos) << e;
}

TEST(ConfigTest, TomlSyntaxErrorHasLine) {
  const auto e = errorOf("[server\nport = 1\n");
  EXPECT_NE(e.find(":1:"), std::string::npos) << e;
}

// The production backends are chosen by their URLs (botfn's keys, else DATABASE_URL and
// REDIS_URL); a URL of the wrong kind names its key and never echoes the URL (it may hold a
// password).
TEST(ConfigTest, BackendUrlsPickTheKindAndAWrongOneNamesItsKey) {
  setenv("TEST_BOT_TOKEN", "1:AAA", 1);
  const std::string bot = "[bots.a]\ntoken_env = \"TEST_BOT_TOKEN\"\n";
  ConfigOverrides o;
  o.file = write(bot);
  EXPECT_EQ(backendOptionsOf(loadConfig(o)).kind, "sqlite");
  setenv("DATABASE_URL", "postgresql://u:pw@127.0.0.1:5432/db", 1);
  EXPECT_EQ(backendOptionsOf(loadConfig(o)).kind, "postgres");
  setenv("REDIS_URL", "redis://127.0.0.1:6379", 1);
  const auto both = backendOptionsOf(loadConfig(o));
  EXPECT_EQ(both.kind, "postgres+redis");
  EXPECT_EQ(both.postgres.url, "postgresql://u:pw@127.0.0.1:5432/db");
  unsetenv("DATABASE_URL");
  EXPECT_EQ(backendOptionsOf(loadConfig(o)).kind, "sqlite+redis");
  unsetenv("REDIS_URL");

  const auto e = errorOf(bot + "[storage]\npostgres_url = \"mysql://u:secret@h/db\"\n");
  EXPECT_NE(e.find("storage.postgres_url"), std::string::npos) << e;
  EXPECT_EQ(e.find("secret"), std::string::npos) << e;
  setenv("REDIS_URL", "http://:secret@h", 1);
  const auto r = errorOf(bot);
  unsetenv("REDIS_URL");
  EXPECT_NE(r.find("storage.redis_url"), std::string::npos) << r;
  EXPECT_EQ(r.find("secret"), std::string::npos) << r;
}

}  // namespace
}  // namespace botfn::app
