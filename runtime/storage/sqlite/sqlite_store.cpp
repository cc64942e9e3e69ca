// SqliteStore: commits, reads, outbox and dead letters on the embedded database.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "storage/sqlite/sqlite_backend.hpp"

namespace botfn::storage::sqlite {
namespace {

int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t nowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<void> stepDone(sqlite3* db, Stmt& stmt, std::string_view what) {
  if (!stmt.ok()) return tl::unexpected(sqliteError(db, stmt.prepareRc(), what));
  const int rc = stmt.step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return tl::unexpected(sqliteError(db, rc, what));
  return {};
}

struct PendingCommit {
  Commit commit;
  std::vector<int64_t> outbox_ids;  // the id of each outbox row, in order
  AppSqlBudget app_sql;             // the store's: bounds the commit's app writes
};

// Fills outbox_ids (cleared first: a redone group applies the commit again). The app writes
// share one deadline: together they hold the writer, and so every other chat's commit, for at
// most app_sql.time.
Result<void> applyCommit(sqlite3* db, PendingCommit& pending) {
  const Commit& c = pending.commit;
  auto& outbox_ids = pending.outbox_ids;
  const auto& app_sql = pending.app_sql;
  outbox_ids.clear();
  {
    // The marker goes first and never fails on a repeat: a redelivered update whose marker exists
    // applies nothing and is reported as such, instead of wedging its lane on the unique key.
    Stmt s(db,
           "INSERT INTO processed (bot, update_id, kind, handled, processed_at) "
           "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (bot, update_id) DO NOTHING",
           Stmt::Cached{});
    if (s.ok())
      s.bind(1, c.bot)
          .bind(2, c.update_id)
          .bind(3, c.kind)
          .bind(4, int64_t{c.handled})
          .bind(5, nowSeconds());
    if (auto r = stepDone(db, s, "processed marker"); !r) return r;
    if (sqlite3_changes(db) == 0) {
      return fail(ErrorCode::AlreadyProcessed,
                  "update " + std::to_string(c.update_id) + " of bot '" + c.bot + "'");
    }
  }
  if (c.conversation_key && c.conversation) {
    Stmt s(db,
           "INSERT INTO conversations (bot, chat_id, user_id, state, data, updated_at) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (bot, chat_id, user_id) DO UPDATE SET "
           "state = excluded.state, data = excluded.data, updated_at = excluded.updated_at",
           Stmt::Cached{});
    const auto& k = *c.conversation_key;
    if (s.ok()) {
      s.bind(1, k.bot)
          .bind(2, k.chat_id)
          .bind(3, k.user_id)
          .bind(4, c.conversation->state)
          .bind(5, c.conversation->data_json)
          .bind(6, nowSeconds());
    }
    if (auto r = stepDone(db, s, "conversation"); !r) return r;
  }
  if (!c.app_writes.empty()) {
    const AppSqlLimits limits{std::chrono::steady_clock::now() + app_sql.time, SIZE_MAX,
                              app_sql.max_bytes};
    for (size_t i = 0; i < c.app_writes.size(); ++i) {
      if (auto r = runStatement(db, c.app_writes[i], limits, /*collect=*/false); !r) {
        Error e = r.error();
        e.detail = "db.exec #" + std::to_string(i + 1) + ": " + e.detail;
        return tl::unexpected(std::move(e));
      }
    }
  }
  for (const auto& m : c.outbox) {
    Stmt s(db,
           "INSERT INTO outbox (bot, lane, chat_id, method, params, handle, target_handle, "
           "created_at, update_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
           Stmt::Cached{});
    if (s.ok()) {
      s.bind(1, m.bot).bind(2, m.lane).bind(3, m.chat_id).bind(4, m.method).bind(5, m.params_json);
      m.handle.empty() ? s.bindNull(6) : s.bind(6, m.handle);
      m.target_handle.empty() ? s.bindNull(7) : s.bind(7, m.target_handle);
      s.bind(8, nowSeconds()).bind(9, c.update_id);
    }
    if (auto r = stepDone(db, s, "outbox"); !r) return r;
    outbox_ids.push_back(sqlite3_last_insert_rowid(db));
  }
  if (c.dead_letter) {
    const auto& d = *c.dead_letter;
    Stmt s(db,
           "INSERT INTO dead_letters (bot, update_id, lane, kind, body, error, traceback, "
           "attempts, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (s.ok()) {
      s.bind(1, d.bot)
          .bind(2, d.update_id)
          .bind(3, d.lane)
          .bind(4, d.kind)
          .bind(5, d.body)
          .bind(6, d.error)
          .bind(7, d.traceback)
          .bind(8, int64_t{d.attempts})
          .bind(9, nowSeconds());
    }
    if (auto r = stepDone(db, s, "dead letter"); !r) return r;
  }
  return {};
}

}  // namespace

Result<Rows> SqliteStore::query(const SqlStatement& statement, const AppSqlLimits& limits) {
  return db_.read([&](sqlite3* db) { return runStatement(db, statement, limits, true); });
}

Result<bool> SqliteStore::isProcessed(const std::string& bot, int64_t update_id) {
  return db_.read([&](sqlite3* db) -> Result<bool> {
    Stmt s(db, "SELECT 1 FROM processed WHERE bot = ?1 AND update_id = ?2", Stmt::Cached{});
    if (!s.ok()) return tl::unexpected(sqliteError(db, s.prepareRc(), "processed"));
    s.bind(1, bot).bind(2, update_id);
    const int rc = s.step();
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return tl::unexpected(sqliteError(db, rc, "processed"));
  });
}

Result<Conversation> SqliteStore::loadConversation(const ConversationKey& key) {
  return db_.read([&](sqlite3* db) -> Result<Conversation> {
    Stmt s(db,
           "SELECT state, data FROM conversations WHERE bot = ?1 AND chat_id = ?2 AND user_id = ?3",
           Stmt::Cached{});
    if (!s.ok()) return tl::unexpected(sqliteError(db, s.prepareRc(), "conversation"));
    s.bind(1, key.bot).bind(2, key.chat_id).bind(3, key.user_id);
    const int rc = s.step();
    if (rc == SQLITE_ROW) return Conversation{s.text(0), s.text(1)};
    if (rc == SQLITE_DONE) return Conversation{"", "{}"};
    return tl::unexpected(sqliteError(db, rc, "conversation"));
  });
}

void SqliteStore::commit(Commit commit, std::function<void(Result<void>)> done) {
  auto shared = std::make_shared<PendingCommit>(PendingCommit{std::move(commit), {}, app_sql_});
  db_.write(WriteJob{// May run twice (a redone group): applies the same writes again.
                     [shared](sqlite3* db) { return applyCommit(db, *shared); },
                     [this, shared, done = std::move(done)](Result<void> r) {
                       // Hand the rows to the sender before answering: done() may release the
                       // last owner of this store (nothing may touch `this` after it).
                       if (r) handover_.handOver(shared->commit.outbox, shared->outbox_ids);
                       done(std::move(r));
                     }});
}

Result<int> SqliteStore::migrateApp(const std::string& app, const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) return 0;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".sql") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  int applied = 0;
  for (const auto& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string name = file.filename().string();
    const std::string sql = text.str();
    bool did = false;
    auto r = db_.writeSync([&](sqlite3* db) -> Result<void> {
      Stmt check(db, "SELECT 1 FROM app_migrations WHERE app = ?1 AND name = ?2");
      check.bind(1, app).bind(2, name);
      if (check.step() == SQLITE_ROW) return {};
      if (auto e = execAppScript(db, sql); !e) {
        return fail(e.error().code, file.string() + ": " + e.error().detail);
      }
      Stmt mark(db, "INSERT INTO app_migrations (app, name, applied_at) VALUES (?1, ?2, ?3)");
      mark.bind(1, app).bind(2, name).bind(3, nowSeconds());
      did = true;
      return stepDone(db, mark, "app_migrations");
    });
    if (!r) return tl::unexpected(r.error());
    if (did) ++applied;
  }
  return applied;
}

