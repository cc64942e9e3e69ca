// Writer thread with group commit, read pool, statement helpers.
#include "storage/sqlite/sqlite_db.hpp"

#include <chrono>
#include <future>
#include <optional>

#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace botfn::storage::sqlite {

Error sqliteError(sqlite3* db, int rc, std::string_view what) {
  const int base = rc & 0xff;
  ErrorCode code = ErrorCode::StorageWrite;
  if (base == SQLITE_FULL) code = ErrorCode::StorageFull;
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

Result<Rows> runStatement(sqlite3* db, const SqlStatement& statement) {
  std::optional<Stmt> prepared;
  {
    Connection::AppStatement app;
    prepared.emplace(db, rewriteParams(statement.sql), Stmt::Cached{});
  }
  Stmt& stmt = *prepared;
  if (!stmt.ok()) {
    std::string why = std::string("prepare: ") + sqlite3_errmsg(db);
    if (stmt.prepareRc() == SQLITE_AUTH) {
      why +=
          " (scripts cannot run BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE or ATTACH: each "
          "update's writes already commit together)";
    }
    return fail(ErrorCode::SqlError, why);
  }
  const int expected = sqlite3_bind_parameter_count(stmt.get());
  if (expected > static_cast<int>(statement.params.size())) {
    return fail(ErrorCode::SqlError, "statement expects " + std::to_string(expected) +
                                         " parameters, got " +
                                         std::to_string(statement.params.size()));
  }
  for (int i = 0; i < expected; ++i) {
    // ?N binds parameter N; a parameter index is its number
    const char* name = sqlite3_bind_parameter_name(stmt.get(), i + 1);
    int n = name ? std::atoi(name + 1) : i + 1;
    if (n < 1 || n > static_cast<int>(statement.params.size())) {
      return fail(ErrorCode::SqlError, "parameter out of range");
    }
    stmt.bindValue(i + 1, statement.params[static_cast<size_t>(n - 1)]);
  }
  Rows rows;
  const int cols = sqlite3_column_count(stmt.get());
  for (int c = 0; c < cols; ++c) rows.columns.emplace_back(sqlite3_column_name(stmt.get(), c));
  while (true) {
    const int rc = stmt.step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      Error e = sqliteError(db, rc, "step");
      if (e.code != ErrorCode::StorageFull) e.code = ErrorCode::SqlError;
      return tl::unexpected(e);
    }
    std::vector<SqlValue> row;
    row.reserve(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) row.push_back(stmt.value(c));
    rows.rows.push_back(std::move(row));
  }
  return rows;
}

SqliteDb::SqliteDb(SqliteOptions options, Metrics& metrics)
    : options_(std::move(options)), metrics_(metrics) {
  if (options_.path.has_parent_path())
    std::filesystem::create_directories(options_.path.parent_path());
  writer_connection_ = std::make_unique<Connection>(options_.path, false);
  writer_ = writer_connection_->get();
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
      if (!txn) {
        (void)exec(writer_, "ROLLBACK");
        Error e = txn.error();
        if (e.detail.find("full") != std::string::npos) e.code = ErrorCode::StorageFull;
        txn = tl::unexpected(e);
      }
    }
    if (!txn) failures.fetch_add(1, std::memory_order_relaxed);
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
}  // namespace

Result<void> SqliteDb::applyGroup(std::deque<WriteJob>& batch, std::vector<Result<void>>& results) {
  // First without savepoints: two statements per job saved, and jobs almost never fail.
  if (auto begun = execCached(writer_, "BEGIN IMMEDIATE"); !begun) return begun;
  bool all_applied = true;
  for (auto& job : batch) {
    auto r = applyJob(job, writer_);
    if (!r && sqlite3_get_autocommit(writer_))
      return r;  // SQLite rolled the group back (SQLITE_FULL)
    if (!r) {
      all_applied = false;
      break;
    }
  }
  if (all_applied) {
    results.assign(batch.size(), Result<void>{});
    return {};
  }
  // A job failed: undo the group and redo it with a savepoint per job, so only the failing jobs
  // lose their writes (jobs are re-runnable: they apply the same items again).
  (void)exec(writer_, "ROLLBACK");
  if (auto begun = execCached(writer_, "BEGIN IMMEDIATE"); !begun) return begun;
  for (auto& job : batch) {
    (void)execCached(writer_, "SAVEPOINT job");
    auto r = applyJob(job, writer_);
    if (!r && sqlite3_get_autocommit(writer_)) return r;
    if (!r) (void)execCached(writer_, "ROLLBACK TO job");
    (void)execCached(writer_, "RELEASE job");
    results.push_back(std::move(r));
  }
  return {};
}

std::unique_ptr<Connection> SqliteDb::checkoutReader() {
  {
    std::lock_guard lock(readers_mutex_);
    if (!readers_.empty()) {
      auto connection = std::move(readers_.back());
      readers_.pop_back();
      return connection;
    }
  }
  return std::make_unique<Connection>(options_.path, true);
}

void SqliteDb::checkinReader(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(readers_mutex_);
  if (readers_.size() < options_.read_connections) readers_.push_back(std::move(connection));
}

}  // namespace botfn::storage::sqlite
