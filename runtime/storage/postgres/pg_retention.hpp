// Retention on PostgreSQL: botfn's bookkeeping (processed markers, sent or failed outbox rows,
// dead letters) older than storage.retention_* is deleted in bounded batches by a job on the
// writer, so the tables stay as large as their window, not as the bot's history.
#pragma once

#include <functional>

#include "storage/backend_options.hpp"
#include "storage/postgres/pg_db.hpp"

namespace botfn::storage::postgres {

// One round of deletes, at most retention.batch_rows per table; done gets the rows deleted.
// Safe to run again (the writer may redo a job of a failed group).
PgJob pruneJob(const Retention& retention, int64_t now_s, std::function<void(Result<size_t>)> done);

}  // namespace botfn::storage::postgres
