// botfn's schema on PostgreSQL: schemas/sql/postgres/*.sql, each applied once in name order under
// an advisory lock (instances starting together take turns), versioned by name and md5.
#include "storage/postgres/pg_schema.hpp"

#include "storage/postgres/pg_schema_sql.hpp"

namespace botfn::storage::postgres {

Result<void> applySystemSchema(PgDb& db) {
  return db.writeSync([](pqxx::transaction_base& txn) -> Result<void> {
    txn.exec("SELECT pg_advisory_xact_lock(hashtext('botfn schema'))");
    txn.exec0(
        "CREATE TABLE IF NOT EXISTS public.botfn_schema_migrations (name TEXT PRIMARY KEY, "
        "checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    for (const auto& [name, sql] : kSystemMigrations) {
      const auto found = txn.exec_params(
          "SELECT checksum = md5($2) FROM public.botfn_schema_migrations WHERE name = $1", name,
          sql);
      if (!found.empty()) {
        if (!found[0][0].as<bool>()) {
          return fail(ErrorCode::ConfigInvalid,
                      std::string("schema migration ") + name +
                          " changed after it was applied; add a new file instead");
        }
        continue;
      }
      txn.exec0(sql);
      txn.exec_params0(
          "INSERT INTO public.botfn_schema_migrations (name, checksum) VALUES ($1, md5($2))", name,
          sql);
    }
    return {};
  });
}

}  // namespace botfn::storage::postgres
