// Issue 7, item 15: the writer always ran PRAGMA synchronous=NORMAL, which loses the last commits
// on power loss although a 2xx promised the update was stored. storage.synchronous chooses; the
// default is full.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "app/config.hpp"
#include "app/storage_options.hpp"
#include "core/metrics.hpp"
#include "storage/sqlite/sqlite_backend.hpp"

namespace botfn::app {
namespace {

int64_t synchronousOf(const Config& c) {
  Metrics metrics;
  auto options = storage::sqlite::sqliteOptionsOf(backendOptionsOf(c).embedded);
  std::filesystem::remove(options.path);
  std::filesystem::remove(options.path.string() + "-wal");
  std::filesystem::remove(options.path.string() + "-shm");
  storage::sqlite::SqliteDb db(options, metrics);
  int64_t value = -1;
  EXPECT_TRUE(db.writeSync([&](sqlite3* sql) -> Result<void> {
    storage::sqlite::Stmt s(sql, "PRAGMA synchronous");
    if (s.step() == SQLITE_ROW) value = s.int64(0);
    return {};
  }));
  return value;
}

Config load(const std::string& toml) {
  const std::string path =
      ::testing::TempDir() + "/botfn_sync_" + std::to_string(getpid()) + ".toml";
  std::ofstream(path) << toml << "[bots.a]\ntoken_env = \"SYNC_TEST_TOKEN\"\n";
  setenv("SYNC_TEST_TOKEN", "1:AAA", 1);
  ConfigOverrides o;
  o.file = path;
  o.db_path = ::testing::TempDir() + "/botfn_sync_" + std::to_string(getpid()) + ".db";
  return loadConfig(o);
}

TEST(Issue7SynchronousFixedNormal, DefaultIsFull) {
  EXPECT_EQ(synchronousOf(load("")), 2);  // FULL
}

TEST(Issue7SynchronousFixedNormal, ConfigValueReachesTheConnection) {
  EXPECT_EQ(synchronousOf(load("[storage]\nsynchronous = \"normal\"\n")), 1);  // NORMAL
  EXPECT_EQ(synchronousOf(load("[storage]\nsynchronous = \"full\"\n")), 2);
  setenv("BOTFN_STORAGE_SYNCHRONOUS", "normal", 1);
  const Config c = load("");
  unsetenv("BOTFN_STORAGE_SYNCHRONOUS");
  EXPECT_EQ(synchronousOf(c), 1);
}

TEST(Issue7SynchronousFixedNormal, OtherValuesAreRefused) {
  EXPECT_THROW(load("[storage]\nsynchronous = \"off\"\n"), ConfigError);
}

}  // namespace
}  // namespace botfn::app
