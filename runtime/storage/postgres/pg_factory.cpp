// A PgDb with its schema and PgStore, paired with another backend's queue.
#include "storage/postgres/pg_factory.hpp"

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "core/log.hpp"
#include "storage/postgres/pg_retention.hpp"
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
        queue_side_(std::move(queue_side)),
        retention_(o.retention),
        pruner_([this] { pruneLoop(); }) {}
  // The pruner stops, then the queue goes: its pending work may still commit through the store.
  ~PgBackend() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    pruner_.join();
    queue_side_.reset();
  }

  Store& store() override { return store_; }
  Bus& bus() override { return queue_side_->bus(); }
  Result<void> recover() override { return queue_side_->recover(); }
  std::optional<Error> currentFault() const override {
    if (auto fault = db_.currentFault()) return fault;
    return queue_side_->currentFault();
  }
  PgDb& db() { return db_; }

 private:
  // Once per retention.prune_every_ms, and again at once while a round came back full.
  void pruneLoop() {
    auto wait = std::chrono::milliseconds(retention_.prune_every_ms);
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, wait, [&] { return stopping_; })) {
      lock.unlock();
      std::promise<Result<size_t>> result;
      auto future = result.get_future();
      db_.write(pruneJob(retention_, nowSeconds(),
                         [&result](Result<size_t> r) { result.set_value(std::move(r)); }));
      auto r = future.get();
      if (!r) log::get("storage")->warn("retention prune failed: {}", r.error().describe());
      const bool full = r && *r >= static_cast<size_t>(retention_.batch_rows);
      wait = full ? std::chrono::milliseconds(0)
                  : std::chrono::milliseconds(retention_.prune_every_ms);
      lock.lock();
    }
  }
  static int64_t nowSeconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  PgDb db_;
  PgStore store_;
  std::unique_ptr<Backend> queue_side_;
  Retention retention_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread pruner_;  // last: started once everything above exists
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
