// The embedded backend: SqliteStore (Store) and SqliteBus (Bus) over one SqliteDb, so an update's
// commit and its queue ack share one writer and one transaction.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "storage/backend_options.hpp"
#include "storage/bus.hpp"
#include "storage/outbox_handover.hpp"
#include "storage/sqlite/coalesced_writes.hpp"
#include "storage/sqlite/retention.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/store.hpp"

namespace botfn::storage::sqlite {

// Applies the system schema (schemas/sql/sqlite, embedded at build time).
Result<void> applySystemSchema(SqliteDb& db);

// The connection settings of storage.* (openSqliteBackend's; tests check a key reaches them).
SqliteOptions sqliteOptionsOf(const EmbeddedOptions& embedded);

class SqliteStore final : public Store {
 public:
  // app_sql bounds the db.exec statements of each commit (their time together, each value's
  // size).
  explicit SqliteStore(SqliteDb& db, AppSqlBudget app_sql = {})
      : db_(db),
        app_sql_(app_sql),
        send_results_(
            db,
            [](sqlite3* sql, std::vector<SendResult>& sends) {
              return applySendResults(sql, sends);
            },
            [](Result<void> r, std::vector<SendResult>& sends) {
              completeSendResults(std::move(r), sends);
            }) {}

  using Store::query;
  Result<Rows> query(const SqlStatement& statement, const AppSqlLimits& limits) override;
  Result<bool> isProcessed(const std::string& bot, int64_t update_id) override;
  Result<Conversation> loadConversation(const ConversationKey& key) override;
  void commit(Commit commit, std::function<void(Result<void>)> done) override;
  Result<int> migrateApp(const std::string& app, const std::filesystem::path& dir) override;
  Result<std::vector<OutboxRow>> pendingOutbox(size_t limit, int64_t after_id = 0) override;
  Result<std::vector<int64_t>> pendingOutboxIds(size_t limit, int64_t after_id,
                                                int64_t up_to_id) override;
  void finishOutbox(int64_t id, OutboxResult result,
                    std::function<void(Result<void>)> done) override;
  Result<std::optional<int64_t>> messageIdOfHandle(const std::string& handle) override;
  void onOutboxCommitted(std::function<void(std::vector<OutboxRow>)> listener) override;
  Result<std::vector<DeadLetter>> deadLetters(size_t limit) override;
  Result<void> checkWritable() override;

 private:
  struct SendResult {
    int64_t id;
    OutboxResult result;
    std::function<void(Result<void>)> done;
  };
  static Result<void> applySendResults(sqlite3* db, std::vector<SendResult>& sends);
  static void completeSendResults(Result<void> r, std::vector<SendResult>& sends);

  SqliteDb& db_;
  AppSqlBudget app_sql_;
  OutboxHandover handover_;
  // Declared last, so destroyed first: it waits for its queued jobs, which use the members above.
  CoalescedWrites<SendResult> send_results_;
};

using QueueWindow = storage::QueueWindow;  // storage/backend_options.hpp

class SqliteBus final : public Bus {
 public:
  // dedupe_window_s: how long an update id is remembered per bot.
  SqliteBus(SqliteDb& db, int64_t dedupe_window_s, Retention retention = {},
            QueueWindow window = {});
  // Stops new refills first: the write queues below finish their jobs while being destroyed, and
  // an ack finishing then must not queue a refill into one already gone.
  ~SqliteBus() override;

  // Loads the first page of unacked entries (redelivery after a restart); the rest is read as
  // the window drains.
  Result<void> recover();

  void push(std::vector<InboundUpdate> items, std::optional<PollCursor> cursor,
            std::function<void(Result<std::vector<PushOutcome>>)> done) override;
  // Updates not yet durable plus the writer's other queued jobs.
  size_t writeBacklog() const override {
    return waiting_updates_.load(std::memory_order_relaxed) + db_.backlog();
  }
  QueueLoad queueLoad() const override;
  std::vector<QueueEntry> lease(size_t max, std::chrono::milliseconds wait) override;
  void ack(int64_t entry_id, std::function<void(Result<void>)> done) override;
  size_t depth() const override;
  void wakeAll() override;
  Result<std::optional<int64_t>> pollOffset(const std::string& bot) override;

 private:
  struct Push {
    std::vector<InboundUpdate> items;
    std::optional<PollCursor> cursor;
    std::function<void(Result<std::vector<PushOutcome>>)> done;
    std::vector<PushOutcome> outcomes;  // filled by applyPushes
    std::vector<int64_t> entry_ids;     // inbound row of each enqueued item, in order
  };
  struct Ack {
    int64_t entry_id;
    std::function<void(Result<void>)> done;
  };
  // A leased entry's share of the window, until its ack. Leases go out in id order, so the
  // deque is sorted by id; acked ones leave from the front.
  struct Leased {
    int64_t id;
    size_t bytes;
    bool acked;
  };
  // One page read from `inbound`: entries with id > after_id, in id order.
  struct Refill {
    int64_t after_id;
    size_t max_rows;
    size_t max_bytes;
    int64_t redelivered_through;   // ids up to here were queued before this start
    std::vector<QueueEntry> rows;  // filled by applyRefills
    bool complete = false;         // the read reached the end of `inbound`
  };
  Result<void> applyPushes(sqlite3* db, std::vector<Push>& pushes);
  void finishPushes(Result<void> r, std::vector<Push>& pushes);
  static Result<void> applyAcks(sqlite3* db, std::vector<Ack>& acks);
  void finishAcks(Result<void> r, std::vector<Ack>& acks);
  // Takes committed entries into the window, or leaves them (and every later one) in `inbound`.
  void enqueueCommitted(std::vector<QueueEntry> entries);
  // Queues a read of the next page from `inbound` when entries wait there and the window has
  // room for a page. Any thread.
  void maybeRefill();
  static Result<void> applyRefills(sqlite3* db, std::vector<Refill>& refills);
  void finishRefills(Result<void> r, std::vector<Refill>& refills);

  SqliteDb& db_;
  int64_t dedupe_window_s_;
  Retention retention_;
  QueueWindow window_;
  std::atomic<size_t> waiting_updates_{0};
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  // Under mutex_: the window (ready and leased entries), and where `inbound` continues.
  std::deque<QueueEntry> ready_;
  std::deque<Leased> leased_;
  size_t leased_count_ = 0;  // leased and not yet acked
  // Written under mutex_, read without it by queueLoad() (the webhook asks on every request).
  std::atomic<size_t> held_updates_{0};  // ready + leased unacked
  std::atomic<size_t> held_bytes_{0};
  std::atomic<bool> spilled_{false};  // entries past last_loaded_id_ wait in `inbound` only
  int64_t last_loaded_id_ = 0;        // highest id taken into the window
  bool refill_queued_ = false;
  bool closing_ = false;
  int64_t recovered_through_ = 0;  // the highest id found by recover()
  uint64_t wake_generation_ = 0;
  int64_t last_prune_ = 0;     // writer thread only
  int64_t prune_pending_ = 0;  // a prune ran in the group being committed
  bool prune_more_ = false;    // writer thread only: the last prune left rows for the next group
  bool prune_more_pending_ = false;
  // Declared last, so destroyed first: they wait for their queued jobs, which use the members
  // above.
  CoalescedWrites<Push> pushes_;
  CoalescedWrites<Ack> acks_;
  CoalescedWrites<Refill> refills_;
};

}  // namespace botfn::storage::sqlite
