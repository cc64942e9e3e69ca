// Bounded-batch deletes of aged bookkeeping rows (see retention.hpp). Every statement deletes at
// most ?2 rows found through an index, so one batch costs the rows it removes.
#include "storage/sqlite/retention.hpp"

#include "storage/sqlite/sqlite_db.hpp"

namespace botfn::storage::sqlite {
namespace {

// In the order pruneBatch runs them; the first one's cutoff is the dedupe window.
constexpr const char* kPruneSeen =
    // An id is forgotten only once its processed marker is gone too: a repeat of an update that
    // has a marker must stay a Duplicate (only redelivered entries look markers up).
    "DELETE FROM seen_updates WHERE (bot, update_id) IN (SELECT s.bot, s.update_id FROM "
    "seen_updates s WHERE s.seen_at < ?1 AND NOT EXISTS (SELECT 1 FROM processed p WHERE "
    "p.bot = s.bot AND p.update_id = s.update_id) LIMIT ?2)";
constexpr const char* kPruneProcessed =
    // A marker matters while its entry could be redelivered (still in inbound).
    "DELETE FROM processed WHERE (bot, update_id) IN (SELECT p.bot, p.update_id FROM processed p "
    "WHERE p.processed_at < ?1 AND NOT EXISTS (SELECT 1 FROM inbound i WHERE i.bot = p.bot AND "
    "i.update_id = p.update_id) LIMIT ?2)";
constexpr const char* kPruneOutbox =
    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state IN ('sent', 'failed') AND "
    "created_at < ?1 LIMIT ?2)";
constexpr const char* kPruneDeadLetters =
    "DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters WHERE at < ?1 LIMIT ?2)";

}  // namespace

const std::vector<const char*>& pruneStatements() {
  static const std::vector<const char*> statements = {kPruneSeen, kPruneProcessed, kPruneOutbox,
                                                      kPruneDeadLetters};
  return statements;
}

Result<bool> pruneBatch(sqlite3* db, const Retention& retention, int64_t dedupe_window_s,
                        int64_t now_s) {
  const int64_t ages[] = {dedupe_window_s, retention.processed_s, retention.sent_outbox_s,
                          retention.dead_letters_s};
  bool more = false;
  for (size_t i = 0; i < pruneStatements().size(); ++i) {
    Stmt s(db, pruneStatements()[i], Stmt::Cached{});
    if (!s.ok()) return tl::unexpected(sqliteError(db, s.prepareRc(), "prune"));
    s.bind(1, now_s - ages[i]).bind(2, retention.batch_rows);
    const int rc = s.step();
    if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(db, rc, "prune"));
    if (sqlite3_changes(db) >= retention.batch_rows) more = true;
  }
  return more;
}

}  // namespace botfn::storage::sqlite
