// One SQLite connection with its prepared-statement cache. Preparing a statement (parsing SQL,
// planning) costs more than running the small ones botfn runs per update, so each connection
// keeps its hot statements prepared; they are finalized before the connection closes.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace botfn::storage::sqlite {

class Connection {
 public:
  static constexpr size_t kMaxCachedStatements = 256;  // app SQL may be built at run time

  Connection(const std::filesystem::path& path, bool readonly);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* get() const { return db_; }
  // The cached statement for sql (prepared on first use), or nullptr when the cache is full or
  // sql does not prepare (the caller then prepares its own and reports the error). Statements
  // prepared inside an AppSqlScope (app_sql_guard.hpp) are cached apart from botfn's own.
  sqlite3_stmt* cached(std::string_view sql);

  // Marks this connection as the one the current thread uses, so Stmt(..., Cached) finds its
  // cache; restores the previous one when the scope ends.
  class Use {
   public:
    explicit Use(Connection& c);
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    Connection* previous_;
  };
  static Connection* current();

 private:
  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
  std::map<std::string, sqlite3_stmt*, std::less<>> app_statements_;
};

}  // namespace botfn::storage::sqlite
