// SqliteBus: the in-process inbound queue, persisted in the `inbound` table; dedupe through
// `seen_updates`; long-polling offsets in `poll_offsets`.
#include <chrono>

#include "storage/sqlite/sqlite_backend.hpp"

namespace botfn::storage::sqlite {
namespace {
int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

SqliteBus::SqliteBus(SqliteDb& db, int64_t dedupe_window_s)
    : db_(db),
      dedupe_window_s_(dedupe_window_s),
      pushes_(
          db, [this](sqlite3* sql, std::vector<Push>& pushes) { return applyPushes(sql, pushes); },
          [this](Result<void> r, std::vector<Push>& pushes) {
            finishPushes(std::move(r), pushes);
          }),
      acks_(
          db, [](sqlite3* sql, std::vector<Ack>& acks) { return applyAcks(sql, acks); },
          [this](Result<void> r, std::vector<Ack>& acks) { finishAcks(std::move(r), acks); }) {}

Result<void> SqliteBus::recover() {
  auto entries = db_.read([&](sqlite3* db) -> Result<std::vector<QueueEntry>> {
    Stmt s(db, "SELECT id, bot, update_id, lane, kind, body FROM inbound ORDER BY id");
    if (!s.ok()) return tl::unexpected(sqliteError(db, s.prepareRc(), "inbound"));
    std::vector<QueueEntry> out;
    while (s.step() == SQLITE_ROW) {
      out.push_back(
          QueueEntry{s.int64(0), s.text(1), s.int64(2), s.text(3), s.text(4), s.text(5), true});
    }
    return out;
  });
  if (!entries) return tl::unexpected(entries.error());
  enqueueReady(std::move(*entries));
  return {};
}

void SqliteBus::push(std::vector<InboundUpdate> items, std::optional<PollCursor> cursor,
                     std::function<void(Result<std::vector<PushOutcome>>)> done) {
  waiting_updates_.fetch_add(items.size(), std::memory_order_relaxed);
  pushes_.add(Push{std::move(items), std::move(cursor), std::move(done), {}, {}});
}

Result<void> SqliteBus::applyPushes(sqlite3* db, std::vector<Push>& pushes) {
  const int64_t now = nowSeconds();
  if (now - last_prune_ > 60) {  // writer thread only
    prune_pending_ = now;        // counts once the group commits (a redone group prunes again)
    // An id is forgotten only once its processed marker is gone too: a repeat of an update
    // that has a marker must stay a Duplicate (only redelivered entries look markers up).
    Stmt s(db,
           "DELETE FROM seen_updates WHERE seen_at < ?1 AND NOT EXISTS (SELECT 1 FROM processed p "
           "WHERE p.bot = seen_updates.bot AND p.update_id = seen_updates.update_id)");
    s.bind(1, now - dedupe_window_s_);
    s.step();
    // Processed markers only matter while their entry could be redelivered (still in inbound)
    // or repeated by Telegram (inside the dedupe window); older ones would only grow the file.
    Stmt p(db,
           "DELETE FROM processed WHERE processed_at < ?1 AND NOT EXISTS (SELECT 1 FROM inbound i "
           "WHERE i.bot = processed.bot AND i.update_id = processed.update_id)");
    p.bind(1, now - dedupe_window_s_);
    p.step();
  }
  Stmt seen(db, "INSERT OR IGNORE INTO seen_updates (bot, update_id, seen_at) VALUES (?1, ?2, ?3)",
            Stmt::Cached{});
  Stmt insert(db,
              "INSERT INTO inbound (bot, update_id, lane, kind, body, received_at) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
              Stmt::Cached{});
  if (!seen.ok() || !insert.ok())
    return tl::unexpected(sqliteError(db, SQLITE_ERROR, "prepare inbound"));
  for (auto& push : pushes) {
    push.outcomes.clear();
    push.entry_ids.clear();
    for (auto& item : push.items) {
      sqlite3_reset(seen.get());
      seen.bind(1, item.bot).bind(2, item.update_id).bind(3, now);
      int rc = seen.step();
      if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(db, rc, "dedupe"));
      if (sqlite3_changes(db) == 0) {
        push.outcomes.push_back(PushOutcome::Duplicate);
        continue;
      }
      sqlite3_reset(insert.get());
      insert.bind(1, item.bot)
          .bind(2, item.update_id)
          .bind(3, item.lane)
          .bind(4, item.kind)
          .bind(5, item.body)
          .bind(6, now);
      rc = insert.step();
      if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(db, rc, "enqueue"));
      push.outcomes.push_back(PushOutcome::Enqueued);
      push.entry_ids.push_back(sqlite3_last_insert_rowid(db));
    }
    if (push.cursor) {
      Stmt s(db,
             "INSERT INTO poll_offsets (bot, next_offset) VALUES (?1, ?2) "
             "ON CONFLICT (bot) DO UPDATE SET next_offset = excluded.next_offset",
             Stmt::Cached{});
      s.bind(1, push.cursor->bot).bind(2, push.cursor->next_offset);
      const int rc = s.step();
      if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(db, rc, "poll offset"));
    }
  }
  return {};
}

