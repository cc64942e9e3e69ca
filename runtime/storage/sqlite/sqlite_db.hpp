// SQLite plumbing for the embedded backend: one writer thread that group-commits every pending
// job in one BEGIN IMMEDIATE transaction (redone with a savepoint per job when one fails), a pool
// of read-only connections, $N → ?N parameter rewriting and value binding. Only storage/sqlite
// includes sqlite3.h.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/wal_checkpointer.hpp"
#include "storage/types.hpp"

namespace botfn::storage::sqlite {

// PRAGMA synchronous of the writer (WAL mode). Both survive a process crash (kill -9): a commit
// is in the OS page cache once COMMIT returns. Only Full also survives power loss or an OS crash:
// it fsyncs the WAL at every commit (group), Normal only at checkpoints.
enum class Synchronous { Full, Normal };

struct SqliteOptions {
  std::filesystem::path path = "botfn.db";
  int64_t max_page_count = 0;  // test-only: caps the file to provoke "database or disk is full"
  size_t read_connections = 4;
  CheckpointLimits checkpoints{};
  Synchronous synchronous = Synchronous::Full;
};

// A write job runs inside the group transaction; an error rolls back only its own writes.
// apply may run twice (the group is redone with savepoints when one job fails): it must apply
// the same writes again and keep its inputs intact. after runs on the writer thread once the
// transaction committed (or failed), with the result.
struct WriteJob {
  std::function<Result<void>(sqlite3*)> apply;
  std::function<void(Result<void>)> after;
};

class SqliteDb {
 public:
  SqliteDb(SqliteOptions options, Metrics& metrics);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  void write(WriteJob job);
  size_t backlog() const { return backlog_.load(std::memory_order_relaxed); }
  // Runs fn with a pooled read-only connection.
  template <typename Fn>
  auto read(Fn&& fn) {
    struct Return {
      SqliteDb* self;
      std::unique_ptr<Connection> connection;
      ~Return() { self->checkinReader(std::move(connection)); }
    } guard{this, checkoutReader()};
    Connection::Use use(*guard.connection);
    return fn(guard.connection->get());
  }
  // Runs a write synchronously (start-up work: schema, migrations).
  Result<void> writeSync(std::function<Result<void>(sqlite3*)> apply);

 private:
  void run();
  // BEGINs and applies the batch (one result per job); an error means the whole group failed.
  Result<void> applyGroup(std::deque<WriteJob>& batch, std::vector<Result<void>>& results);
  std::unique_ptr<Connection> checkoutReader();
  void checkinReader(std::unique_ptr<Connection> connection);

  SqliteOptions options_;
  Metrics& metrics_;
  std::unique_ptr<Connection> writer_connection_;
  sqlite3* writer_ = nullptr;  // writer_connection_'s handle
  std::unique_ptr<WalCheckpointer> checkpointer_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<WriteJob> jobs_;
  std::atomic<size_t> backlog_{0};
  bool stopping_ = false;
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> readers_;
  std::thread thread_;
};

// Runs one write's completion on the writer thread: one that throws must not keep the others
// (of the group, or of a coalesced job) from theirs.
template <typename Fn, typename... Args>
void runCompletion(Fn& done, Args&&... args) {
  if (!done) return;
  try {
    done(std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    log::get("storage")->error("write completion threw: {}", e.what());
  }
}

// Helpers shared by the store and the bus.
std::string rewriteParams(std::string_view sql);  // $N → ?N outside quotes and comments
Result<void> exec(sqlite3* db, const char* sql);
Error sqliteError(sqlite3* db, int rc, std::string_view what);

// A prepared statement with RAII finalize.
class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  // Taken from the connection's cache (prepared on first use), reset (not finalized) when this
  // ends: for statements run per update, where preparing costs more than running them. Two
  // cached Stmts of the same SQL must not be alive at once on one connection.
  struct Cached {};
  Stmt(sqlite3* db, std::string_view sql, Cached);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return stmt_ != nullptr; }
  int prepareRc() const { return rc_; }
  sqlite3_stmt* get() { return stmt_; }
  Stmt& bindValue(int index, const SqlValue& value);
  Stmt& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Stmt& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Stmt& bind(int index, int64_t value);
  Stmt& bind(int index, std::string_view value);
  Stmt& bindNull(int index);
  int step();  // SQLITE_ROW / SQLITE_DONE / error
  int64_t int64(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col);
  SqlValue value(int col);

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
  bool cached_ = false;
};

// Runs a parameterless statement through the statement cache (SAVEPOINT, RELEASE, BEGIN...).
Result<void> execCached(sqlite3* db, const char* sql);

// Runs one statement with SqlValue parameters ($N rewritten); returns rows for queries.
Result<Rows> runStatement(sqlite3* db, const SqlStatement& statement);

}  // namespace botfn::storage::sqlite
