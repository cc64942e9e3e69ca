// AppSql: what an app's scripts and migrations may do with SQL — read committed data (db.query)
// and apply the app's own migrations — under the app SQL rules: botfn's tables are refused, and
// statements are bounded. (An app's writes, db.exec, ride UpdateCommits::commit.)
#pragma once

#include <filesystem>

#include "core/error.hpp"
#include "storage/types.hpp"

namespace botfn::storage {

class AppSql {
 public:
  virtual ~AppSql() = default;

  // An app's read ($1-style parameters), stopped past `limits`. Safe from any thread.
  virtual Result<Rows> query(const SqlStatement& statement, const AppSqlLimits& limits) = 0;
  Result<Rows> query(const SqlStatement& statement) { return query(statement, AppSqlLimits{}); }
  // Applies the app's migrations/*.sql in name order, each once, each in its own transaction
  // (no time bound). Returns how many were applied now.
  virtual Result<int> migrateApp(const std::string& app, const std::filesystem::path& dir) = 0;
};

}  // namespace botfn::storage
