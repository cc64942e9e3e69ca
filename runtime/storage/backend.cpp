// openBackend: picks the backend by name. Each backend's library is linked PRIVATE to this one,
// so nothing above storage/ can reach a client library's types.
#include "storage/backend.hpp"

#include "storage/postgres/pg_factory.hpp"
#include "storage/sqlite/sqlite_factory.hpp"

namespace botfn::storage {

Result<std::unique_ptr<Backend>> openBackend(const BackendOptions& options, Metrics& metrics) {
  if (options.kind == "sqlite") return sqlite::openSqliteBackend(options, metrics);
  if (options.kind == "postgres") {
    // One instance: the queue stays embedded (storage.path), the data goes to PostgreSQL.
    auto queue = sqlite::openSqliteBackend(options, metrics);
    if (!queue) return queue;
    return postgres::openPostgresBackend(options, metrics, std::move(*queue));
  }
  return fail(ErrorCode::ConfigInvalid, "unknown storage backend '" + options.kind + "'");
}

}  // namespace botfn::storage
