// openBackend: picks the backend by name. Each backend's library is linked PRIVATE to this one,
// so nothing above storage/ can reach a client library's types.
#include "storage/backend.hpp"

#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "storage/postgres/pg_factory.hpp"
#include "storage/redis/redis_factory.hpp"
#include "storage/sqlite/sqlite_factory.hpp"

namespace botfn::storage {
namespace {

// "sqlite+redis": the embedded Store with the Bus on Redis. The embedded backend's own bus stays
// idle, except that an empty push once a minute runs its retention prune (sent outbox rows, dead
// letters, processed markers), which rides the embedded bus's write groups.
class SqliteRedisBackend final : public Backend {
 public:
  SqliteRedisBackend(std::unique_ptr<Backend> embedded, std::unique_ptr<Bus> bus)
      : embedded_(std::move(embedded)), bus_(std::move(bus)), pruner_([this] { pruneLoop(); }) {}
  ~SqliteRedisBackend() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    pruner_.join();
  }

  Store& store() override { return embedded_->store(); }
  Bus& bus() override { return *bus_; }
  // The Redis bus redelivers this consumer's unacked entries on its first lease.
  Result<void> recover() override { return embedded_->recover(); }
  std::optional<Error> currentFault() const override { return embedded_->currentFault(); }

 private:
  void pruneLoop() {
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return stopping_; }))
      embedded_->bus().push({}, std::nullopt, nullptr);
  }

  // Destroyed in reverse: the pruner stops (in the destructor), then the Redis bus finishes its
  // queued writes, then the embedded backend.
  std::unique_ptr<Backend> embedded_;
  std::unique_ptr<Bus> bus_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread pruner_;
};

// The queue side of "postgres+redis": the Bus on Redis and nothing else (PgBackend takes only
// bus(), recover() and currentFault() from its queue side), so several instances on one host
// share no file.
class RedisQueueBackend final : public Backend {
 public:
  explicit RedisQueueBackend(std::unique_ptr<Bus> bus) : bus_(std::move(bus)) {}
  Store& store() override { throw std::logic_error("the Redis queue side has no Store"); }
  Bus& bus() override { return *bus_; }
  // A restarted instance's unacked entries are claimed when it takes its partitions back.
  Result<void> recover() override { return {}; }
  std::optional<Error> currentFault() const override { return std::nullopt; }

 private:
  std::unique_ptr<Bus> bus_;
};

Result<std::unique_ptr<Bus>> openBus(const BackendOptions& options, Metrics& metrics) {
  if (options.redis_url.empty())
    return fail(ErrorCode::ConfigInvalid,
                "storage backend '" + options.kind + "' needs a Redis URL (storage.redis_url)");
  redis::RedisBusOptions o;
  o.url = options.redis_url;
  if (!options.redis_prefix.empty()) o.prefix = options.redis_prefix;
  o.consumer = options.instance;
  o.partitions = options.redis_partitions;
  o.lease_timeout = std::chrono::milliseconds(options.redis_lease_ms);
  o.dedupe_window_s = options.dedupe_window_s;
  o.window = options.window;
  return redis::openRedisBus(o, metrics);
}

Result<std::unique_ptr<Backend>> openSqliteRedis(const BackendOptions& options, Metrics& metrics) {
  auto bus = openBus(options, metrics);
  if (!bus) return tl::unexpected(bus.error());
  auto embedded = sqlite::openSqliteBackend(options, metrics);
  if (!embedded) return tl::unexpected(embedded.error());
  return std::unique_ptr<Backend>(
      std::make_unique<SqliteRedisBackend>(std::move(*embedded), std::move(*bus)));
}

}  // namespace

Result<std::unique_ptr<Backend>> openBackend(const BackendOptions& options, Metrics& metrics) {
  if (options.kind == "sqlite") return sqlite::openSqliteBackend(options, metrics);
  if (options.kind == "postgres") {
    // One instance: the queue stays embedded (storage.path), the data goes to PostgreSQL.
    auto queue = sqlite::openSqliteBackend(options, metrics);
    if (!queue) return queue;
    return postgres::openPostgresBackend(options, metrics, std::move(*queue));
  }
  if (options.kind == "sqlite+redis") return openSqliteRedis(options, metrics);
  if (options.kind == "postgres+redis") {
    // Several instances: the Store on PostgreSQL, the queue on Redis; no embedded file.
    auto bus = openBus(options, metrics);
    if (!bus) return tl::unexpected(bus.error());
    return postgres::openPostgresBackend(options, metrics,
                                         std::make_unique<RedisQueueBackend>(std::move(*bus)));
  }
  return fail(ErrorCode::ConfigInvalid, "unknown storage backend '" + options.kind + "'");
}

}  // namespace botfn::storage
