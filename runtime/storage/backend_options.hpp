// What the composition root tells a backend, from the configuration: which backend, the embedded
// database's settings, the queue's dedupe window and memory window, retention and the app SQL
// budget. No backend types here: storage/backend.cpp turns these into a backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "storage/types.hpp"

namespace botfn::storage {

// Retention of botfn's bookkeeping: sent outbox rows, dead letters, processed markers and dedupe
// ids older than their age are deleted in bounded batches.
struct Retention {
  int64_t processed_s = 72 * 3600;      // processed markers (never while the entry is queued)
  int64_t sent_outbox_s = 168 * 3600;   // outbox rows in state sent or failed
  int64_t dead_letters_s = 30 * 86400;  // dead letters (what `botfn dlq list` can show)
  int64_t batch_rows = 1000;            // rows per table per write group: the writer never stalls
  int64_t prune_every_ms = 60000;       // PostgreSQL: how often the pruner runs (tests: less)
};

// How much of the queue the bus holds in memory; the rest waits in storage and is read back in
// order as the window drains (ingest.max_queued_updates / max_queued_bytes).
struct QueueWindow {
  size_t max_updates = 20000;
  size_t max_bytes = 64 << 20;
  size_t page_rows = 1000;  // rows per read from storage
};

// The embedded database (storage.* keys).
struct EmbeddedOptions {
  std::filesystem::path path = "botfn.db";
  int64_t max_page_count = 0;  // test-only: caps the file to provoke "database or disk is full"
  size_t read_connections = 4;
  int busy_timeout_ms = 5000;
  // fsync every commit group (survives power loss) or only at checkpoints (survives a process
  // crash only); see docs/operations.md.
  bool sync_every_commit = true;
};

// The production Store (storage.postgres_url / DATABASE_URL).
struct PostgresOptions {
  std::string url;  // postgresql://user[:password]@host:port/db; the password is never logged
  size_t read_connections = 4;
  int connect_timeout_s = 5;
  // Jobs one writer transaction carries at most; 0 = every pending job (group commit). Not a
  // config key: bench/pg_commit_bench sets 1 to measure what group commit gives.
  size_t max_group_jobs = 0;
};

struct BackendOptions {
  // "sqlite": everything embedded. "postgres": the Store on PostgreSQL, the queue embedded (one
  // instance). "sqlite+redis": the embedded Store with the Bus on Redis. "postgres+redis": both
  // services (several instances).
  std::string kind = "sqlite";
  EmbeddedOptions embedded;
  PostgresOptions postgres;
  std::string redis_url;     // redis://[:password@]host[:port][/db], for kinds with "redis"
  std::string redis_prefix;  // every Redis key starts with it ("" is "botfn:")
  // With Redis: this instance's name (unique among the instances sharing the Bus; "" is the host
  // name), how many partitions the lanes are hashed into (all instances agree), and how long a
  // partition lease lives without renewal before another instance takes it over.
  std::string instance;
  size_t redis_partitions = 16;
  int64_t redis_lease_ms = 15000;
  int64_t dedupe_window_s = 3600;  // how long an update id is remembered per bot
  Retention retention;
  QueueWindow window;
  AppSqlBudget app_sql;  // bounds the db.exec statements of each commit
};

}  // namespace botfn::storage
