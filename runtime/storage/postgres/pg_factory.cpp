// A PgDb with its schema and PgStore, paired with another backend's queue.
#include "storage/postgres/pg_factory.hpp"

#include "storage/postgres/pg_schema.hpp"
#include "storage/postgres/pg_store.hpp"

namespace botfn::storage::postgres {
namespace {

PgOptions pgOptionsOf(const PostgresOptions& o) {
  PgOptions out;
  out.url = o.url;
  out.read_connections = o.read_connections;
  out.connect_timeout = std::chrono::seconds(o.connect_timeout_s);
  out.max_group_jobs = o.max_group_jobs;
  return out;
}

class PgBackend final : public Backend {
 public:
  PgBackend(const BackendOptions& o, Metrics& metrics, std::unique_ptr<Backend> queue_side)
      : db_(pgOptionsOf(o.postgres), metrics),
        store_(db_, o.app_sql),
        queue_side_(std::move(queue_side)) {}
  // The queue goes first: its pending work may still commit through the store.
  ~PgBackend() override { queue_side_.reset(); }

  Store& store() override { return store_; }
  Bus& bus() override { return queue_side_->bus(); }
  Result<void> recover() override { return queue_side_->recover(); }
  std::optional<Error> currentFault() const override {
    if (auto fault = db_.currentFault()) return fault;
    return queue_side_->currentFault();
  }
  PgDb& db() { return db_; }

 private:
  PgDb db_;
  PgStore store_;
  std::unique_ptr<Backend> queue_side_;
};

}  // namespace

Result<std::unique_ptr<Backend>> openPostgresBackend(const BackendOptions& options,
                                                     Metrics& metrics,
                                                     std::unique_ptr<Backend> queue_side) {
  if (options.postgres.url.empty()) {
    return fail(ErrorCode::ConfigInvalid, "storage.postgres_url (DATABASE_URL) is not set");
  }
  try {
    auto backend = std::make_unique<PgBackend>(options, metrics, std::move(queue_side));
    if (auto r = applySystemSchema(backend->db()); !r) {
      return fail(r.error().code, "system schema: " + r.error().detail);
    }
    return std::unique_ptr<Backend>(std::move(backend));
  } catch (const std::exception& e) {  // the server cannot be reached (the URL is redacted)
    return fail(ErrorCode::StorageUnavailable, e.what());
  }
}

}  // namespace botfn::storage::postgres
