// System schema for SQLite: the SQL files of schemas/sql/sqlite, embedded by CMake.
#include "storage/sqlite/schema_sql.hpp"
#include "storage/sqlite/sqlite_backend.hpp"

namespace botfn::storage::sqlite {

Result<void> applySystemSchema(SqliteDb& db) {
  return db.writeSync([](sqlite3* conn) { return exec(conn, kSystemSchemaSql); });
}

}  // namespace botfn::storage::sqlite
