// The PostgreSQL writer's group commit: a group runs without savepoints and is redone with one
// per job when a job fails, so the failing commit loses only its own writes and the others apply
// exactly once; and the group size cap (PostgresOptions::max_group_jobs, which
// bench/pg_commit_bench sets to measure group commit) holds, 0 keeping the group uncapped.
#include <gtest/gtest.h>

#include <fstream>
#include <future>

#include "storage/backend.hpp"
#include "test_servers.hpp"

namespace botfn::storage {
namespace {

class PgGroupCommitTest : public ::testing::Test {
 protected:
  void open(size_t max_group_jobs) {
    dir_ = std::filesystem::temp_directory_path() /
           ("botfn_pg_group_" + std::to_string(getpid()) + "_" +
            std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(dir_ / "migrations");
    std::ofstream(dir_ / "migrations" / "001_counters.sql")
        << "CREATE TABLE counters (id BIGINT PRIMARY KEY, n BIGINT NOT NULL);\n"
           "INSERT INTO counters VALUES (1, 0);\n";
    BackendOptions o;
    o.kind = "postgres";
    o.embedded.path = dir_ / "queue.sqlite";
    o.postgres.url = url_ = testing::sharedPostgres().createDatabase();
    o.postgres.max_group_jobs = max_group_jobs;
    auto opened = openBackend(o, metrics_);
    ASSERT_TRUE(opened) << opened.error().describe();
    backend_ = std::move(*opened);
    auto migrated = backend_->store().migrateApp("t", dir_ / "migrations");
    ASSERT_TRUE(migrated) << migrated.error().describe();
  }
  void TearDown() override {
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }
  static Commit commitOf(int64_t update_id, std::vector<SqlStatement> writes) {
    Commit c;
    c.bot = "b";
    c.update_id = update_id;
    c.kind = "message";
    c.app_writes = std::move(writes);
    c.outbox.push_back(OutboxMessage{"b", "chat:1", 1, "sendMessage",
                                     "{\"u\":" + std::to_string(update_id) + "}", "", "", 0});
    return c;
  }
  // Submits every commit at once and waits for all their results, in order.
  std::vector<Result<void>> commitAll(std::vector<Commit> commits) {
    std::vector<std::promise<Result<void>>> done(commits.size());
    for (size_t i = 0; i < commits.size(); ++i) {
      backend_->store().commit(std::move(commits[i]),
                               [&done, i](Result<void> r) { done[i].set_value(std::move(r)); });
    }
    std::vector<Result<void>> out;
    for (auto& d : done) out.push_back(d.get_future().get());
    return out;
  }
  uint64_t transactions() { return metrics_.histogram("botfn_commit_batch_size").count(); }
  // The rendered histogram's bucket le="4": the transactions of at most 4 jobs.
  uint64_t transactionsOfAtMostFour() {
    const std::string text = metrics_.render();
    const std::string key = "botfn_commit_batch_size_bucket{le=\"4\"} ";
    const auto at = text.find(key);
    return at == std::string::npos ? 0 : std::stoull(text.substr(at + key.size()));
  }

  Metrics metrics_;
  std::filesystem::path dir_;
  std::string url_;
  std::unique_ptr<Backend> backend_;
};

TEST_F(PgGroupCommitTest, AFailingCommitInAGroupLosesOnlyItsOwnWrites) {
  open(0);
  const SqlStatement bump{"UPDATE counters SET n = n + 1 WHERE id = 1", {}};
  // The first commit holds the writer for a moment, so the others queue up and go as one group.
  std::vector<Commit> commits;
  commits.push_back(commitOf(1, {{"SELECT pg_sleep(0.2)", {}}, bump}));
  for (int64_t id = 2; id <= 20; ++id) {
    commits.push_back(commitOf(id, {bump}));
    if (id == 10) commits.push_back(commitOf(100, {bump, {"INSERT INTO missing VALUES (1)", {}}}));
  }
  const auto results = commitAll(std::move(commits));
  for (size_t i = 0; i < results.size(); ++i) {
    if (i == 10) {
      ASSERT_FALSE(results[i]);
      EXPECT_EQ(results[i].error().code, ErrorCode::SqlError) << results[i].error().describe();
    } else {
      EXPECT_TRUE(results[i]) << i << ": " << results[i].error().describe();
    }
  }
  // 20 commits applied once each: the redone group ran the others' writes once, not twice.
  EXPECT_EQ(testing::psql(url_, "SELECT n FROM app.counters"), "20");
  EXPECT_EQ(testing::psql(url_, "SELECT count(*) FROM botfn.outbox"), "20");
  EXPECT_EQ(testing::psql(url_, "SELECT count(*) FROM botfn.outbox WHERE update_id = 100"), "0");
  EXPECT_FALSE(*backend_->store().isProcessed("b", 100));
  EXPECT_TRUE(*backend_->store().isProcessed("b", 11));
}

TEST_F(PgGroupCommitTest, OneJobPerTransactionWhenCappedAtOne) {
  open(1);
  const uint64_t before = transactions();
  std::vector<Commit> commits;
  for (int64_t id = 1; id <= 40; ++id) commits.push_back(commitOf(id, {}));
  for (const auto& r : commitAll(std::move(commits))) EXPECT_TRUE(r) << r.error().describe();
  EXPECT_EQ(transactions() - before, 40u);
}

TEST_F(PgGroupCommitTest, NoTransactionCarriesMoreThanTheCap) {
  open(4);
  const uint64_t before = transactions(), small_before = transactionsOfAtMostFour();
  std::vector<Commit> commits;
  for (int64_t id = 1; id <= 40; ++id) commits.push_back(commitOf(id, {}));
  for (const auto& r : commitAll(std::move(commits))) EXPECT_TRUE(r) << r.error().describe();
  const uint64_t ran = transactions() - before;
  EXPECT_GE(ran, 10u);
  EXPECT_EQ(transactionsOfAtMostFour() - small_before, ran);
}

}  // namespace
}  // namespace botfn::storage
