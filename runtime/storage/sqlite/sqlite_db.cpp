// Writer thread with group commit, read pool, statement helpers. App statements (db.query,
// db.exec, app migrations) run in app_sql_statement.cpp.
#include "storage/sqlite/sqlite_db.hpp"

#include <chrono>
#include <future>
#include <optional>

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "storage/sqlite/app_sql_guard.hpp"

namespace botfn::storage::sqlite {

ErrorCode storageCodeOf(int rc) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return ErrorCode::StorageFull;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:  // a WAL lock race that outlived the retries
      return ErrorCode::StorageBusy;
    case SQLITE_IOERR:
    case SQLITE_READONLY:  // the file or its file system turned read-only
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_NOLFS:
      return ErrorCode::StorageIo;
    case SQLITE_CANTOPEN:
      return ErrorCode::StorageUnavailable;
    default:
      // The statement, not the medium (a constraint, a schema mismatch, misuse).
      return ErrorCode::StorageWrite;
  }
}

Error sqliteError(sqlite3* db, int rc, std::string_view what) {
  const ErrorCode code = storageCodeOf(rc);
  std::string detail(what);
  detail += ": ";
  detail += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code, std::move(detail)};
}

Result<void> exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Error e = sqliteError(db, rc, "exec");
    e.detail = std::string("exec: ") + msg;
    return tl::unexpected(e);
  }
  return {};
}

std::string rewriteParams(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // copy quoted text verbatim ('' escapes included)
      const size_t end = sql.find(c, i + 1);
      const size_t stop = end == std::string_view::npos ? sql.size() : end + 1;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      const size_t stop = end == std::string_view::npos ? sql.size() : end;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '$' && i + 1 < sql.size() &&
               std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      out.push_back('?');  // SQLite numbers "$N" by first appearance; "?N" keeps N
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Stmt::Stmt(sqlite3* db, std::string_view sql) {
  rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc_ != SQLITE_OK) stmt_ = nullptr;
}

Stmt::Stmt(sqlite3* db, std::string_view sql, Cached) {
  Connection* connection = Connection::current();
  if (connection && connection->get() == db) {
    if (sqlite3_stmt* stmt = connection->cached(sql)) {
      stmt_ = stmt;
      cached_ = true;
      return;
    }
  }
  // Not one of SqliteDb's connections, a full cache, or SQL that does not prepare: prepare it
  // here, so the error (if any) is reported as usual.
  rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc_ != SQLITE_OK) stmt_ = nullptr;
}

Stmt::~Stmt() {
  if (!stmt_) return;
  if (cached_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  } else {
    sqlite3_finalize(stmt_);
  }
}

Result<void> execCached(sqlite3* db, const char* sql) {
  Stmt s(db, sql, Stmt::Cached{});
  if (!s.ok()) return tl::unexpected(sqliteError(db, s.prepareRc(), sql));
  const int rc = s.step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return tl::unexpected(sqliteError(db, rc, sql));
  return {};
}
Stmt& Stmt::bindValue(int index, const SqlValue& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          sqlite3_bind_null(stmt_, index);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          sqlite3_bind_int64(stmt_, index, v);
        } else if constexpr (std::is_same_v<T, double>) {
          sqlite3_bind_double(stmt_, index, v);
        } else {
          sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        }
      },
      value);
  return *this;
}
Stmt& Stmt::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Stmt& Stmt::bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}
int Stmt::step() { return sqlite3_step(stmt_); }
std::string Stmt::text(int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}
SqlValue Stmt::value(int col) {
  switch (sqlite3_column_type(stmt_, col)) {
    case SQLITE_INTEGER:
      return int64(col);
    case SQLITE_FLOAT:
      return sqlite3_column_double(stmt_, col);
    case SQLITE_NULL:
      return std::monostate{};
    default:
      return text(col);
  }
}

