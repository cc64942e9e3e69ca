// Issue 7 item 9: an app statement had no bound. `WITH RECURSIVE` without a stop held a worker
// (db.query) or the storage writer (db.exec, run in the commit) forever, and with the writer
// every chat's commits; a query returned any number of rows into memory; a handler could record
// writes and messages without end. Now a progress handler stops a statement at the update's SQL
// time, results and values are capped, a failed job of the writer's group is not run again, and
// recorded effects are capped.
#include <gtest/gtest.h>

#include <future>

#include "sqlite_backend.hpp"

namespace botfn::storage::contract {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr const char* kRunaway = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) ";

class Issue7RunawayAppSql : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(backend.db().writeSync([](sqlite3* db) {
      return sqlite::exec(db,
                          "CREATE TABLE notes (n INTEGER, body TEXT);"
                          "INSERT INTO notes VALUES (1, 'abcd'), (2, 'abcd'), (3, 'abcd'),"
                          "(4, 'abcd'), (5, 'abcd');");
    }));
  }

  // Holds the writer thread until release(): everything submitted meanwhile forms one group.
  void holdWriter() {
    backend.db().write(sqlite::WriteJob{[this](sqlite3*) -> Result<void> {
                                          held_.set_value();
                                          release_future_.wait();
                                          return {};
                                        },
                                        nullptr});
    held_.get_future().wait();
  }
  void release() { release_.set_value(); }

  Commit commit(int64_t update_id, std::vector<SqlStatement> writes) {
    Commit c;
    c.bot = "b";
    c.update_id = update_id;
    c.kind = "message";
    c.app_writes = std::move(writes);
    c.outbox.push_back(
        OutboxMessage{"b", "c1", 1, "sendMessage", "{}", "h" + std::to_string(update_id), ""});
    return c;
  }

  // A lost completion fails the test instead of hanging it (the writer stuck in a runaway).
  template <typename T>
  static T get(std::promise<T>& p, std::chrono::seconds within = std::chrono::seconds(20)) {
    auto f = p.get_future();
    if (f.wait_for(within) != std::future_status::ready) {
      ADD_FAILURE() << "a write never completed";
      std::abort();
    }
    return f.get();
  }

  SqliteBackend backend;
  std::promise<void> held_;
  std::promise<void> release_;
  std::shared_future<void> release_future_ = release_.get_future().share();
};

TEST_F(Issue7RunawayAppSql, RunawayQueryIsStoppedAtItsDeadline) {
  const auto started = Clock::now();
  auto rows = backend.store().query({std::string(kRunaway) + "SELECT count(*) FROM r", {}},
                                    AppSqlLimits{started + milliseconds(200)});
  const auto took = Clock::now() - started;
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, ErrorCode::SqlTimeout) << rows.error().describe();
  EXPECT_NE(rows.error().detail.find("lua.sql_budget_ms"), std::string::npos);
  EXPECT_GE(took, milliseconds(200));
  EXPECT_LT(took, milliseconds(5000));
  // The pooled connection is fine afterwards.
  auto after = backend.store().query({"SELECT count(*) FROM notes", {}});
  ASSERT_TRUE(after) << after.error().describe();
  EXPECT_EQ(std::get<int64_t>(after->rows[0][0]), 5);
}

TEST_F(Issue7RunawayAppSql, RunawayRowsStopAtTheRowCapWithoutGrowing) {
  auto rows = backend.store().query({std::string(kRunaway) + "SELECT n FROM r", {}},
                                    AppSqlLimits{Clock::now() + std::chrono::seconds(30), 1000});
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, ErrorCode::SqlTooLarge);
  EXPECT_NE(rows.error().detail.find("more than 1000 rows (lua.sql_max_rows)"), std::string::npos)
      << rows.error().detail;
}

TEST_F(Issue7RunawayAppSql, RowAndByteCapsHoldAtTheirBoundary) {
  const SqlStatement all{"SELECT body FROM notes ORDER BY n", {}};
  const auto far = Clock::now() + std::chrono::seconds(30);
  EXPECT_TRUE(backend.store().query(all, AppSqlLimits{far, 5}));
  auto over_rows = backend.store().query(all, AppSqlLimits{far, 4});
  ASSERT_FALSE(over_rows);
  EXPECT_EQ(over_rows.error().code, ErrorCode::SqlTooLarge);
  // Five values of 8 + 4 bytes.
  EXPECT_TRUE(backend.store().query(all, AppSqlLimits{far, SIZE_MAX, 60}));
  auto over_bytes = backend.store().query(all, AppSqlLimits{far, SIZE_MAX, 59});
  ASSERT_FALSE(over_bytes);
  EXPECT_EQ(over_bytes.error().code, ErrorCode::SqlTooLarge);
  EXPECT_NE(over_bytes.error().detail.find("larger than 59 bytes (lua.sql_max_bytes)"),
            std::string::npos)
      << over_bytes.error().detail;
  // No single value may grow past the byte cap either (it would be built in memory first),
  // nor may a parameter (SQLite would refuse to bind it and run the statement with NULL).
  const AppSqlLimits kib{far, SIZE_MAX, 1024};
  EXPECT_TRUE(backend.store().query({"SELECT length(randomblob(1024))", {}}, kib));
  auto big = backend.store().query({"SELECT length(randomblob(1025))", {}}, kib);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::SqlTooLarge) << big.error().describe();
  EXPECT_TRUE(backend.store().query({"SELECT length($1)", {std::string(1024, 'x')}}, kib));
  auto param = backend.store().query({"SELECT length($1)", {std::string(1025, 'x')}}, kib);
  ASSERT_FALSE(param);
  EXPECT_EQ(param.error().code, ErrorCode::SqlTooLarge) << param.error().describe();
}

