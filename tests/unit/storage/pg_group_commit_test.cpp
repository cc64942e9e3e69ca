// The PostgreSQL writer's group size cap (PostgresOptions::max_group_jobs, set by
// bench/pg_commit_bench to measure group commit): no transaction carries more jobs than the cap,
// every commit still applies, and 0 keeps the group uncapped.
#include <gtest/gtest.h>

#include <future>

#include "storage/backend.hpp"
#include "test_servers.hpp"

namespace botfn::storage {
namespace {

constexpr int kCommits = 40;

// The rendered histogram's bucket le="4": the transactions of at most 4 jobs.
uint64_t bucketOfFour(const Metrics& metrics) {
  const std::string text = metrics.render();
  const std::string key = "botfn_commit_batch_size_bucket{le=\"4\"} ";
  const auto at = text.find(key);
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + key.size()));
}

// Submits kCommits at once (they queue behind the writer's first transaction) and waits for all;
// returns how many transactions the writer ran and how many of them carried at most 4 jobs.
std::pair<uint64_t, uint64_t> commitBurst(size_t max_group_jobs) {
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("botfn_pg_group_" + std::to_string(getpid()) + "_" + std::to_string(max_group_jobs));
  std::filesystem::create_directories(dir);
  Metrics metrics;
  BackendOptions o;
  o.kind = "postgres";
  o.embedded.path = dir / "queue.sqlite";
  o.postgres.url = testing::sharedPostgres().createDatabase();
  o.postgres.max_group_jobs = max_group_jobs;
  auto backend = openBackend(o, metrics);
  EXPECT_TRUE(backend) << backend.error().describe();
  if (!backend) return {0, 0};
  const uint64_t before = metrics.histogram("botfn_commit_batch_size").count();
  const uint64_t small_before = bucketOfFour(metrics);
  std::vector<std::promise<Result<void>>> done(kCommits);
  for (int i = 0; i < kCommits; ++i) {
    Commit c;
    c.bot = "b";
    c.update_id = i + 1;
    c.kind = "message";
    c.outbox.push_back(OutboxMessage{"b", "chat:1", 1, "sendMessage", "{}", "", "", 0});
    (*backend)->store().commit(std::move(c),
                               [&done, i](Result<void> r) { done[i].set_value(std::move(r)); });
  }
  for (auto& d : done) {
    auto r = d.get_future().get();
    EXPECT_TRUE(r) << r.error().describe();
  }
  const uint64_t transactions = metrics.histogram("botfn_commit_batch_size").count() - before;
  const uint64_t small = bucketOfFour(metrics) - small_before;
  backend->reset();
  std::filesystem::remove_all(dir);
  return {transactions, small};
}

TEST(PgGroupCommitTest, OneJobPerTransactionWhenCappedAtOne) {
  auto [transactions, small] = commitBurst(1);
  EXPECT_EQ(transactions, static_cast<uint64_t>(kCommits));
}

TEST(PgGroupCommitTest, NoTransactionCarriesMoreThanTheCap) {
  auto [transactions, small] = commitBurst(4);
  EXPECT_GE(transactions, static_cast<uint64_t>(kCommits / 4));
  EXPECT_EQ(small, transactions);
}

}  // namespace
}  // namespace botfn::storage