SqliteDb::SqliteDb(SqliteOptions options, Metrics& metrics)
    : options_(std::move(options)), metrics_(metrics) {
  if (options_.path.has_parent_path())
    std::filesystem::create_directories(options_.path.parent_path());
  writer_connection_ = std::make_unique<Connection>(options_.path, false);
  writer_ = writer_connection_->get();
  sqlite3_busy_timeout(writer_, options_.busy_timeout_ms);
  // WAL + FULL (the default): a 2xx update survives power loss too, for one fsync per write
  // group; NORMAL drops that fsync and survives only process crashes (docs/operations.md).
  // The WAL is checkpointed by WalCheckpointer, off the writer thread; after a burst the file is
  // cut back to 64 MiB.
  const char* synchronous = options_.synchronous == Synchronous::Full ? "PRAGMA synchronous=FULL"
                                                                      : "PRAGMA synchronous=NORMAL";
  for (const char* pragma : {"PRAGMA journal_mode=WAL", synchronous, "PRAGMA foreign_keys=ON",
                             "PRAGMA temp_store=MEMORY", "PRAGMA journal_size_limit=67108864"}) {
    if (auto r = exec(writer_, pragma); !r) throw std::runtime_error(r.error().describe());
  }
  if (options_.max_page_count > 0) {
    const std::string pragma = "PRAGMA max_page_count=" + std::to_string(options_.max_page_count);
    (void)exec(writer_, pragma.c_str());
  }
  checkpointer_ =
      std::make_unique<WalCheckpointer>(writer_, options_.path, options_.checkpoints, metrics_);
  thread_ = std::thread([this] {
    nameThisThread("botfn-sqlite");
    run();
  });
}

SqliteDb::~SqliteDb() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  checkpointer_.reset();
  readers_.clear();
  writer_connection_.reset();
}

