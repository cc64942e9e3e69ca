#include "storage/sqlite/connection.hpp"

#include <mutex>
#include <stdexcept>

#include "storage/sqlite/app_sql_guard.hpp"

namespace botfn::storage::sqlite {
namespace {
thread_local Connection* t_current = nullptr;
// Before SQLite's first use: without memory statistics every allocation and free inside SQLite
// takes one process-wide mutex (measured: ~2 % of the server's CPU under load). botfn never asks
// SQLite for its memory figures. A no-op when something initialized SQLite first.
void configureLibraryOnce() {
  static std::once_flag once;
  std::call_once(once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}
}  // namespace

Connection::Connection(const std::filesystem::path& path, bool readonly) {
  configureLibraryOnce();
  const int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("cannot open database " + path.string() + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  installAppSqlGuard(db_);
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  for (auto& [sql, stmt] : app_statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

sqlite3_stmt* Connection::cached(std::string_view sql) {
  auto& statements = inAppSql() ? app_statements_ : statements_;
  if (auto it = statements.find(sql); it != statements.end()) return it->second;
  if (statements.size() >= kMaxCachedStatements) return nullptr;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK ||
      !stmt) {
    sqlite3_finalize(stmt);
    return nullptr;
  }
  statements.emplace(std::string(sql), stmt);
  return stmt;
}

Connection::Use::Use(Connection& c) : previous_(t_current) { t_current = &c; }
Connection::Use::~Use() { t_current = previous_; }
Connection* Connection::current() { return t_current; }

}  // namespace botfn::storage::sqlite
