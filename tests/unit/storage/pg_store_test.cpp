// The Store on PostgreSQL, beyond the contract suite: the app SQL rules (botfn's tables, role
// switches and set_config are refused; statements are bounded in time and size), versioned
// migrations, a password never shown, and a server restart survived without losing a commit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "await.hpp"
#include "storage/backend.hpp"
#include "test_servers.hpp"

namespace botfn::storage {
namespace {

using namespace std::chrono_literals;
using contract::await;

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open(testing::sharedPostgres().createDatabase()); }
  void open(const std::string& url) {
    dir_ = std::filesystem::temp_directory_path() /
           ("botfn_pg_store_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(dir_);
    BackendOptions o;
    o.kind = "postgres";
    o.embedded.path = dir_ / "queue.sqlite";
    o.postgres.url = url;
    o.app_sql.time = 300ms;
    auto opened = openBackend(o, metrics_);
    ASSERT_TRUE(opened) << opened.error().describe();
    backend_ = std::move(*opened);
  }
  void TearDown() override {
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }
  Store& store() { return backend_->store(); }
  void migrate(const std::string& sql, const std::string& name = "001_items.sql") {
    const auto dir = dir_ / "migrations";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / name) << sql;
    auto r = store().migrateApp("t", dir);
    ASSERT_TRUE(r) << r.error().describe();
  }
  Commit commitOf(int64_t update_id, std::vector<SqlStatement> writes) {
    Commit c;
    c.bot = "b";
    c.update_id = update_id;
    c.kind = "message";
    c.app_writes = std::move(writes);
    return c;
  }
  Result<void> commit(Commit c) {
    return await<Result<void>>([&](auto done) { store().commit(std::move(c), done); });
  }

  Metrics metrics_;
  std::filesystem::path dir_;
  std::unique_ptr<Backend> backend_;
};

TEST_F(PgStoreTest, AppSqlCannotReachBotfnsTables) {
  for (const char* sql : {"SELECT * FROM botfn.outbox", "SELECT * FROM outbox",
                          "SELECT count(*) FROM botfn.processed"}) {
    auto r = store().query({sql, {}});
    ASSERT_FALSE(r) << sql;
    EXPECT_EQ(r.error().code, ErrorCode::SqlRefused) << sql << ": " << r.error().describe();
  }
  ASSERT_TRUE(commit(commitOf(1, {})));
  auto r = commit(commitOf(2, {{"DELETE FROM botfn.processed", {}}}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::SqlRefused) << r.error().describe();
  EXPECT_TRUE(*store().isProcessed("b", 1));   // untouched
  EXPECT_FALSE(*store().isProcessed("b", 2));  // the update's own writes are undone
}

TEST_F(PgStoreTest, StatementsThatCouldSwitchTheRoleBackAreRefused) {
  for (const char* sql :
       {"RESET ROLE", "SET ROLE botfn", "SELECT set_config('role', 'botfn', true)",
        "SELECT pg_catalog.\"set_config\"('role', 'botfn', false)",
        "SET SESSION AUTHORIZATION botfn", "VACUUM", "COPY (SELECT 1) TO STDOUT"}) {
    auto r = store().query({sql, {}});
    ASSERT_FALSE(r) << sql;
    EXPECT_EQ(r.error().code, ErrorCode::SqlRefused) << sql << ": " << r.error().describe();
  }
  const std::string bad_migration = "CREATE TABLE a (id int); RESET ROLE; DROP TABLE botfn.outbox;";
  const auto dir = dir_ / "bad";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "001.sql") << bad_migration;
  auto r = store().migrateApp("t", dir);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::SqlRefused) << r.error().describe();
  EXPECT_TRUE(store().pendingOutbox(1));  // botfn's outbox is still there
}