TEST_F(Issue7RunawayAppSql, RunawayWritesFailOnlyTheirOwnCommits) {
  sqlite::SqliteStore store(backend.db(), AppSqlBudget{milliseconds(200), 100, 1 << 20});
  holdWriter();
  std::promise<Result<void>> before, writing, reading, too_big, after;
  auto done = [](std::promise<Result<void>>& p) {
    return [&p](Result<void> r) { p.set_value(std::move(r)); };
  };
  store.commit(commit(1, {{"INSERT INTO notes VALUES (10, 'before')", {}}}), done(before));
  // A writing statement stopped by the progress handler makes SQLite roll the whole group back.
  store.commit(commit(2, {{std::string(kRunaway) + "INSERT INTO notes SELECT n, 'x' FROM r", {}}}),
               done(writing));
  // A reading one does not; its rows are stepped through, none kept.
  store.commit(commit(3, {{std::string(kRunaway) + "SELECT n FROM r", {}}}), done(reading));
  store.commit(commit(4, {{"INSERT INTO notes VALUES (11, hex(randomblob(600000)))", {}}}),
               done(too_big));
  store.commit(commit(5, {{"INSERT INTO notes VALUES (12, 'after')", {}}}), done(after));
  const auto started = Clock::now();
  release();
  EXPECT_TRUE(get(before));
  auto w = get(writing);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::SqlTimeout) << w.error().describe();
  EXPECT_NE(w.error().detail.find("db.exec #1: "), std::string::npos);
  auto r = get(reading);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::SqlTimeout) << r.error().describe();
  auto big = get(too_big);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::SqlTooLarge) << big.error().describe();
  EXPECT_TRUE(get(after));
  // The writer was held for about the two budgets, not for good (that a failed job is not run
  // again in the redo is AFailedJobOfAGroupIsNotRunAgain).
  EXPECT_LT(Clock::now() - started, milliseconds(5000));

  for (int64_t id : {1, 5}) EXPECT_TRUE(*store.isProcessed("b", id)) << id;
  for (int64_t id : {2, 3, 4}) EXPECT_FALSE(*store.isProcessed("b", id)) << id;
  auto notes = backend.systemQuery("SELECT group_concat(n) FROM notes WHERE n > 5 ORDER BY n");
  ASSERT_TRUE(notes);
  EXPECT_EQ(std::get<std::string>(notes->rows[0][0]), "10,12");
  auto outbox = backend.systemQuery("SELECT group_concat(handle) FROM outbox ORDER BY id");
  ASSERT_TRUE(outbox);
  EXPECT_EQ(std::get<std::string>(outbox->rows[0][0]), "h1,h5");
  // The writer goes on.
  std::promise<Result<void>> later;
  store.commit(commit(6, {{"INSERT INTO notes VALUES (13, 'later')", {}}}), done(later));
  EXPECT_TRUE(get(later));
}

TEST_F(Issue7RunawayAppSql, AFailedJobOfAGroupIsNotRunAgain) {
  holdWriter();
  std::atomic<int> ok_runs{0}, failing_runs{0};
  std::promise<Result<void>> ok_done, failing_done;
  backend.db().write(sqlite::WriteJob{[&](sqlite3*) -> Result<void> {
                                        ++ok_runs;
                                        return {};
                                      },
                                      [&](Result<void> r) { ok_done.set_value(r); }});
  backend.db().write(sqlite::WriteJob{[&](sqlite3*) -> Result<void> {
                                        ++failing_runs;
                                        return fail(ErrorCode::SqlTimeout, "runaway");
                                      },
                                      [&](Result<void> r) { failing_done.set_value(r); }});
  release();
  EXPECT_TRUE(get(ok_done));
  EXPECT_FALSE(get(failing_done));
  EXPECT_EQ(ok_runs.load(), 2) << "once, then again in the redo without the failed job";
  EXPECT_EQ(failing_runs.load(), 1);
}

}  // namespace
}  // namespace botfn::storage::contract
