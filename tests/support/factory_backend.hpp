// A fresh backend opened through storage::openBackend(), the way serve() opens one, in a temp
// dir, with reopen() over the same data (restart cases). The contract suites run against it, so
// they see only the narrow interfaces; a backend plugs in with one more Kind, which starts its
// private server (RedisKind: sharedRedis()).
#pragma once

#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>

#include "await.hpp"
#include "core/metrics.hpp"
#include "storage/backend.hpp"
#include "test_servers.hpp"

namespace botfn::storage::contract {

// Everything in one SQLite file.
struct EmbeddedKind {
  static void configure(BackendOptions& o, const std::filesystem::path& dir) {
    o.kind = "sqlite";
    o.embedded.path = dir / "db.sqlite";
    o.embedded.read_connections = 2;
  }
};

// The Store on a fresh database of the test binary's private PostgreSQL server (the queue
// stays embedded).
struct PostgresKind {
  static void configure(BackendOptions& o, const std::filesystem::path& dir) {
    o.kind = "postgres";
    o.embedded.path = dir / "queue.sqlite";
    o.embedded.read_connections = 2;
    o.postgres.url = testing::sharedPostgres().createDatabase();
    o.postgres.read_connections = 2;
  }
};

// The embedded Store with the Bus on the test's private Redis. The key prefix is named after the
// fixture's dir, so reopen() (a restart) finds the same keys and no other fixture sees them.
struct SqliteRedisKind {
  static void configure(BackendOptions& o, const std::filesystem::path& dir) {
    EmbeddedKind::configure(o, dir);
    o.kind = "sqlite+redis";
    o.redis_url = botfn::testing::sharedRedis().url();
    o.redis_prefix = dir.filename().string() + ":";
  }
};

template <typename Kind>
class FactoryBackend {
 public:
  FactoryBackend() {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("botfn_contract_" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    Kind::configure(base_, dir_);  // once: a reopen finds the same data
    open();
  }
  ~FactoryBackend() {
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }
  // max_page_count > 0 caps the embedded file (a full disk); markers age with the dedupe window
  // here, so one short window ages both.
  void open(int64_t max_page_count = 0, int64_t dedupe_window_s = 3600) {
    BackendOptions o = base_;
    o.embedded.max_page_count = max_page_count;
    o.dedupe_window_s = dedupe_window_s;
    o.retention.processed_s = dedupe_window_s;
    auto opened = openBackend(o, metrics_);
    if (!opened) throw std::runtime_error("open: " + opened.error().describe());
    backend_ = std::move(*opened);
    if (!backend_->recover()) throw std::runtime_error("recover");
  }
  void reopen(int64_t max_page_count = 0, int64_t dedupe_window_s = 3600) {
    backend_.reset();
    open(max_page_count, dedupe_window_s);
  }
  Store& store() { return backend_->store(); }
  Bus& bus() { return backend_->bus(); }
  Metrics& metrics() { return metrics_; }
  std::filesystem::path dir() const { return dir_; }

 private:
  Metrics metrics_;
  std::filesystem::path dir_;
  BackendOptions base_;
  std::unique_ptr<Backend> backend_;
};

}  // namespace botfn::storage::contract