Result<std::vector<OutboxRow>> SqliteStore::pendingOutbox(size_t limit, int64_t after_id) {
  return db_.read([&](sqlite3* db) -> Result<std::vector<OutboxRow>> {
    Stmt s(db,
           "SELECT id, bot, lane, chat_id, method, params, COALESCE(handle, ''), "
           "COALESCE(target_handle, ''), attempts, next_at, update_id FROM outbox "
           "WHERE state = 'pending' AND id > ?2 ORDER BY id LIMIT ?1",
           Stmt::Cached{});
    if (!s.ok()) return tl::unexpected(sqliteError(db, s.prepareRc(), "outbox"));
    s.bind(1, static_cast<int64_t>(limit)).bind(2, after_id);
    std::vector<OutboxRow> rows;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      OutboxRow row;
      row.id = s.int64(0);
      row.message = OutboxMessage{s.text(1), s.text(2), s.int64(3), s.text(4),
                                  s.text(5), s.text(6), s.text(7),  s.int64(10)};
      row.attempts = static_cast<int>(s.int64(8));
      row.next_at_ms = s.int64(9);
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(db, rc, "outbox"));
    return rows;
  });
}

Result<std::vector<int64_t>> SqliteStore::pendingOutboxIds(size_t limit, int64_t after_id,
                                                           int64_t up_to_id) {
  return db_.read([&](sqlite3* db) -> Result<std::vector<int64_t>> {
    // Covered by the partial index outbox_pending_rows: no table row is read.
    Stmt s(db,
           "SELECT id FROM outbox WHERE state = 'pending' AND id > ?2 AND id <= ?3 "
           "ORDER BY id LIMIT ?1",
           Stmt::Cached{});
    if (!s.ok()) return tl::unexpected(sqliteError(db, s.prepareRc(), "outbox ids"));
    s.bind(1, static_cast<int64_t>(limit)).bind(2, after_id).bind(3, up_to_id);
    std::vector<int64_t> ids;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) ids.push_back(s.int64(0));
    if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(db, rc, "outbox ids"));
    return ids;
  });
}