void SqliteBus::finishPushes(Result<void> r, std::vector<Push>& pushes) {
  if (r && prune_pending_) last_prune_ = prune_pending_;
  prune_pending_ = 0;
  size_t updates = 0;
  std::vector<QueueEntry> entries;
  for (auto& push : pushes) {
    updates += push.items.size();
    if (!r) continue;
    // The body moves into the in-memory entry (only now: applyPushes may run twice): the bus
    // keeps no other copy.
    auto id = push.entry_ids.begin();
    for (size_t i = 0; i < push.items.size() && i < push.outcomes.size(); ++i) {
      if (push.outcomes[i] != PushOutcome::Enqueued) continue;
      auto& item = push.items[i];
      entries.push_back(QueueEntry{*id++, std::move(item.bot), item.update_id, std::move(item.lane),
                                   std::move(item.kind), std::move(item.body)});
    }
  }
  waiting_updates_.fetch_sub(updates, std::memory_order_relaxed);
  if (r) enqueueReady(std::move(entries));  // queued before anyone hears "durable"
  for (auto& push : pushes) {
    runCompletion(push.done, r ? Result<std::vector<PushOutcome>>(std::move(push.outcomes))
                               : Result<std::vector<PushOutcome>>(tl::unexpected(r.error())));
  }
}

void SqliteBus::enqueueReady(std::vector<QueueEntry> entries) {
  if (entries.empty()) return;
  {
    std::lock_guard lock(mutex_);
    for (auto& e : entries) ready_.push_back(std::move(e));
  }
  cv_.notify_all();
}

std::vector<QueueEntry> SqliteBus::lease(size_t max, std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  const uint64_t generation = wake_generation_;
  cv_.wait_for(lock, wait, [&] { return !ready_.empty() || wake_generation_ != generation; });
  std::vector<QueueEntry> out;
  while (!ready_.empty() && out.size() < max) {
    out.push_back(std::move(ready_.front()));
    ready_.pop_front();
  }
  leased_ += out.size();
  return out;
}

void SqliteBus::ack(int64_t entry_id, std::function<void(Result<void>)> done) {
  acks_.add(Ack{entry_id, std::move(done)});
}

Result<void> SqliteBus::applyAcks(sqlite3* db, std::vector<Ack>& acks) {
  Stmt s(db, "DELETE FROM inbound WHERE id = ?1", Stmt::Cached{});
  for (const auto& ack : acks) {
    sqlite3_reset(s.get());
    s.bind(1, ack.entry_id);
    const int rc = s.step();
    if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(db, rc, "ack"));
  }
  return {};
}

void SqliteBus::finishAcks(Result<void> r, std::vector<Ack>& acks) {
  if (r) {
    std::lock_guard lock(mutex_);
    leased_ -= std::min(leased_, acks.size());
  }
  for (auto& ack : acks) runCompletion(ack.done, r);
}

size_t SqliteBus::depth() const {
  std::lock_guard lock(mutex_);
  return ready_.size() + leased_;
}

void SqliteBus::wakeAll() {
  {
    std::lock_guard lock(mutex_);
    ++wake_generation_;
  }
  cv_.notify_all();
}

Result<std::optional<int64_t>> SqliteBus::pollOffset(const std::string& bot) {
  return db_.read([&](sqlite3* db) -> Result<std::optional<int64_t>> {
    Stmt s(db, "SELECT next_offset FROM poll_offsets WHERE bot = ?1", Stmt::Cached{});
    s.bind(1, bot);
    if (s.step() == SQLITE_ROW) return std::optional<int64_t>(s.int64(0));
    return std::optional<int64_t>();
  });
}

}  // namespace botfn::storage::sqlite
