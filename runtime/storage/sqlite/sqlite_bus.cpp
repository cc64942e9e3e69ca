// SqliteBus: the inbound queue, persisted in the `inbound` table, with a bounded window of it in
// memory; dedupe through `seen_updates`; long-polling offsets in `poll_offsets`; the retention
// prune rides the push groups.
#include <algorithm>
#include <chrono>

#include "storage/sqlite/sqlite_backend.hpp"

namespace botfn::storage::sqlite {
namespace {
int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What an entry costs the window: its strings plus the entry itself.
size_t entryBytes(const QueueEntry& e) {
  return sizeof(QueueEntry) + e.bot.size() + e.lane.size() + e.kind.size() + e.body.size();
}
}  // namespace

SqliteBus::SqliteBus(SqliteDb& db, int64_t dedupe_window_s, Retention retention, QueueWindow window)
    : db_(db),
      dedupe_window_s_(dedupe_window_s),
      retention_(retention),
      window_(window),
      pushes_(
          db, [this](sqlite3* sql, std::vector<Push>& pushes) { return applyPushes(sql, pushes); },
          [this](Result<void> r, std::vector<Push>& pushes) {
            finishPushes(std::move(r), pushes);
          }),
      acks_(
          db, [](sqlite3* sql, std::vector<Ack>& acks) { return applyAcks(sql, acks); },
          [this](Result<void> r, std::vector<Ack>& acks) { finishAcks(std::move(r), acks); }),
      refills_(
          db, [](sqlite3* sql, std::vector<Refill>& refills) { return applyRefills(sql, refills); },
          [this](Result<void> r, std::vector<Refill>& refills) {
            finishRefills(std::move(r), refills);
          }) {
  window_.max_updates = std::max<size_t>(window_.max_updates, 1);
  window_.page_rows = std::clamp<size_t>(window_.page_rows, 1, window_.max_updates);
}

SqliteBus::~SqliteBus() {
  std::lock_guard lock(mutex_);
  closing_ = true;
}

Result<void> SqliteBus::recover() {
  auto last = db_.read([](sqlite3* db) -> Result<int64_t> {
    Stmt s(db, "SELECT COALESCE(MAX(id), 0) FROM inbound");
    if (!s.ok()) return tl::unexpected(sqliteError(db, s.prepareRc(), "inbound"));
    if (const int rc = s.step(); rc != SQLITE_ROW)
      return tl::unexpected(sqliteError(db, rc, "inbound"));
    return s.int64(0);
  });
  if (!last) return tl::unexpected(last.error());
  // Everything in `inbound` is behind the (empty) window: read it page by page, the first page
  // now so the dispatcher starts with work.
  {
    std::lock_guard lock(mutex_);
    recovered_through_ = *last;
    spilled_ = true;
    last_loaded_id_ = 0;
  }
  maybeRefill();
  // The refill job runs on the writer; a synchronous no-op write behind it waits for it.
  return db_.writeSync([](sqlite3*) -> Result<void> { return {}; });
}

void SqliteBus::push(std::vector<InboundUpdate> items, std::optional<PollCursor> cursor,
                     std::function<void(Result<std::vector<PushOutcome>>)> done) {
  waiting_updates_.fetch_add(items.size(), std::memory_order_relaxed);
  pushes_.add(Push{std::move(items), std::move(cursor), std::move(done), {}, {}});
}

Result<void> SqliteBus::applyPushes(sqlite3* db, std::vector<Push>& pushes) {
  const int64_t now = nowSeconds();
  if (prune_more_ || now - last_prune_ > 60) {  // writer thread only
    // Counts once the group commits (a redone group prunes again). A failed prune must not fail
    // the pushes: it is tried again at the next minute.
    auto more = pruneBatch(db, retention_, dedupe_window_s_, now);
    if (!more) {
      // SQLite rolled the whole group back (SQLITE_FULL): the writer must hear of it.
      if (sqlite3_get_autocommit(db)) return tl::unexpected(more.error());
      log::get("storage")->warn("retention prune failed: {}", more.error().describe());
    }
    prune_pending_ = now;
    prune_more_pending_ = more.value_or(false);
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
  if (r && prune_pending_) {
    last_prune_ = prune_pending_;
    prune_more_ = prune_more_pending_;
  }
  prune_pending_ = 0;
  prune_more_pending_ = false;
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
  if (r) enqueueCommitted(std::move(entries));  // queued before anyone hears "durable"
  for (auto& push : pushes) {
    runCompletion(push.done, r ? Result<std::vector<PushOutcome>>(std::move(push.outcomes))
                               : Result<std::vector<PushOutcome>>(tl::unexpected(r.error())));
  }
}

void SqliteBus::enqueueCommitted(std::vector<QueueEntry> entries) {
  if (entries.empty()) return;
  bool added = false;
  {
    std::lock_guard lock(mutex_);
    for (auto& e : entries) {
      // Once one entry stays on disk, every later one does too: the refill reads them back in id
      // order, which keeps each lane's order.
      const size_t bytes = entryBytes(e);
      if (!spilled_ && held_updates_ < window_.max_updates &&
          (held_updates_ == 0 || held_bytes_ + bytes <= window_.max_bytes)) {
        last_loaded_id_ = e.id;
        held_updates_ += 1;
        held_bytes_ += bytes;
        ready_.push_back(std::move(e));
        added = true;
      } else {
        spilled_ = true;
      }
    }
  }
  if (added) cv_.notify_all();
}

void SqliteBus::maybeRefill() {
  Refill refill{};
  {
    std::lock_guard lock(mutex_);
    if (!spilled_ || refill_queued_ || closing_) return;
    // Refill a page at a time once a page fits, so reads are few and large.
    if (held_updates_ + window_.page_rows > window_.max_updates) return;
    if (held_updates_ > 0 && held_bytes_ >= window_.max_bytes / 2) return;
    refill_queued_ = true;
    refill.after_id = last_loaded_id_;
    refill.redelivered_through = recovered_through_;
    refill.max_rows = window_.page_rows;
    refill.max_bytes = window_.max_bytes - std::min(held_bytes_.load(), window_.max_bytes);
  }
  refills_.add(std::move(refill));
}

// On the writer, inside its group: sees every push committed before it, and the pushes of the
// same group queued ahead of it (their entries are skipped by finishPushes while spilled).
Result<void> SqliteBus::applyRefills(sqlite3* db, std::vector<Refill>& refills) {
  Stmt s(db,
         "SELECT id, bot, update_id, lane, kind, body FROM inbound WHERE id > ?1 ORDER BY id "
         "LIMIT ?2",
         Stmt::Cached{});
  if (!s.ok()) return tl::unexpected(sqliteError(db, s.prepareRc(), "inbound"));
  for (auto& refill : refills) {
    refill.rows.clear();  // a redone group reads again
    refill.complete = false;
    sqlite3_reset(s.get());
    s.bind(1, refill.after_id).bind(2, static_cast<int64_t>(refill.max_rows));
    size_t bytes = 0;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      QueueEntry e{s.int64(0), s.text(1), s.int64(2), s.text(3), s.text(4), s.text(5), false};
      // Only an entry queued before this start can have been handed out (and have a marker).
      e.redelivered = e.id <= refill.redelivered_through;
      bytes += entryBytes(e);
      if (!refill.rows.empty() && bytes > refill.max_bytes) break;  // the next page starts here
      refill.rows.push_back(std::move(e));
    }
    if (rc == SQLITE_DONE)
      refill.complete = refill.rows.size() < refill.max_rows;
    else if (rc != SQLITE_ROW)
      return tl::unexpected(sqliteError(db, rc, "inbound"));
  }
  return {};
}

void SqliteBus::finishRefills(Result<void> r, std::vector<Refill>& refills) {
  bool added = false;
  {
    std::lock_guard lock(mutex_);
    refill_queued_ = false;
    if (r) {
      for (auto& refill : refills) {
        for (auto& e : refill.rows) {
          if (e.id <= last_loaded_id_) continue;
          last_loaded_id_ = e.id;
          held_updates_ += 1;
          held_bytes_ += entryBytes(e);
          ready_.push_back(std::move(e));
          added = true;
        }
        // Pushes of later groups find spilled_ false and join the window directly.
        if (refill.complete) spilled_ = false;
      }
    }
  }
  if (added) cv_.notify_all();
  if (r) maybeRefill();  // after a failed group the next lease or ack tries again
}

std::vector<QueueEntry> SqliteBus::lease(size_t max, std::chrono::milliseconds wait) {
  std::vector<QueueEntry> out;
  {
    std::unique_lock lock(mutex_);
    const uint64_t generation = wake_generation_;
    cv_.wait_for(lock, wait, [&] { return !ready_.empty() || wake_generation_ != generation; });
    while (!ready_.empty() && out.size() < max) {
      auto& e = ready_.front();
      leased_.push_back(Leased{e.id, entryBytes(e), false});
      out.push_back(std::move(e));
      ready_.pop_front();
    }
    leased_count_ += out.size();
  }
  if (out.empty()) maybeRefill();  // retries a refill whose group failed
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
    for (const auto& ack : acks) {
      auto it = std::lower_bound(leased_.begin(), leased_.end(), ack.entry_id,
                                 [](const Leased& l, int64_t id) { return l.id < id; });
      if (it == leased_.end() || it->id != ack.entry_id || it->acked) continue;
      it->acked = true;
      leased_count_ -= 1;
      held_updates_ -= 1;
      held_bytes_ -= std::min(held_bytes_.load(), it->bytes);
    }
    while (!leased_.empty() && leased_.front().acked) leased_.pop_front();
  }
  if (r) maybeRefill();
  for (auto& ack : acks) runCompletion(ack.done, r);
}

QueueLoad SqliteBus::queueLoad() const {
  const size_t updates = held_updates_.load(std::memory_order_relaxed);
  const size_t bytes = held_bytes_.load(std::memory_order_relaxed);
  return QueueLoad{updates, bytes,
                   spilled_.load(std::memory_order_relaxed) || updates >= window_.max_updates ||
                       bytes >= window_.max_bytes};
}

size_t SqliteBus::depth() const {
  std::lock_guard lock(mutex_);
  return ready_.size() + leased_count_;
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