TEST_F(PgStoreTest, AppTablesLiveInTheAppSchemaAndMigrationsAreVersioned) {
  migrate("CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL);");
  ASSERT_TRUE(commit(commitOf(
      1, {{"INSERT INTO items (id, name) VALUES ($1, $2)", {int64_t{7}, std::string("seven")}}})));
  auto rows = store().query({"SELECT name, id FROM items WHERE id = $1", {int64_t{7}}});
  ASSERT_TRUE(rows) << rows.error().describe();
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(std::get<std::string>(rows->rows[0][0]), "seven");
  EXPECT_EQ(std::get<int64_t>(rows->rows[0][1]), 7);
  // The same file again is a no-op; a changed one is refused.
  const auto dir = dir_ / "migrations";
  EXPECT_EQ(*store().migrateApp("t", dir), 0);
  std::ofstream(dir / "001_items.sql") << "CREATE TABLE items (id BIGINT);";
  auto changed = store().migrateApp("t", dir);
  ASSERT_FALSE(changed);
  EXPECT_NE(changed.error().detail.find("changed after it was applied"), std::string::npos);
}

TEST_F(PgStoreTest, RunawayStatementsStopAtTheBudgetAndTheWriterGoesOn) {
  const std::string runaway =
      "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r";
  const auto started = std::chrono::steady_clock::now();
  auto q = store().query({runaway, {}}, {started + 200ms, SIZE_MAX, SIZE_MAX});
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().code, ErrorCode::SqlTimeout) << q.error().describe();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);

  migrate("CREATE TABLE t (n BIGINT);");
  auto w = commit(commitOf(1, {{"INSERT INTO t " + runaway, {}}}));
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::SqlTimeout) << w.error().describe();
  EXPECT_TRUE(commit(commitOf(2, {{"INSERT INTO t VALUES (1)", {}}})));  // the writer goes on
  EXPECT_FALSE(*store().isProcessed("b", 1));
}

TEST_F(PgStoreTest, ResultsAreCappedInRowsAndBytes) {
  auto rows = store().query({"SELECT generate_series(1, 100000)", {}},
                            {std::chrono::steady_clock::time_point::max(), 1000, SIZE_MAX});
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, ErrorCode::SqlTooLarge);
  auto bytes = store().query({"SELECT repeat('x', 1000) FROM generate_series(1, 100)", {}},
                             {std::chrono::steady_clock::time_point::max(), SIZE_MAX, 10000});
  ASSERT_FALSE(bytes);
  EXPECT_EQ(bytes.error().code, ErrorCode::SqlTooLarge);
}

