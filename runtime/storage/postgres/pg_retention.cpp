// pruneJob (pg_retention.hpp): three bounded DELETEs, each through its table's age index.
#include "storage/postgres/pg_retention.hpp"

#include <memory>

namespace botfn::storage::postgres {

PgJob pruneJob(const Retention& retention, int64_t now_s,
               std::function<void(Result<size_t>)> done) {
  auto deleted = std::make_shared<size_t>(0);
  return PgJob{
      [retention, now_s, deleted](pqxx::transaction_base& txn) -> Result<void> {
        const int64_t limit = retention.batch_rows;
        // Markers: a redelivery older than the window could run again; 72 h by default is far
        // beyond Telegram's retries.
        const auto processed = txn.exec_params(
            "DELETE FROM botfn.processed WHERE ctid IN (SELECT ctid FROM botfn.processed "
            "WHERE processed_at < $1 LIMIT $2)",
            now_s - retention.processed_s, limit);
        // Only finished rows: a pending one is never deleted, however old.
        const auto outbox = txn.exec_params(
            "DELETE FROM botfn.outbox WHERE id IN (SELECT id FROM botfn.outbox "
            "WHERE state IN ('sent', 'failed') AND created_at < $1 LIMIT $2)",
            now_s - retention.sent_outbox_s, limit);
        const auto letters = txn.exec_params(
            "DELETE FROM botfn.dead_letters WHERE id IN (SELECT id FROM botfn.dead_letters "
            "WHERE at < $1 LIMIT $2)",
            now_s - retention.dead_letters_s, limit);
        *deleted = processed.affected_rows() + outbox.affected_rows() + letters.affected_rows();
        return {};
      },
      [deleted, done = std::move(done)](Result<void> r) {
        if (!done) return;
        if (!r) return done(tl::unexpected(r.error()));
        done(*deleted);
      }};
}

}  // namespace botfn::storage::postgres
