// PgStore: commits, reads, outbox and dead letters on PostgreSQL.
#include "storage/postgres/pg_store.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/log.hpp"
#include "storage/postgres/pg_app_sql.hpp"

namespace botfn::storage::postgres {
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

// A nullable text parameter.
const char* orNull(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

struct PendingCommit {
  Commit commit;
  std::vector<int64_t> outbox_ids;
  AppSqlBudget app_sql;
};

Result<void> applyCommit(pqxx::transaction_base& txn, PendingCommit& pending) {
  const Commit& c = pending.commit;
  pending.outbox_ids.clear();
  // The marker goes first and never fails on a repeat: a redelivered update whose marker exists
  // applies nothing and is reported as such.
  const auto marker = txn.exec_params(
      "INSERT INTO botfn.processed (bot, update_id, kind, handled, processed_at) "
      "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (bot, update_id) DO NOTHING",
      c.bot, c.update_id, c.kind, c.handled, nowSeconds());
  if (marker.affected_rows() == 0) {
    return fail(ErrorCode::AlreadyProcessed,
                "update " + std::to_string(c.update_id) + " of bot '" + c.bot + "'");
  }
  if (c.conversation_key && c.conversation) {
    const auto& k = *c.conversation_key;
    txn.exec_params(
        "INSERT INTO botfn.conversations (bot, chat_id, user_id, state, data, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (bot, chat_id, user_id) DO UPDATE SET "
        "state = excluded.state, data = excluded.data, updated_at = excluded.updated_at",
        k.bot, k.chat_id, k.user_id, c.conversation->state, c.conversation->data_json,
        nowSeconds());
  }
  if (!c.app_writes.empty()) {
    // The app writes share one deadline: together they hold the writer for at most app_sql.time.
    const AppSqlLimits limits{std::chrono::steady_clock::now() + pending.app_sql.time, SIZE_MAX,
                              pending.app_sql.max_bytes};
    for (size_t i = 0; i < c.app_writes.size(); ++i) {
      if (auto r = runAppStatement(txn, c.app_writes[i], limits, /*collect=*/false); !r) {
        Error e = r.error();
        e.detail = "db.exec #" + std::to_string(i + 1) + ": " + e.detail;
        return tl::unexpected(std::move(e));
      }
    }
  }
  for (const auto& m : c.outbox) {
    const auto id = txn.exec_params1(
        "INSERT INTO botfn.outbox (bot, lane, chat_id, method, params, handle, target_handle, "
        "created_at, update_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        m.bot, m.lane, m.chat_id, m.method, m.params_json, orNull(m.handle),
        orNull(m.target_handle), nowSeconds(), c.update_id);
    pending.outbox_ids.push_back(id[0].as<int64_t>());
  }
  if (c.dead_letter) {
    const auto& d = *c.dead_letter;
    txn.exec_params(
        "INSERT INTO botfn.dead_letters (bot, update_id, lane, kind, body, error, traceback, "
        "attempts, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        d.bot, d.update_id, d.lane, d.kind, d.body, d.error, d.traceback, d.attempts, nowSeconds());
  }
  return {};
}

OutboxRow outboxRowOf(const pqxx::row& r) {
  OutboxRow row;
  row.id = r[0].as<int64_t>();
  row.message =
      OutboxMessage{r[1].as<std::string>(),   r[2].as<std::string>(), r[3].as<int64_t>(),
                    r[4].as<std::string>(),   r[5].as<std::string>(), r[6].as<std::string>(""),
                    r[7].as<std::string>(""), r[10].as<int64_t>()};
  row.attempts = r[8].as<int>();
  row.next_at_ms = r[9].as<int64_t>();
  return row;
}

}  // namespace

Result<Rows> PgStore::query(const SqlStatement& statement, const AppSqlLimits& limits) {
  return db_.read<Rows>([&](pqxx::transaction_base& txn) {
    return runAppStatement(txn, statement, limits, /*collect=*/true);
  });
}

Result<bool> PgStore::isProcessed(const std::string& bot, int64_t update_id) {
  return db_.read<bool>([&](pqxx::transaction_base& txn) -> Result<bool> {
    return !txn.exec_params("SELECT 1 FROM botfn.processed WHERE bot = $1 AND update_id = $2", bot,
                            update_id)
                .empty();
  });
}

Result<Conversation> PgStore::loadConversation(const ConversationKey& key) {
  return db_.read<Conversation>([&](pqxx::transaction_base& txn) -> Result<Conversation> {
    const auto r = txn.exec_params(
        "SELECT state, data FROM botfn.conversations WHERE bot = $1 AND chat_id = $2 AND "
        "user_id = $3",
        key.bot, key.chat_id, key.user_id);
    if (r.empty()) return Conversation{"", "{}"};
    return Conversation{r[0][0].as<std::string>(), r[0][1].as<std::string>()};
  });
}

void PgStore::commit(Commit commit, std::function<void(Result<void>)> done) {
  auto shared = std::make_shared<PendingCommit>(PendingCommit{std::move(commit), {}, app_sql_});
  db_.write(PgJob{[shared](pqxx::transaction_base& txn) { return applyCommit(txn, *shared); },
                  [this, shared, done = std::move(done)](Result<void> r) {
                    // Hand the rows to the sender before answering: done() may release the last
                    // owner of this store.
                    if (r) handover_.handOver(shared->commit.outbox, shared->outbox_ids);
                    done(std::move(r));
                  }});
}

Result<int> PgStore::migrateApp(const std::string& app, const std::filesystem::path& dir) {
  // An app may ship PostgreSQL's own dialect next to the portable files.
  const auto own = dir / "postgres";
  const auto from = std::filesystem::is_directory(own) ? own : dir;
  if (!std::filesystem::is_directory(from)) return 0;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(from)) {
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
    auto r = db_.writeSync([&](pqxx::transaction_base& txn) -> Result<void> {
      txn.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", "botfn migrate " + app);
      const auto found = txn.exec_params(
          "SELECT checksum = md5($3) FROM botfn.app_migrations WHERE app = $1 AND name = $2", app,
          name, sql);
      if (!found.empty()) {
        if (found[0][0].as<bool>()) return {};
        return fail(ErrorCode::ConfigInvalid, file.string() +
                                                  " changed after it was applied; add a new "
                                                  "migration instead");
      }
      if (auto e = runAppScript(txn, sql); !e) {
        return fail(e.error().code, file.string() + ": " + e.error().detail);
      }
      txn.exec_params0(
          "INSERT INTO botfn.app_migrations (app, name, checksum, applied_at) VALUES ($1, $2, "
          "md5($3), $4)",
          app, name, sql, nowSeconds());
      did = true;
      return {};
    });
    if (!r) return tl::unexpected(r.error());
    if (did) ++applied;
  }
  return applied;
}

Result<std::vector<OutboxRow>> PgStore::pendingOutbox(size_t limit, int64_t after_id) {
  return db_.read<std::vector<OutboxRow>>(
      [&](pqxx::transaction_base& txn) -> Result<std::vector<OutboxRow>> {
        const auto r = txn.exec_params(
            "SELECT id, bot, lane, chat_id, method, params, handle, target_handle, attempts, "
            "next_at, update_id FROM botfn.outbox WHERE state = 'pending' AND id > $2 "
            "ORDER BY id LIMIT $1",
            static_cast<int64_t>(limit), after_id);
        std::vector<OutboxRow> rows;
        rows.reserve(r.size());
        for (const auto& row : r) rows.push_back(outboxRowOf(row));
        return rows;
      });
}

Result<std::vector<int64_t>> PgStore::pendingOutboxIds(size_t limit, int64_t after_id,
                                                       int64_t up_to_id) {
  return db_.read<std::vector<int64_t>>(
      [&](pqxx::transaction_base& txn) -> Result<std::vector<int64_t>> {
        const auto r = txn.exec_params(
            "SELECT id FROM botfn.outbox WHERE state = 'pending' AND id > $2 AND id <= $3 "
            "ORDER BY id LIMIT $1",
            static_cast<int64_t>(limit), after_id, up_to_id);
        std::vector<int64_t> ids;
        for (const auto& row : r) ids.push_back(row[0].as<int64_t>());
        return ids;
      });
}

void PgStore::finishOutbox(int64_t id, OutboxResult result,
                           std::function<void(Result<void>)> done) {
  db_.write(PgJob{
      [id, result = std::move(result)](pqxx::transaction_base& txn) -> Result<void> {
        using Kind = OutboxResult::Kind;
        if (result.kind == Kind::Sent) {
          txn.exec_params(
              "UPDATE botfn.outbox SET state = 'sent', attempts = attempts + 1, "
              "result_message_id = $2, error = NULL WHERE id = $1",
              id, result.message_id ? std::optional<int64_t>(*result.message_id) : std::nullopt);
        } else if (result.kind == Kind::Retry) {
          txn.exec_params(
              "UPDATE botfn.outbox SET attempts = attempts + $4, next_at = $2, error = $3 "
              "WHERE id = $1",
              id, nowMillis() + result.retry_in.count(), result.error,
              result.counts_attempt ? 1 : 0);
        } else {
          txn.exec_params(
              "UPDATE botfn.outbox SET state = 'failed', attempts = attempts + 1, error = $2 "
              "WHERE id = $1",
              id, result.error);
        }
        return {};
      },
      std::move(done)});
}

Result<std::optional<int64_t>> PgStore::messageIdOfHandle(const std::string& handle) {
  return db_.read<std::optional<int64_t>>(
      [&](pqxx::transaction_base& txn) -> Result<std::optional<int64_t>> {
        const auto r =
            txn.exec_params("SELECT result_message_id FROM botfn.outbox WHERE handle = $1", handle);
        if (r.empty() || r[0][0].is_null()) return std::optional<int64_t>();
        return std::optional<int64_t>(r[0][0].as<int64_t>());
      });
}

void PgStore::onOutboxCommitted(std::function<void(std::vector<OutboxRow>)> listener) {
  handover_.set(std::move(listener));
}

Result<std::vector<DeadLetter>> PgStore::deadLetters(size_t limit) {
  return db_.read<std::vector<DeadLetter>>(
      [&](pqxx::transaction_base& txn) -> Result<std::vector<DeadLetter>> {
        const auto r = txn.exec_params(
            "SELECT id, bot, update_id, lane, kind, body, error, traceback, attempts, at "
            "FROM botfn.dead_letters ORDER BY id DESC LIMIT $1",
            static_cast<int64_t>(limit));
        std::vector<DeadLetter> out;
        for (const auto& row : r) {
          out.push_back(DeadLetter{row[0].as<int64_t>(), row[1].as<std::string>(),
                                   row[2].as<int64_t>(), row[3].as<std::string>(),
                                   row[4].as<std::string>(), row[5].as<std::string>(),
                                   row[6].as<std::string>(), row[7].as<std::string>(),
                                   row[8].as<int>(), row[9].as<int64_t>()});
        }
        return out;
      });
}

Result<void> PgStore::checkWritable() {
  return db_.writeSync([](pqxx::transaction_base& txn) -> Result<void> {
    txn.exec("SELECT 1");
    return {};
  });
}

}  // namespace botfn::storage::postgres
