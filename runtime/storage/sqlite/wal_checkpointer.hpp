// Checkpoints the WAL on its own thread and connection. SQLite's automatic checkpoint runs inside
// the committing writer and ends in an fsync of the database file: every few megabytes of WAL the
// single writer (and every webhook waiting for it) stalled for the length of that fsync. Here the
// writer only notes the WAL size after each commit; this thread copies pages back and syncs while
// the writer keeps committing. The WAL starts over from its beginning only once a checkpoint
// copied all of it, which a concurrent one never does while commits keep coming; so past a hard
// limit the writer finishes the job itself, between two groups (copying the few pages the
// background pass left, then one sync): a short, rare pause instead of one every 4 MiB.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/metrics.hpp"
#include "storage/sqlite/connection.hpp"

namespace botfn::storage::sqlite {

struct CheckpointLimits {
  int passive_pages = 1000;    // new WAL pages per checkpoint (SQLite's own default, ~4 MiB)
  int catch_up_pages = 32768;  // ~128 MiB: the writer checkpoints itself if the WAL got this big
};

class WalCheckpointer {
 public:
  // Installs a WAL hook on writer (which keeps its own connection) and starts the thread.
  WalCheckpointer(sqlite3* writer, const std::filesystem::path& path, CheckpointLimits limits,
                  Metrics& metrics);
  ~WalCheckpointer();  // stops the thread; the writer's close does the final checkpoint
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

 private:
  static int onCommit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void run();

  sqlite3* writer_;
  CheckpointLimits limits_;
  Metrics& metrics_;
  std::atomic<uint64_t>& passive_;
  std::atomic<uint64_t>& catch_up_;
  Connection connection_;
  std::atomic<int> checkpointed_{0};  // WAL size the last checkpoint covered
  std::mutex mutex_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace botfn::storage::sqlite
