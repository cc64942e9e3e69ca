// openBackend: picks the backend by name. Each backend's library is linked PRIVATE to this one,
// so nothing above storage/ can reach a client library's types.
#include "storage/backend.hpp"

#include "storage/sqlite/sqlite_factory.hpp"

namespace botfn::storage {

Result<std::unique_ptr<Backend>> openBackend(const BackendOptions& options, Metrics& metrics) {
  if (options.kind == "sqlite") return sqlite::openSqliteBackend(options, metrics);
  return fail(ErrorCode::ConfigInvalid, "unknown storage backend '" + options.kind + "'");
}

}  // namespace botfn::storage