// Review finding: on PostgreSQL nothing pruned botfn's bookkeeping, so processed markers, sent
// outbox rows and dead letters grew with the bot's whole history.
TEST(PgStoreRetention, OldMarkersFinishedRowsAndDeadLettersArePrunedPendingRowsNever) {
  const std::string url = testing::sharedPostgres().createDatabase();
  Metrics metrics;
  BackendOptions o;
  o.kind = "postgres";
  const auto dir =
      std::filesystem::temp_directory_path() / ("botfn_pg_retention_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  o.embedded.path = dir / "queue.sqlite";
  o.postgres.url = url;
  o.retention.prune_every_ms = 100;
  o.retention.batch_rows = 2;  // several rounds: a full round runs again at once
  auto backend = openBackend(o, metrics);
  ASSERT_TRUE(backend) << backend.error().describe();
  const std::string old = "1000", fresh = "extract(epoch from now())::bigint";
  for (int i = 0; i < 5; ++i) {
    const std::string id = std::to_string(i);
    testing::psql(
        url, "INSERT INTO botfn.processed VALUES ('b', " + id + ", 'message', true, " + old + ")");
    testing::psql(url,
                  "INSERT INTO botfn.outbox (bot, lane, chat_id, method, params, state, "
                  "created_at) VALUES ('b', 'l', 1, 'sendMessage', '{}', 'sent', " +
                      old + ")");
    testing::psql(url,
                  "INSERT INTO botfn.dead_letters (bot, update_id, lane, kind, body, error, "
                  "traceback, attempts, at) VALUES ('b', " +
                      id +
                      ", 'l', 'message', '{}', "
                      "'e', '', 1, " +
                      old + ")");
  }
  testing::psql(url,
                "INSERT INTO botfn.processed VALUES ('b', 99, 'message', true, " + fresh + ")");
  testing::psql(url,
                "INSERT INTO botfn.outbox (bot, lane, chat_id, method, params, created_at) "
                "VALUES ('b', 'l', 1, 'sendMessage', '{}', " +
                    old + ")");  // pending
  EXPECT_TRUE(contract::waitFor(
      [&] {
        return testing::psql(url,
                             "SELECT (SELECT count(*) FROM botfn.processed) || ',' || "
                             "(SELECT count(*) FROM botfn.outbox) || ',' || "
                             "(SELECT count(*) FROM botfn.dead_letters)") == "1,1,0";
      },
      std::chrono::seconds(20)));
  EXPECT_EQ(testing::psql(url, "SELECT update_id FROM botfn.processed"), "99");
  EXPECT_EQ(testing::psql(url, "SELECT state FROM botfn.outbox"), "pending");
  backend->reset();
  std::filesystem::remove_all(dir);
}

TEST(PgStoreOpen, AWrongUrlIsAClearErrorWithoutThePassword) {
  Metrics metrics;
  BackendOptions o;
  o.kind = "postgres";
  o.embedded.path = std::filesystem::temp_directory_path() / "botfn_pg_wrong_url.sqlite";
  o.postgres.url =
      "postgresql://botfn:s3cret-pw@127.0.0.1:" + std::to_string(testing::freeLoopbackPort()) +
      "/nope";
  o.postgres.connect_timeout_s = 2;
  auto opened = openBackend(o, metrics);
  ASSERT_FALSE(opened);
  EXPECT_TRUE(opened.error().isStorageFault()) << opened.error().describe();
  EXPECT_EQ(opened.error().describe().find("s3cret-pw"), std::string::npos)
      << opened.error().describe();
  EXPECT_NE(opened.error().describe().find("postgresql://botfn:***@127.0.0.1"), std::string::npos)
      << opened.error().describe();
  std::filesystem::remove(o.embedded.path);
}

TEST(PgStoreOutage, ACommitWhileTheServerIsDownFailsAsAStorageFaultAndWorksAfterARestart) {
  testing::PostgresServer pg;
  Metrics metrics;
  BackendOptions o;
  o.kind = "postgres";
  const auto dir = std::filesystem::temp_directory_path() / "botfn_pg_outage";
  std::filesystem::create_directories(dir);
  o.embedded.path = dir / "queue.sqlite";
  o.postgres.url = pg.createDatabase();
  o.postgres.connect_timeout_s = 2;
  auto opened = openBackend(o, metrics);
  ASSERT_TRUE(opened) << opened.error().describe();
  auto& store = (*opened)->store();
  auto commit = [&](int64_t id) {
    Commit c;
    c.bot = "b";
    c.update_id = id;
    c.kind = "message";
    return await<Result<void>>([&](auto done) { store.commit(c, done); });
  };
  ASSERT_TRUE(commit(1));
  pg.stop();
  auto down = commit(2);
  ASSERT_FALSE(down);
  EXPECT_TRUE(down.error().isStorageFault()) << down.error().describe();
  EXPECT_TRUE((*opened)->currentFault());
  auto read = store.isProcessed("b", 1);
  ASSERT_FALSE(read);
  EXPECT_TRUE(read.error().isStorageFault()) << read.error().describe();
  pg.start();
  EXPECT_TRUE(commit(2));  // reconnected; the failed try changed nothing
  EXPECT_FALSE((*opened)->currentFault());
  EXPECT_TRUE(*store.isProcessed("b", 1));
  EXPECT_TRUE(*store.isProcessed("b", 2));
  opened->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace botfn::storage
