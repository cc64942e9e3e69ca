// Storage faults are told apart from statement errors: a write lock held by another process past
// the busy timeout fails a commit with StorageBusy (retry class Storage), is counted, and is the
// store's current fault until a later write commits; an app statement's own failure is SqlError.
#include <gtest/gtest.h>

#include <future>
#include <random>

#include "storage/sqlite/sqlite_backend.hpp"

namespace botfn::storage::sqlite {
namespace {

class StorageFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("botfn_fault_" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    SqliteOptions o{dir_ / "db.sqlite", 0, 2};
    o.busy_timeout_ms = 50;
    db_ = std::make_unique<SqliteDb>(o, metrics_);
    ASSERT_TRUE(applySystemSchema(*db_));
    store_ = std::make_unique<SqliteStore>(*db_);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  Result<void> commit(int64_t update_id) {
    Commit c;
    c.bot = "b";
    c.update_id = update_id;
    c.kind = "message";
    std::promise<Result<void>> p;
    store_->commit(c, [&p](Result<void> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  Metrics metrics_;
  std::filesystem::path dir_;
  std::unique_ptr<SqliteDb> db_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(StorageFaultTest, LockHeldElsewhereIsAStorageFaultUntilAWriteCommits) {
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "db.sqlite").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto r = commit(1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::StorageBusy) << r.error().describe();
  EXPECT_TRUE(r.error().isStorageFault());
  ASSERT_TRUE(db_->currentFault());
  EXPECT_EQ(db_->currentFault()->code, ErrorCode::StorageBusy);
  EXPECT_GE(metrics_.counterValue("botfn_storage_faults_total", "code=\"StorageBusy\""), 1u);

  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  ASSERT_TRUE(commit(1));
  EXPECT_FALSE(db_->currentFault());
}

}  // namespace
}  // namespace botfn::storage::sqlite