void SqliteDb::write(WriteJob job) {
  backlog_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

Result<void> SqliteDb::writeSync(std::function<Result<void>(sqlite3*)> apply) {
  std::promise<Result<void>> promise;
  auto future = promise.get_future();
  write(WriteJob{std::move(apply), [&promise](Result<void> r) { promise.set_value(r); }});
  return future.get();
}

void SqliteDb::run() {
  Connection::Use use(*writer_connection_);
  auto& batch_size =
      metrics_.histogram("botfn_commit_batch_size", "", {1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
  auto& commit_seconds = metrics_.histogram("botfn_commit_seconds");
  auto& failures = metrics_.counter("botfn_commit_failures_total");
  while (true) {
    std::deque<WriteJob> batch;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty() && stopping_) return;
      batch.swap(jobs_);  // group commit: everything pending, no added delay
    }
    const auto started = std::chrono::steady_clock::now();
    std::vector<Result<void>> results;
    Result<void> txn = applyGroup(batch, results);
    if (txn) {
      txn = execCached(writer_, "COMMIT");
      if (!txn) (void)exec(writer_, "ROLLBACK");
    }
    if (!txn) failures.fetch_add(1, std::memory_order_relaxed);
    noteFaults(txn, results);
    batch_size.observe(static_cast<double>(batch.size()));
    commit_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    backlog_.fetch_sub(batch.size(), std::memory_order_relaxed);
    for (size_t i = 0; i < batch.size(); ++i) {
      auto& after = batch[i].after;
      runCompletion(after, txn ? std::move(results[i]) : Result<void>(tl::unexpected(txn.error())));
    }
  }
}

namespace {
Result<void> applyJob(WriteJob& job, sqlite3* db) {
  try {
    return job.apply(db);
  } catch (const std::exception& e) {
    return fail(ErrorCode::StorageWrite, e.what());
  }
}

// A job's own failure, as opposed to the storage failing under the whole group. SQLite rolls the
// whole transaction back when it interrupts a writing statement (an app's runaway INSERT ...
// SELECT stopped at its deadline): that still fails only the job whose statement it was.
bool isJobsOwnFailure(const Error& e) {
  return e.code == ErrorCode::SqlError || e.code == ErrorCode::SqlRefused ||
         e.code == ErrorCode::SqlTimeout || e.code == ErrorCode::SqlTooLarge;
}
}  // namespace

Result<void> SqliteDb::applyGroup(std::deque<WriteJob>& batch, std::vector<Result<void>>& results) {
  results.assign(batch.size(), Result<void>{});
  std::vector<bool> failed(batch.size(), false);
  // First without savepoints: two statements per job saved, and jobs almost never fail. When a
  // job fails, the group is undone and redone with a savepoint per job, so only the failing jobs
  // lose their writes (jobs are re-runnable: they apply the same items again). A job that failed
  // is not run again: its failure stands, and a runaway statement costs the writer its time
  // budget once, not once per pass.
  bool savepoints = false;
  while (true) {
    if (auto begun = execCached(writer_, "BEGIN IMMEDIATE"); !begun) return begun;
    bool redo = false;
    for (size_t i = 0; i < batch.size() && !redo; ++i) {
      if (failed[i]) continue;
      if (savepoints) (void)execCached(writer_, "SAVEPOINT job");
      auto r = applyJob(batch[i], writer_);
      if (r) {
        if (savepoints) (void)execCached(writer_, "RELEASE job");
        continue;
      }
      const bool rolled_back = sqlite3_get_autocommit(writer_);
      if (rolled_back && !isJobsOwnFailure(r.error())) return r;  // SQLITE_FULL: the group failed
      failed[i] = true;
      results[i] = std::move(r);
      if (rolled_back || !savepoints) {
        if (!rolled_back) (void)exec(writer_, "ROLLBACK");
        savepoints = true;
        redo = true;
      } else {
        (void)execCached(writer_, "ROLLBACK TO job");
        (void)execCached(writer_, "RELEASE job");
      }
    }
    if (!redo) return {};
  }
}

Result<std::unique_ptr<Connection>> SqliteDb::checkoutReader() {
  {
    std::lock_guard lock(readers_mutex_);
    if (!readers_.empty()) {
      auto connection = std::move(readers_.back());
      readers_.pop_back();
      return connection;
    }
  }
  try {
    auto connection = std::make_unique<Connection>(options_.path, true);
    sqlite3_busy_timeout(connection->get(), options_.busy_timeout_ms);
    return connection;
  } catch (const std::exception& e) {
    // Out of file descriptors, the file gone: the storage's fault, not the reader's caller's.
    noteFault(Error{ErrorCode::StorageUnavailable, e.what()});
    return fail(ErrorCode::StorageUnavailable, e.what());
  }
}

void SqliteDb::noteFault(const Error& error) {
  metrics_.counter("botfn_storage_faults_total", "code=\"" + std::string(error.name()) + "\"")++;
  std::lock_guard lock(fault_mutex_);
  fault_ = error;
  has_fault_.store(true, std::memory_order_relaxed);
}

void SqliteDb::noteFaults(const Result<void>& txn, const std::vector<Result<void>>& results) {
  if (!txn) {
    if (txn.error().isStorageFault()) noteFault(txn.error());
    return;
  }
  bool faulted = false;
  for (const auto& r : results) {
    if (!r && r.error().isStorageFault()) {
      noteFault(r.error());
      faulted = true;
    }
  }
  if (!faulted && has_fault_.load(std::memory_order_relaxed)) {
    std::lock_guard lock(fault_mutex_);
    fault_.reset();
    has_fault_.store(false, std::memory_order_relaxed);
  }
}

std::optional<Error> SqliteDb::currentFault() const {
  if (!has_fault_.load(std::memory_order_relaxed)) return std::nullopt;
  std::lock_guard lock(fault_mutex_);
  return fault_;
}

void SqliteDb::checkinReader(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(readers_mutex_);
  if (readers_.size() < options_.read_connections) readers_.push_back(std::move(connection));
}

}  // namespace botfn::storage::sqlite
