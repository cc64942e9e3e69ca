// A fresh, empty embedded backend in a temp dir for tests: the SqliteDb, its Store and Bus, and
// reopen() over the same data (restart tests). The contract suites run against it; unit tests of
// stages that need real storage (dispatcher, sender, Lua runtime) use it too.
#pragma once

#include <filesystem>
#include <future>
#include <memory>
#include <random>

#include "await.hpp"
#include "core/metrics.hpp"
#include "storage/sqlite/sqlite_backend.hpp"

namespace botfn::storage::contract {

class SqliteBackend {
 public:
  SqliteBackend() {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("botfn_contract_" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    open();
  }
  ~SqliteBackend() {
    close();
    std::filesystem::remove_all(dir_);
  }
  void open(int64_t max_page_count = 0, int64_t dedupe_window_s = 3600) {
    db_ = std::make_unique<sqlite::SqliteDb>(
        sqlite::SqliteOptions{dir_ / "db.sqlite", max_page_count, 2}, metrics_);
    if (!sqlite::applySystemSchema(*db_)) throw std::runtime_error("schema");
    store_ = std::make_unique<sqlite::SqliteStore>(*db_);
    // Markers age with the dedupe window here, so one short window ages both in tests.
    bus_ = std::make_unique<sqlite::SqliteBus>(*db_, dedupe_window_s,
                                               sqlite::Retention{.processed_s = dedupe_window_s});
    if (!bus_->recover()) throw std::runtime_error("recover");
  }
  void close() {
    bus_.reset();
    store_.reset();
    db_.reset();
  }
  void reopen(int64_t max_page_count = 0, int64_t dedupe_window_s = 3600) {
    close();
    open(max_page_count, dedupe_window_s);
  }
  Store& store() { return *store_; }
  Bus& bus() { return *bus_; }
  sqlite::SqliteStore& sqliteStore() { return *store_; }
  sqlite::SqliteBus& sqliteBus() { return *bus_; }
  sqlite::SqliteDb& db() { return *db_; }
  Metrics& metrics() { return metrics_; }
  // botfn's own view of the database, for assertions: Store::query is an app's and may not read
  // botfn's tables.
  Result<Rows> systemQuery(const std::string& sql) {
    return db_->read([&](sqlite3* db) -> Result<Rows> {
      sqlite::Stmt s(db, sql);
      if (!s.ok()) return fail(ErrorCode::SqlError, sqlite3_errmsg(db));
      Rows rows;
      const int cols = sqlite3_column_count(s.get());
      for (int c = 0; c < cols; ++c) rows.columns.emplace_back(sqlite3_column_name(s.get(), c));
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        rows.rows.emplace_back();
        for (int c = 0; c < cols; ++c) rows.rows.back().push_back(s.value(c));
      }
      if (rc != SQLITE_DONE) return fail(ErrorCode::SqlError, sqlite3_errmsg(db));
      return rows;
    });
  }
  std::filesystem::path dir() const { return dir_; }

 private:
  Metrics metrics_;
  std::filesystem::path dir_;
  std::unique_ptr<sqlite::SqliteDb> db_;
  std::unique_ptr<sqlite::SqliteStore> store_;
  std::unique_ptr<sqlite::SqliteBus> bus_;
};

}  // namespace botfn::storage::contract
