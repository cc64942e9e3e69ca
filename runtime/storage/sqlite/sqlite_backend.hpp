// The embedded backend: SqliteStore (Store) and SqliteBus (Bus) over one SqliteDb, so an update's
// commit and its queue ack share one writer and one transaction.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "storage/bus.hpp"
#include "storage/sqlite/coalesced_writes.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/store.hpp"

namespace botfn::storage::sqlite {

// Applies the system schema (schemas/sql/sqlite, embedded at build time).
Result<void> applySystemSchema(SqliteDb& db);

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(SqliteDb& db)
      : db_(db),
        send_results_(
            db,
            [](sqlite3* sql, std::vector<SendResult>& sends) {
              return applySendResults(sql, sends);
            },
            [](Result<void> r, std::vector<SendResult>& sends) {
              completeSendResults(std::move(r), sends);
            }) {}

  Result<Rows> query(const SqlStatement& statement) override;
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
  std::mutex listener_mutex_;
  std::function<void(std::vector<OutboxRow>)> outbox_listener_;
  // Declared last, so destroyed first: it waits for its queued jobs, which use the members above.
  CoalescedWrites<SendResult> send_results_;
};

class SqliteBus final : public Bus {
 public:
  // dedupe_window_s: how long an update id is remembered per bot.
  SqliteBus(SqliteDb& db, int64_t dedupe_window_s);

  // Loads every unacked entry (redelivery after a restart).
  Result<void> recover();

  void push(std::vector<InboundUpdate> items, std::optional<PollCursor> cursor,
            std::function<void(Result<std::vector<PushOutcome>>)> done) override;
  // Updates not yet durable plus the writer's other queued jobs.
  size_t writeBacklog() const override {
    return waiting_updates_.load(std::memory_order_relaxed) + db_.backlog();
  }
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
  Result<void> applyPushes(sqlite3* db, std::vector<Push>& pushes);
  void finishPushes(Result<void> r, std::vector<Push>& pushes);
  static Result<void> applyAcks(sqlite3* db, std::vector<Ack>& acks);
  void finishAcks(Result<void> r, std::vector<Ack>& acks);
  void enqueueReady(std::vector<QueueEntry> entries);

  SqliteDb& db_;
  int64_t dedupe_window_s_;
  std::atomic<size_t> waiting_updates_{0};
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<QueueEntry> ready_;
  size_t leased_ = 0;
  uint64_t wake_generation_ = 0;
  int64_t last_prune_ = 0;     // writer thread only
  int64_t prune_pending_ = 0;  // a prune ran in the group being committed
  // Declared last, so destroyed first: they wait for their queued jobs, which use the members
  // above.
  CoalescedWrites<Push> pushes_;
  CoalescedWrites<Ack> acks_;
};

}  // namespace botfn::storage::sqlite
