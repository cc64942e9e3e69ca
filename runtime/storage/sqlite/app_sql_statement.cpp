// App statements: db.query and db.exec (runStatement) and app migrations (execAppScript), run
// under the app SQL rules (app_sql_guard.cpp: authorizer, time budget, size caps). Called by the
// store on a reader (queries) and on the writer thread (the commit's app writes).
#include <string>

#include "storage/sqlite/app_sql_guard.hpp"
#include "storage/sqlite/sqlite_db.hpp"

namespace botfn::storage::sqlite {

namespace {

// What one value costs against AppSqlLimits::max_bytes: 8 bytes, plus its text or blob.
size_t costOf(sqlite3_stmt* stmt, int col) {
  const int type = sqlite3_column_type(stmt, col);
  if (type != SQLITE_TEXT && type != SQLITE_BLOB) return 8;
  return 8 + static_cast<size_t>(sqlite3_column_bytes(stmt, col));
}

Error appSqlError(sqlite3* db, int rc, const AppSqlScope& scope, const AppSqlLimits& limits) {
  if (!scope.refusal().empty()) return Error{ErrorCode::SqlRefused, scope.refusal()};
  if (scope.timedOut() || (rc & 0xff) == SQLITE_INTERRUPT) {
    return Error{ErrorCode::SqlTimeout,
                 "statement stopped: it ran past the update's SQL time (lua.sql_budget_ms)"};
  }
  if ((rc & 0xff) == SQLITE_TOOBIG) {
    return Error{ErrorCode::SqlTooLarge, "a value is larger than " +
                                             std::to_string(limits.max_bytes) +
                                             " bytes (lua.sql_max_bytes)"};
  }
  Error e = sqliteError(db, rc, "step");
  // The app's statement failed unless the storage did (full, locked, I/O).
  if (!e.isStorageFault()) e.code = ErrorCode::SqlError;
  return e;
}

}  // namespace

Result<Rows> runStatement(sqlite3* db, const SqlStatement& statement, const AppSqlLimits& limits,
                          bool collect) {
  // The scope covers the steps too: SQLite re-prepares a cached statement after a schema
  // change, and compiles a trigger's body with the statement that fires it.
  AppSqlScope scope(db, limits.deadline, limits.max_bytes);
  if (leadingKeyword(statement.sql) == "VACUUM") {
    return fail(ErrorCode::SqlRefused, "VACUUM is not allowed in app SQL");
  }
  Stmt stmt(db, rewriteParams(statement.sql), Stmt::Cached{});
  if (!stmt.ok()) {
    if (!scope.refusal().empty()) return fail(ErrorCode::SqlRefused, scope.refusal());
    return fail(ErrorCode::SqlError, std::string("prepare: ") + sqlite3_errmsg(db));
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
    const auto& value = statement.params[static_cast<size_t>(n - 1)];
    // SQLite would refuse to bind it (past its length limit) and run the statement with NULL.
    if (const auto* text = std::get_if<std::string>(&value);
        text && text->size() > limits.max_bytes) {
      return fail(ErrorCode::SqlTooLarge, "parameter $" + std::to_string(n) + " is larger than " +
                                              std::to_string(limits.max_bytes) +
                                              " bytes (lua.sql_max_bytes)");
    }
    stmt.bindValue(i + 1, value);
  }
  Rows rows;
  const int cols = sqlite3_column_count(stmt.get());
  if (collect) {
    for (int c = 0; c < cols; ++c) rows.columns.emplace_back(sqlite3_column_name(stmt.get(), c));
  }
  size_t bytes = 0;
  while (true) {
    const int rc = stmt.step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return tl::unexpected(appSqlError(db, rc, scope, limits));
    if (!collect) continue;
    // Counted before the row is kept: past a cap the query fails holding at most the cap.
    if (rows.rows.size() >= limits.max_rows) {
      return fail(ErrorCode::SqlTooLarge, "the result has more than " +
                                              std::to_string(limits.max_rows) +
                                              " rows (lua.sql_max_rows); add a LIMIT");
    }
    for (int c = 0; c < cols; ++c) bytes += costOf(stmt.get(), c);
    if (bytes > limits.max_bytes) {
      return fail(ErrorCode::SqlTooLarge, "the result is larger than " +
                                              std::to_string(limits.max_bytes) +
                                              " bytes (lua.sql_max_bytes); add a LIMIT");
    }
    std::vector<SqlValue> row;
    row.reserve(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) row.push_back(stmt.value(c));
    rows.rows.push_back(std::move(row));
  }
  return rows;
}

Result<void> execAppScript(sqlite3* db, const std::string& sql) {
  AppSqlScope scope(db, std::chrono::steady_clock::time_point::max(), SIZE_MAX);
  const char* next = sql.c_str();
  while (*next) {
    if (leadingKeyword(next) == "VACUUM") {
      return fail(ErrorCode::SqlRefused, "VACUUM is not allowed in app SQL");
    }
    scope.nextStatement();
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db, next, -1, &raw, &tail);
    if (rc == SQLITE_OK && raw) {
      while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
      }
      if (rc == SQLITE_DONE) rc = SQLITE_OK;
    }
    sqlite3_finalize(raw);
    if (rc != SQLITE_OK) {
      if (!scope.refusal().empty()) return fail(ErrorCode::SqlRefused, scope.refusal());
      return fail(ErrorCode::SqlError, sqlite3_errmsg(db));
    }
    next = tail;
  }
  return {};
}

}  // namespace botfn::storage::sqlite
