#include "storage/sqlite/wal_checkpointer.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace botfn::storage::sqlite {

WalCheckpointer::WalCheckpointer(sqlite3* writer, const std::filesystem::path& path,
                                 CheckpointLimits limits, Metrics& metrics)
    : writer_(writer),
      limits_(limits),
      metrics_(metrics),
      passive_(metrics.counter("botfn_sqlite_checkpoints_total", "by=\"background\"")),
      catch_up_(metrics.counter("botfn_sqlite_checkpoints_total", "by=\"writer\"")),
      connection_(path, false) {
  // A connection opens the WAL only once it has read the database; before that (SQLite 3.40)
  // a checkpoint through it is a silent no-op.
  if (sqlite3_exec(connection_.get(), "SELECT count(*) FROM sqlite_master", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(connection_.get());
    throw std::runtime_error("cannot read database " + path.string() + " for checkpoints: " + msg);
  }
  // Replaces SQLite's automatic checkpoint on the writer connection (which is also a WAL hook).
  sqlite3_wal_hook(writer_, &WalCheckpointer::onCommit, this);
  thread_ = std::thread([this] {
    nameThisThread("botfn-wal");
    run();
  });
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

int WalCheckpointer::onCommit(void* self, sqlite3* db, const char*, int wal_pages) {
  auto* me = static_cast<WalCheckpointer*>(self);
  if (wal_pages >= me->limits_.catch_up_pages) {
    // On the writer's connection between groups, nobody else writes: this copies everything,
    // and the next transaction starts the WAL over. (SQLite's own auto-checkpoint runs here too.)
    int log_pages = 0, copied = 0;
    if (sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied) ==
        SQLITE_OK) {
      me->catch_up_.fetch_add(1, std::memory_order_relaxed);
      me->checkpointed_.store(std::max(log_pages, 0), std::memory_order_relaxed);
    }
    return SQLITE_OK;
  }
  const int covered = me->checkpointed_.load(std::memory_order_relaxed);
  const int fresh = wal_pages >= covered ? wal_pages - covered : wal_pages;  // smaller: restarted
  if (fresh >= me->limits_.passive_pages) {
    {
      std::lock_guard lock(me->mutex_);
      me->wanted_ = true;
    }
    me->cv_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::run() {
  auto& seconds = metrics_.histogram("botfn_sqlite_checkpoint_seconds");
  while (true) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || wanted_; });
      if (stopping_) return;
      wanted_ = false;
    }
    const auto started = std::chrono::steady_clock::now();
    int log_pages = 0, copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(connection_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                             &log_pages, &copied);
    checkpointed_.store(std::max(log_pages, 0), std::memory_order_relaxed);
    seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    passive_.fetch_add(1, std::memory_order_relaxed);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      log::get("storage")->warn("WAL checkpoint failed: {}", sqlite3_errmsg(connection_.get()));
    }
  }
}

}  // namespace botfn::storage::sqlite
