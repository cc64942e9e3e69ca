// App statements on PostgreSQL (db.query, db.exec, app migrations) under the app SQL rules: they
// run as role botfn_app (no privilege on schema botfn), with the update's remaining SQL time as
// statement_timeout, results read through a cursor in pages so the row and byte caps hold
// without loading more, and a guard that refuses what could switch the role back.
#pragma once

#include <pqxx/pqxx>

#include "core/error.hpp"
#include "storage/types.hpp"

namespace botfn::storage::postgres {

// Why the guard refuses sql ("" when it does not): SET/RESET ROLE, SET SESSION AUTHORIZATION,
// set_config(), and, for statements (not migrations), anything but SELECT, WITH, VALUES, TABLE,
// INSERT, UPDATE and DELETE. Quotes, dollar quotes and comments are skipped.
std::string refusalOf(const std::string& sql, bool migration);

// Runs one statement; rows are collected (db.query) or not (db.exec).
Result<Rows> runAppStatement(pqxx::transaction_base& txn, const SqlStatement& statement,
                             const AppSqlLimits& limits, bool collect);
// Runs an app migration script (several statements) as botfn_app, with no time bound.
Result<void> runAppScript(pqxx::transaction_base& txn, const std::string& sql);

}  // namespace botfn::storage::postgres
