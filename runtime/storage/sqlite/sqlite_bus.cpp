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
    : db_(db), dedupe_window_s_(dedupe_window_s) {}

Result<void> SqliteBus::recover() {
  auto entries = db_.read([&](sqlite3* db) -> Result<std::vector<QueueEntry>> {
    Stmt s(db, "SELECT id, bot, update_id, lane, kind, body FROM inbound ORDER BY id");
    if (!s.ok()) return tl::unexpected(sqliteError(db, s.prepareRc(), "inbound"));
    std::vector<QueueEntry> out;
    while (s.step() == SQLITE_ROW) {
      out.push_back(QueueEntry{s.int64(0), s.text(1), s.int64(2), s.text(3), s.text(4), s.text(5)});
    }
    return out;
  });
  if (!entries) return tl::unexpected(entries.error());
  enqueueReady(std::move(*entries));
  return {};
}

void SqliteBus::push(std::vector<InboundUpdate> items, std::optional<PollCursor> cursor,
                     std::function<void(Result<std::vector<PushOutcome>>)> done) {
  struct State {
    std::vector<InboundUpdate> items;
    std::optional<PollCursor> cursor;
    std::vector<PushOutcome> outcomes;
    std::vector<QueueEntry> entries;
  };
  auto state = std::make_shared<State>(State{std::move(items), std::move(cursor), {}, {}});
  const int64_t now = nowSeconds();
  bool prune = false;
  {
    std::lock_guard lock(mutex_);
    if (now - last_prune_ > 60) {
      last_prune_ = now;
      prune = true;
    }
  }
  auto apply = [this, state, now, prune](sqlite3* db) -> Result<void> {
    state->outcomes.clear();
    state->entries.clear();
    if (prune) {
      Stmt s(db, "DELETE FROM seen_updates WHERE seen_at < ?1");
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
    Stmt seen(db, "INSERT OR IGNORE INTO seen_updates (bot, update_id, seen_at) VALUES (?1, ?2, ?3)", Stmt::Cached{});
    Stmt insert(db,
                "INSERT INTO inbound (bot, update_id, lane, kind, body, received_at) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                Stmt::Cached{});
    if (!seen.ok() || !insert.ok()) return tl::unexpected(sqliteError(db, SQLITE_ERROR, "prepare inbound"));
    for (auto& item : state->items) {
      sqlite3_reset(seen.get());
      seen.bind(1, item.bot).bind(2, item.update_id).bind(3, now);
      int rc = seen.step();
      if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(db, rc, "dedupe"));
      if (sqlite3_changes(db) == 0) {
        state->outcomes.push_back(PushOutcome::Duplicate);
        continue;
      }
      sqlite3_reset(insert.get());
      insert.bind(1, item.bot).bind(2, item.update_id).bind(3, item.lane).bind(4, item.kind)
          .bind(5, item.body).bind(6, now);
      rc = insert.step();
      if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(db, rc, "enqueue"));
      state->outcomes.push_back(PushOutcome::Enqueued);
      // The body moves into the in-memory entry: the bus keeps no other copy.
      state->entries.push_back(QueueEntry{sqlite3_last_insert_rowid(db), item.bot,
                                          item.update_id, item.lane, item.kind, std::move(item.body)});
    }
    if (state->cursor) {
      Stmt s(db,
             "INSERT INTO poll_offsets (bot, next_offset) VALUES (?1, ?2) "
             "ON CONFLICT (bot) DO UPDATE SET next_offset = excluded.next_offset");
      s.bind(1, state->cursor->bot).bind(2, state->cursor->next_offset);
      const int rc = s.step();
      if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(db, rc, "poll offset"));
    }
    return {};
  };
  db_.write(WriteJob{std::move(apply), [this, state, done = std::move(done)](Result<void> r) {
                       if (!r) {
                         done(tl::unexpected(r.error()));
                         return;
                       }
                       enqueueReady(std::move(state->entries));
                       done(std::move(state->outcomes));
                     }});
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
  db_.write(WriteJob{[entry_id](sqlite3* db) -> Result<void> {
                       Stmt s(db, "DELETE FROM inbound WHERE id = ?1", Stmt::Cached{});
                       s.bind(1, entry_id);
                       const int rc = s.step();
                       if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(db, rc, "ack"));
                       return {};
                     },
                     [this, done = std::move(done)](Result<void> r) {
                       if (r) {
                         std::lock_guard lock(mutex_);
                         if (leased_ > 0) --leased_;
                       }
                       if (done) done(std::move(r));
                     }});
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
    Stmt s(db, "SELECT next_offset FROM poll_offsets WHERE bot = ?1");
    s.bind(1, bot);
    if (s.step() == SQLITE_ROW) return std::optional<int64_t>(s.int64(0));
    return std::optional<int64_t>();
  });
}

}  // namespace botfn::storage::sqlite
