// Issue 8: an app migration that failed on PostgreSQL was reported as "StorageWrite: commit: ...
// transaction which is already closed" (libpqxx 6 closes a transaction whose exec() fails, so the
// writer's rollback to the job's savepoint failed too), hiding the SQL error and the file. Now the
// error names both, and the writer goes on with the next migration.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "storage/backend.hpp"
#include "test_servers.hpp"

namespace botfn::storage {
namespace {

TEST(Issue8PgMigrationErrorHidden, TheFailedStatementIsNamed) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("botfn_issue8_migration_" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir / "migrations");
  std::ofstream(dir / "migrations" / "001_bad.sql")
      << "CREATE TABLE counts (n INT);\nINSERT INTO counts VALUES ('not a number');\n";
  BackendOptions o;
  o.kind = "postgres";
  o.embedded.path = dir / "queue.sqlite";
  o.postgres.url = testing::sharedPostgres().createDatabase();
  Metrics metrics;
  {
    auto backend = openBackend(o, metrics);
    ASSERT_TRUE(backend) << backend.error().describe();
    auto r = (*backend)->store().migrateApp("shop", dir / "migrations");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::SqlError) << r.error().describe();
    EXPECT_NE(r.error().detail.find("001_bad.sql"), std::string::npos) << r.error().describe();
    EXPECT_NE(r.error().detail.find("not a number"), std::string::npos) << r.error().describe();
    EXPECT_FALSE((*backend)->currentFault()) << "an app's mistake is no storage fault";

    // Fixed and run again: applied, nothing left of the failed attempt.
    std::ofstream(dir / "migrations" / "001_bad.sql")
        << "CREATE TABLE counts (n INT);\nINSERT INTO counts VALUES (1);\n";
    auto again = (*backend)->store().migrateApp("shop", dir / "migrations");
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_EQ(*again, 1);
  }
  EXPECT_EQ(testing::psql(o.postgres.url, "SELECT n FROM app.counts"), "1");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace botfn::storage
