// db: reads of committed data (db.query) and writes recorded for the commit (db.exec), both
// with $1-style parameters. There is no read-your-writes inside one update: exec applies later.
#include <lua.hpp>

#include <algorithm>
#include <chrono>

#include "lua/api/modules.hpp"
#include "lua/api/run_state.hpp"
#include "lua/binding.hpp"

namespace botfn::lua {
namespace {

RunState& run(lua_State* L, const char* api) {
  auto* r = hostContextAs<RunState>(L);
  if (!r) raiseError(L, "%s: not allowed outside an update handler", api);
  return *r;
}

storage::SqlStatement statementOf(lua_State* L, const char* api) {
  ArgReader args(L, api);
  storage::SqlStatement s;
  s.sql = std::string(args.string(1, "sql"));
  for (int i = 2; i <= args.count(); ++i) {
    switch (lua_type(L, i)) {
      case LUA_TNIL:
        s.params.emplace_back(std::monostate{});
        break;
      case LUA_TBOOLEAN:
        s.params.emplace_back(int64_t{lua_toboolean(L, i) ? 1 : 0});
        break;
      case LUA_TNUMBER: {
        const double d = lua_tonumber(L, i);
        if (d == static_cast<double>(static_cast<int64_t>(d))) {
          s.params.emplace_back(static_cast<int64_t>(d));
        } else {
          s.params.emplace_back(d);
        }
        break;
      }
      case LUA_TSTRING:
        s.params.emplace_back(std::string(stringAt(L, i)));
        break;
      default:
        args.fail(i - 1 + 1, "param", "nil, boolean, number or string");
    }
  }
  return s;
}

void pushValue(lua_State* L, const storage::SqlValue& v) {
  std::visit(
      [L](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          lua_pushnil(L);
        } else if constexpr (std::is_same_v<T, std::string>) {
          pushString(L, x);
        } else {
          lua_pushnumber(L, static_cast<lua_Number>(x));
        }
      },
      v);
}

// Raises "<api>: <detail>" with the store's error code (SqlRefused, SqlTimeout, ...), so the
// run fails with that code when the script does not catch it.
int raiseStoreError(lua_State* L, RunState& r, const char* api, const Error& e) {
  return raiseFailure(L, r, e.code, std::string(api) + ": " + e.detail);
}

/// @lua db.query(sql, ...) -> rows
/// @context update handler
/// @param sql string SQL with $1, $2... placeholders, bound to the following arguments
/// @return table an array of rows, each a table keyed by column name (NULL columns are absent)
/// @error raises "db.query: ..." when the SQL is invalid or refused: botfn's own tables (inbound,
/// processed, outbox, conversations, dead_letters, seen_updates, poll_offsets, app_migrations,
/// sqlite_sequence, and their indexes) can be neither read nor written; BEGIN, COMMIT, ROLLBACK,
/// SAVEPOINT, RELEASE, ATTACH, DETACH, PRAGMA, VACUUM, ANALYZE, temporary tables, virtual tables
/// and load_extension are refused (`db.query: table "outbox" is reserved for botfn`). The
/// update's queries share lua.sql_budget_ms of time: a statement still running when it is used up
/// is stopped (`SqlTimeout`). A result of more than lua.sql_max_rows rows or lua.sql_max_bytes
/// bytes (each value counts 8 bytes plus its text) fails (`SqlTooLarge`) without being held in
/// memory. Uncaught, these fail the update with their own error code. Reads only committed data
/// @example local rows = db.query("SELECT profile_id FROM users WHERE user_id = $1", ctx.user_id)
/// @example if #rows > 0 then ctx:reply(rows[1].profile_id) end
int dbQuery(lua_State* L) {
  RunState& r = run(L, "db.query");
  auto statement = statementOf(L, "db.query");
  const auto& budget = r.limits.sql;
  if (r.sql_used >= budget.time) {
    return raiseFailure(L, r, ErrorCode::SqlTimeout,
                        "db.query: this update used up its SQL time (lua.sql_budget_ms = " +
                            std::to_string(budget.time.count()) + ")");
  }
  const auto started = std::chrono::steady_clock::now();
  // The update's deadline bounds the statement too: SQL time is the update's time.
  const auto deadline = std::min(started + (budget.time - r.sql_used), r.deadline);
  Result<storage::Rows> rows;
  {
    BudgetPause pause(L);  // disk time is not script CPU time; it counts against the SQL budget
    rows = r.services->sql->query(statement, {deadline, budget.max_rows, budget.max_bytes});
  }
  r.sql_used += std::chrono::steady_clock::now() - started;
  if (!rows) return raiseStoreError(L, r, "db.query", rows.error());
  lua_createtable(L, static_cast<int>(rows->rows.size()), 0);
  int i = 1;
  for (const auto& row : rows->rows) {
    lua_createtable(L, 0, static_cast<int>(row.size()));
    for (size_t c = 0; c < row.size(); ++c) {
      pushValue(L, row[c]);
      lua_setfield(L, -2, rows->columns[c].c_str());
    }
    lua_rawseti(L, -2, i++);
  }
  return 1;
}

/// @lua db.exec(sql, ...)
/// @context update handler
/// @param sql string an INSERT/UPDATE/DELETE with $1-style placeholders
/// @return nothing: the statement runs in this update's commit, after the handler returns
/// @error a failing statement fails the whole update's commit (nothing applies; the update is
/// retried). The rules of db.query apply (botfn's tables and connection-wide statements are
/// refused: the commit fails with `db.exec #1: table "outbox" is reserved for botfn`). The
/// update's db.exec statements share lua.sql_budget_ms in the commit, where a runaway would hold
/// up every chat's commit: past it the statement is stopped and only this update's commit fails.
/// Raises "db.exec: ..." (`EffectsTooLarge`) when the update would record more than
/// lua.effects_max_writes statements or lua.effects_max_bytes bytes (with its messages)
/// @example db.exec("INSERT INTO users (user_id, profile_id) VALUES ($1, $2)", ctx.user_id, text)
int dbExec(lua_State* L) {
  RunState& r = run(L, "db.exec");
  auto statement = statementOf(L, "db.exec");
  if (auto refused = effects::admitWrite(r.effects, statement, r.limits.effects)) {
    return raiseFailure(L, r, ErrorCode::EffectsTooLarge, "db.exec: " + *refused);
  }
  r.effects.writes.push_back(std::move(statement));
  return 0;
}

constexpr luaL_Reg kDb[] = {{"query", wrap<dbQuery>}, {"exec", wrap<dbExec>}, {nullptr, nullptr}};

}  // namespace

const luaL_Reg* dbFunctions() { return kDb; }

}  // namespace botfn::lua
