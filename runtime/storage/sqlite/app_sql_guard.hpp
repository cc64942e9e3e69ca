// The rules for an app's SQL (db.query, db.exec, app migrations) on the embedded backend: an
// SQLite authorizer that keeps apps out of botfn's own tables and away from connection-wide
// statements, and a progress handler that stops a statement past its deadline. Installed on
// every Connection (connection.cpp); armed by an AppSqlScope around each app statement
// (runStatement in sqlite_db.cpp, migrateApp in sqlite_store.cpp).
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstddef>
#include <set>
#include <string>

namespace botfn::storage::sqlite {

// Installs the authorizer and the progress handler on a new connection. Both do nothing unless
// an AppSqlScope is alive on the calling thread.
void installAppSqlGuard(sqlite3* db);

// Names (lower case) of everything the system schema creates — tables, indexes and SQLite's
// own sqlite_sequence — derived once by running schemas/sql/sqlite on an in-memory database,
// so a table added to the schema is reserved without another list to keep.
const std::set<std::string>& reservedNames();

// True while an AppSqlScope is alive on this thread (Connection keeps app statements in a
// cache of their own).
bool inAppSql();

// While alive, statements prepared or run on this thread are an app's: the authorizer refuses
// botfn's tables, transaction control, ATTACH/DETACH, PRAGMA, VACUUM (through its ATTACH),
// ANALYZE, temporary objects and virtual tables; the progress handler interrupts the statement
// once `deadline` passes; no value may grow past max_value_bytes. The statement must run (not
// only be prepared) inside the scope: SQLite re-prepares a cached statement after a schema
// change, and a trigger's body is compiled with the statement that fires it.
class AppSqlScope {
 public:
  AppSqlScope(sqlite3* db, std::chrono::steady_clock::time_point deadline, size_t max_value_bytes);
  ~AppSqlScope();
  AppSqlScope(const AppSqlScope&) = delete;
  AppSqlScope& operator=(const AppSqlScope&) = delete;

  // Call before each statement of a script run in one scope (migrations).
  void nextStatement();
  // Why the authorizer refused a statement in this scope ("" when it did not), e.g.
  // `table "outbox" is reserved for botfn`.
  const std::string& refusal() const;
  // The progress handler stopped a statement of this scope at the deadline.
  bool timedOut() const;

 private:
  sqlite3* db_;
  int previous_length_limit_;
};

// The first keyword of a statement, upper case, after blanks and comments ("VACUUM").
std::string leadingKeyword(std::string_view sql);

}  // namespace botfn::storage::sqlite
