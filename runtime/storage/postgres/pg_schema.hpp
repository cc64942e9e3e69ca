// Applies botfn's schema on PostgreSQL (schemas/sql/postgres, embedded at build time); refuses a
// file that changed after it was applied.
#pragma once

#include "storage/postgres/pg_db.hpp"

namespace botfn::storage::postgres {

Result<void> applySystemSchema(PgDb& db);

}  // namespace botfn::storage::postgres
