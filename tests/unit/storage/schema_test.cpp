// The embedded schema runs at every start: it upgrades databases an older botfn created, and the
// sender's query reads the pending rows through their partial index.
#include <gtest/gtest.h>

#include "sqlite_backend.hpp"

namespace botfn::storage::contract {
namespace {

std::vector<std::string> indexesOfOutbox(SqliteBackend& backend) {
  auto rows =
      backend.store().query({"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                             "'outbox' AND sql IS NOT NULL ORDER BY name",
                             {}});
  std::vector<std::string> out;
  if (rows) {
    for (auto& row : rows->rows) out.push_back(std::get<std::string>(row[0]));
  }
  return out;
}

TEST(SchemaTest, TheOldOutboxIndexIsReplacedOnStart) {
  SqliteBackend backend;
  ASSERT_TRUE(backend.db().writeSync([](sqlite3* db) {
    return sqlite::exec(db, "CREATE INDEX outbox_pending ON outbox (state, id)");
  }));
  backend.reopen();
  EXPECT_EQ(indexesOfOutbox(backend),
            (std::vector<std::string>{"outbox_done_age", "outbox_handle", "outbox_pending_rows"}));
}

TEST(SchemaTest, PendingRowsAreReadThroughTheirIndex) {
  SqliteBackend backend;
  auto plan =
      backend.store().query({"EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE state = 'pending' AND "
                             "id > ?2 ORDER BY id LIMIT ?1",
                             {int64_t{10}, int64_t{0}}});
  ASSERT_TRUE(plan);
  ASSERT_FALSE(plan->rows.empty());
  EXPECT_NE(std::get<std::string>(plan->rows[0].back()).find("outbox_pending_rows"),
            std::string::npos);
}

}  // namespace
}  // namespace botfn::storage::contract
