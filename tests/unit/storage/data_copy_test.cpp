// storage/data_copy.hpp over the real sides (the embedded file, a private PostgreSQL): app values
// of every SQLite storage class reach their PostgreSQL columns, columns are matched by name, an
// identity column continues past the copied ids, and what the target lacks is reported.
#include "storage/data_copy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "storage/backend.hpp"
#include "test_servers.hpp"

namespace botfn::storage {
namespace {

void write(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

class DataCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("botfn_data_copy_" + std::to_string(std::random_device{}()));
    const auto migrations = dir_ / "migrations";
    // The two dialects, columns in different orders; `legacy` only on SQLite, `flag` only on
    // PostgreSQL.
    write(migrations / "001_items.sql",
          "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, "
          "price REAL, photo BLOB, note TEXT, only_here TEXT);\n"
          "CREATE TABLE legacy (k TEXT);\n");
    write(migrations / "postgres" / "001_items.sql",
          "CREATE TABLE items (photo BYTEA, name TEXT NOT NULL, id BIGINT GENERATED ALWAYS AS "
          "IDENTITY PRIMARY KEY, price DOUBLE PRECISION, note TEXT, flag BOOLEAN NOT NULL "
          "DEFAULT true);\n");
    options_.embedded.path = dir_ / "db.sqlite";
    options_.postgres.url = testing::sharedPostgres().createDatabase();
    {
      auto embedded = openBackend(options_, metrics_);
      ASSERT_TRUE(embedded) << embedded.error().describe();
      auto applied = (*embedded)->store().migrateApp("shop", migrations);
      ASSERT_TRUE(applied) << applied.error().describe();
    }
    const std::string insert =
        "sqlite3 '" + options_.embedded.path.string() +
        "' \"INSERT INTO items VALUES (3, 'a''b', 1.5, x'00ff10', NULL, 'lost'), "
        "(41, 'c', NULL, NULL, 'n', NULL); INSERT INTO legacy VALUES ('old')\"";
    ASSERT_EQ(std::system(insert.c_str()), 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<CopyReport> copy() {
    auto source = openEmbeddedSource(options_);
    if (!source) return tl::unexpected(source.error());
    auto target = openPostgresTarget(options_, metrics_);
    if (!target) return tl::unexpected(target.error());
    CopyOptions o;
    o.migrate_apps = [&](AppSql& sql) -> Result<void> {
      auto r = sql.migrateApp("shop", dir_ / "migrations");
      if (!r) return tl::unexpected(r.error());
      return {};
    };
    return copyData(**source, **target, o);
  }
  std::string psql(const std::string& query) { return testing::psql(options_.postgres.url, query); }

  std::filesystem::path dir_;
  BackendOptions options_;
  Metrics metrics_;
};

TEST_F(DataCopyTest, AppValuesReachTheirColumnsByName) {
  auto report = copy();
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->source_only, std::vector<std::string>{"legacy"});
  const auto items = std::find_if(report->copied.begin(), report->copied.end(),
                                  [](const TableCopy& t) { return t.table.name == "items"; });
  ASSERT_NE(items, report->copied.end());
  EXPECT_EQ(items->rows, 2);
  EXPECT_EQ(items->columns, (std::vector<std::string>{"photo", "name", "id", "price", "note"}));
  EXPECT_EQ(psql("SELECT id, name, price, encode(photo, 'hex'), note IS NULL, flag FROM "
                 "app.items ORDER BY id"),
            "3|a'b|1.5|00ff10|t|t\n41|c|||f|t");
  // The identity goes on past the copied ids.
  EXPECT_EQ(
      psql("WITH n AS (INSERT INTO app.items (name) VALUES ('new') RETURNING id) SELECT id FROM n"),
      "42");
  EXPECT_EQ(psql("SELECT count(*) FROM botfn.app_migrations WHERE app = 'shop'"), "1");
}

TEST_F(DataCopyTest, AFailedCopyLeavesNoRowsAndCanRunAgain) {
  // A value the PostgreSQL column refuses: the whole copy is undone.
  const std::string bad = "sqlite3 '" + options_.embedded.path.string() +
                          "' \"INSERT INTO items VALUES (50, 'd', 'not a number', NULL, NULL, "
                          "NULL)\"";
  ASSERT_EQ(std::system(bad.c_str()), 0);
  auto report = copy();
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().detail.find("app.items"), std::string::npos)
      << report.error().describe();
  EXPECT_EQ(psql("SELECT count(*) FROM app.items"), "0");
  const std::string fix = "sqlite3 '" + options_.embedded.path.string() +
                          "' \"UPDATE items SET price = 2 WHERE id = 50\"";
  ASSERT_EQ(std::system(fix.c_str()), 0);
  report = copy();
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(psql("SELECT count(*) FROM app.items"), "3");
}

}  // namespace
}  // namespace botfn::storage
