// One SqliteDb shared by SqliteStore and SqliteBus, so an update's commit and its queue ack ride
// one writer and one transaction.
#include "storage/sqlite/sqlite_factory.hpp"

#include "storage/sqlite/sqlite_backend.hpp"

namespace botfn::storage::sqlite {

SqliteOptions sqliteOptionsOf(const EmbeddedOptions& e) {
  SqliteOptions o;
  o.path = e.path;
  o.max_page_count = e.max_page_count;
  o.read_connections = e.read_connections;
  o.busy_timeout_ms = e.busy_timeout_ms;
  o.synchronous = e.sync_every_commit ? Synchronous::Full : Synchronous::Normal;
  return o;
}

namespace {

class SqliteBackend final : public Backend {
 public:
  SqliteBackend(const BackendOptions& o, Metrics& metrics)
      : db_(sqliteOptionsOf(o.embedded), metrics),
        store_(db_, o.app_sql),
        bus_(db_, o.dedupe_window_s, o.retention, o.window) {}

  Store& store() override { return store_; }
  Bus& bus() override { return bus_; }
  Result<void> recover() override { return bus_.recover(); }
  std::optional<Error> currentFault() const override { return db_.currentFault(); }
  SqliteDb& db() { return db_; }

 private:
  // Destroyed in reverse: the bus and the store finish their queued writes before the db goes.
  SqliteDb db_;
  SqliteStore store_;
  SqliteBus bus_;
};

}  // namespace

Result<std::unique_ptr<Backend>> openSqliteBackend(const BackendOptions& options,
                                                   Metrics& metrics) {
  try {
    auto backend = std::make_unique<SqliteBackend>(options, metrics);
    if (auto r = applySystemSchema(backend->db()); !r) {
      return fail(r.error().code, "system schema: " + r.error().detail);
    }
    return std::unique_ptr<Backend>(std::move(backend));
  } catch (const std::exception& e) {  // the database could not be opened
    return fail(ErrorCode::StorageUnavailable, e.what());
  }
}

}  // namespace botfn::storage::sqlite