void SqliteStore::finishOutbox(int64_t id, OutboxResult result,
                               std::function<void(Result<void>)> done) {
  send_results_.add(SendResult{id, std::move(result), std::move(done)});
}

Result<void> SqliteStore::applySendResults(sqlite3* db, std::vector<SendResult>& sends) {
  using Kind = OutboxResult::Kind;
  for (const auto& send : sends) {
    const auto& result = send.result;
    Result<void> r;
    if (result.kind == Kind::Sent) {
      Stmt s(db,
             "UPDATE outbox SET state = 'sent', attempts = attempts + 1, "
             "result_message_id = ?2, error = NULL WHERE id = ?1",
             Stmt::Cached{});
      s.bind(1, send.id);
      result.message_id ? s.bind(2, *result.message_id) : s.bindNull(2);
      r = stepDone(db, s, "outbox sent");
    } else if (result.kind == Kind::Retry) {
      Stmt s(db,
             "UPDATE outbox SET attempts = attempts + ?4, next_at = ?2, error = ?3 WHERE id = ?1",
             Stmt::Cached{});
      s.bind(1, send.id)
          .bind(2, nowMillis() + result.retry_in.count())
          .bind(3, result.error)
          .bind(4, int64_t{result.counts_attempt});
      r = stepDone(db, s, "outbox retry");
    } else {
      Stmt s(
          db,
          "UPDATE outbox SET state = 'failed', attempts = attempts + 1, error = ?2 WHERE id = ?1",
          Stmt::Cached{});
      s.bind(1, send.id).bind(2, result.error);
      r = stepDone(db, s, "outbox failed");
    }
    if (!r) return r;
  }
  return {};
}

void SqliteStore::completeSendResults(Result<void> r, std::vector<SendResult>& sends) {
  for (auto& send : sends) runCompletion(send.done, r);
}

Result<std::optional<int64_t>> SqliteStore::messageIdOfHandle(const std::string& handle) {
  return db_.read([&](sqlite3* db) -> Result<std::optional<int64_t>> {
    Stmt s(db, "SELECT result_message_id FROM outbox WHERE handle = ?1", Stmt::Cached{});
    s.bind(1, handle);
    if (s.step() == SQLITE_ROW && sqlite3_column_type(s.get(), 0) != SQLITE_NULL) {
      return std::optional<int64_t>(s.int64(0));
    }
    return std::optional<int64_t>();
  });
}

void SqliteStore::onOutboxCommitted(std::function<void(std::vector<OutboxRow>)> listener) {
  handover_.set(std::move(listener));
}

Result<std::vector<DeadLetter>> SqliteStore::deadLetters(size_t limit) {
  return db_.read([&](sqlite3* db) -> Result<std::vector<DeadLetter>> {
    Stmt s(db,
           "SELECT id, bot, update_id, lane, kind, body, error, traceback, attempts, at "
           "FROM dead_letters ORDER BY id DESC LIMIT ?1");
    if (!s.ok()) return tl::unexpected(sqliteError(db, s.prepareRc(), "dead letters"));
    s.bind(1, static_cast<int64_t>(limit));
    std::vector<DeadLetter> out;
    while (s.step() == SQLITE_ROW) {
      out.push_back(DeadLetter{s.int64(0), s.text(1), s.int64(2), s.text(3), s.text(4), s.text(5),
                               s.text(6), s.text(7), static_cast<int>(s.int64(8)), s.int64(9)});
    }
    return out;
  });
}

Result<void> SqliteStore::checkWritable() {
  return db_.writeSync([](sqlite3* db) -> Result<void> {
    return exec(db, "CREATE TEMP TABLE IF NOT EXISTS _probe (x); DELETE FROM _probe;");
  });
}

}  // namespace botfn::storage::sqlite
