// The WAL is checkpointed off the writer thread, and it does not grow without bound under writes
// that never pause (a checkpoint that silently did nothing once let it reach a gigabyte).
#include "storage/sqlite/wal_checkpointer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "storage/sqlite/sqlite_db.hpp"

namespace botfn::storage::sqlite {
namespace {

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("botfn_wal_" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  Metrics metrics_;
};

uint64_t counterValue(Metrics& m, const std::string& labels) {
  return m.counter("botfn_sqlite_checkpoints_total", labels).load();
}

TEST_F(WalCheckpointerTest, KeepsTheWalBoundedUnderBackToBackWrites) {
  SqliteOptions options;
  options.path = dir_ / "db.sqlite";
  options.checkpoints = CheckpointLimits{20, 100};  // pages
  const std::string row(2000, 'x');
  std::uintmax_t largest_wal = 0;
  {
    SqliteDb db(options, metrics_);
    ASSERT_TRUE(db.writeSync([](sqlite3* c) { return exec(c, "CREATE TABLE t (v TEXT)"); }));
    // ~6000 pages of rows in 3000 back-to-back groups: without checkpoints the WAL would
    // hold all of them (~24 MiB).
    for (int i = 0; i < 3000; ++i) {
      ASSERT_TRUE(db.writeSync([&](sqlite3* c) {
        Stmt s(c, "INSERT INTO t (v) VALUES (?1)");
        s.bind(1, row);
        s.step();
        Stmt again(c, "INSERT INTO t (v) VALUES (?1)");
        again.bind(1, row);
        again.step();
        return Result<void>{};
      }));
      std::error_code ec;
      largest_wal = std::max(largest_wal, std::filesystem::file_size(dir_ / "db.sqlite-wal", ec));
    }
    const auto count = db.read([](sqlite3* c) {
      Stmt s(c, "SELECT count(*) FROM t");
      s.step();
      return s.int64(0);
    });
    EXPECT_EQ(count, 6000);
  }
  EXPECT_GT(counterValue(metrics_, "by=\"background\""), 0u);
  EXPECT_GT(counterValue(metrics_, "by=\"writer\""), 0u);
  // Well under the 24 MiB of an unchecked WAL: the log restarted from its beginning again and
  // again. (With both cores busy elsewhere a slow background pass holds the checkpoint lock
  // longer; 5 MiB was seen then — hence the margin.)
  EXPECT_LT(largest_wal, 12u << 20) << "the WAL grew to " << largest_wal << " bytes";
  // The last close checkpointed everything and removed the WAL; the data is in the database.
  EXPECT_FALSE(std::filesystem::exists(dir_ / "db.sqlite-wal"));
}

}  // namespace
}  // namespace botfn::storage::sqlite
