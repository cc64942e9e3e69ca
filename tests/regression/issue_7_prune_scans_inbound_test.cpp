// Issue 7, item 14: sent outbox rows and dead letters were never deleted, and the processed-marker
// prune scanned the whole `inbound` table once per aged marker. Each prune now deletes a bounded
// batch found through an index, after a configurable retention.
#include <gtest/gtest.h>

#include "sqlite_backend.hpp"
#include "storage/sqlite/retention.hpp"

namespace botfn::storage::contract {
namespace {

constexpr int64_t kNow = 2000000000;
constexpr int64_t kHour = 3600;

std::vector<std::string> planOf(SqliteBackend& backend, const std::string& sql) {
  return backend.db().read([&](sqlite3* db) {
    std::vector<std::string> lines;
    sqlite::Stmt s(db, "EXPLAIN QUERY PLAN " + sql);
    EXPECT_TRUE(s.ok()) << sqlite3_errmsg(db);
    if (!s.ok()) return lines;
    s.bind(1, int64_t{0}).bind(2, int64_t{10});
    while (s.step() == SQLITE_ROW) lines.push_back(s.text(3));
    return lines;
  });
}

void exec(SqliteBackend& backend, const std::string& sql) {
  ASSERT_TRUE(backend.db().writeSync([&](sqlite3* db) { return sqlite::exec(db, sql.c_str()); }));
}

int64_t count(SqliteBackend& backend, const std::string& sql) {
  return backend.db().read([&](sqlite3* db) {
    sqlite::Stmt s(db, sql);
    return s.step() == SQLITE_ROW ? s.int64(0) : -1;
  });
}

TEST(Issue7PruneScansInbound, EveryPruneReadsThroughAnIndex) {
  SqliteBackend backend;
  for (const char* statement : sqlite::pruneStatements()) {
    const auto plan = planOf(backend, statement);
    ASSERT_FALSE(plan.empty()) << statement;
    for (const auto& line : plan) {
      // "SCAN inbound" per aged marker was the bug; no prune may scan a table.
      EXPECT_EQ(line.rfind("SCAN", 0), std::string::npos) << statement << "\n  plan: " << line;
    }
  }
}

TEST(Issue7PruneScansInbound, RetentionsDeleteOnlyAgedFinishedRowsInBatches) {
  SqliteBackend backend;
  const int64_t old_ts = kNow - 200 * kHour;
  const int64_t young_ts = kNow - 1 * kHour;
  for (int i = 0; i < 5; ++i) {
    exec(backend,
         "INSERT INTO outbox (bot, lane, chat_id, method, params, state, created_at) VALUES "
         "('demo', 'c1', 1, 'sendMessage', '{}', 'sent', " +
             std::to_string(old_ts) + ")");
  }
  exec(backend,
       "INSERT INTO outbox (bot, lane, chat_id, method, params, state, created_at) VALUES "
       "('demo', 'c1', 1, 'sendMessage', '{}', 'failed', " +
           std::to_string(old_ts) + "), ('demo', 'c1', 1, 'sendMessage', '{}', 'pending', " +
           std::to_string(old_ts) + "), ('demo', 'c1', 1, 'sendMessage', '{}', 'sent', " +
           std::to_string(young_ts) + ")");
  for (int i = 0; i < 3; ++i) {
    exec(backend,
         "INSERT INTO dead_letters (bot, update_id, lane, kind, body, error, traceback, attempts, "
         "at) VALUES ('demo', " +
             std::to_string(i) + ", 'c1', 'message', '{}', 'e', '', 4, " +
             std::to_string(i == 0 ? young_ts : kNow - 40 * 24 * kHour) + ")");
  }
  // Two aged markers: one whose update is still queued (it must stay), one not.
  exec(backend,
       "INSERT INTO processed (bot, update_id, kind, handled, processed_at) VALUES "
       "('demo', 7, 'message', 1, " +
           std::to_string(old_ts) + "), ('demo', 8, 'message', 1, " + std::to_string(old_ts) + ")");
  exec(backend,
       "INSERT INTO inbound (bot, update_id, lane, kind, body, received_at) VALUES "
       "('demo', 7, 'c1', 'message', '{}', 0)");

  sqlite::Retention retention;  // 72 h, 168 h, 30 days
  retention.batch_rows = 2;
  int rounds = 0;
  bool more = true;
  while (more && rounds < 20) {
    ++rounds;
    auto r = backend.db().writeSync([&](sqlite3* db) -> Result<void> {
      auto m = sqlite::pruneBatch(db, retention, 3 * 24 * kHour, kNow);
      if (!m) return tl::unexpected(m.error());
      more = *m;
      return {};
    });
    ASSERT_TRUE(r) << r.error().describe();
    if (rounds == 1) {
      EXPECT_TRUE(more);  // a full batch leaves the rest for the next group
      EXPECT_EQ(count(backend, "SELECT count(*) FROM outbox"), 6);
    }
  }
  EXPECT_GE(rounds, 3);
  EXPECT_FALSE(more);
  EXPECT_EQ(count(backend, "SELECT count(*) FROM outbox WHERE state = 'pending'"), 1);
  EXPECT_EQ(count(backend, "SELECT count(*) FROM outbox WHERE state = 'sent'"), 1);  // the young
  EXPECT_EQ(count(backend, "SELECT count(*) FROM outbox WHERE state = 'failed'"), 0);
  EXPECT_EQ(count(backend, "SELECT group_concat(update_id) FROM processed"), 7);
  // `botfn dlq list` reads deadLetters(): every dead letter within the retention is still there.
  auto letters = backend.store().deadLetters(100);
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(letters->front().update_id, 0);
}

TEST(Issue7PruneScansInbound, PushGroupsPruneAndKeepQueuedMarkers) {
  SqliteBackend backend;
  // A marker older than the dedupe window of this backend (3600 s) whose update is gone, and a
  // young one: the first push group prunes the old one.
  exec(backend,
       "INSERT INTO processed (bot, update_id, kind, handled, processed_at) VALUES "
       "('demo', 1, 'message', 1, 0), ('demo', 2, 'message', 1, strftime('%s','now'))");
  backend.close();
  sqlite::SqliteDb db(sqlite::SqliteOptions{backend.dir() / "db.sqlite", 0, 2}, backend.metrics());
  sqlite::Retention retention;
  retention.processed_s = kHour;
  sqlite::SqliteBus bus(db, 3600, retention);
  auto r = await<Result<std::vector<PushOutcome>>>([&](auto done) {
    std::vector<InboundUpdate> items;
    items.push_back(InboundUpdate{"demo", 3, "c1", "message", "{}"});
    bus.push(std::move(items), std::nullopt, std::move(done));
  });
  ASSERT_TRUE(r);
  const auto left = db.read([](sqlite3* sql) {
    sqlite::Stmt s(sql, "SELECT group_concat(update_id) FROM processed");
    return s.step() == SQLITE_ROW ? s.text(0) : std::string();
  });
  EXPECT_EQ(left, "2");
}

}  // namespace
}  // namespace botfn::storage::contract
