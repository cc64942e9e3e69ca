// Retention of the embedded backend's bookkeeping: sent outbox rows, dead letters, processed
// markers and dedupe ids older than their configured age are deleted in bounded batches. Run by
// SqliteBus inside a write group; the indexes of schemas/sql/sqlite/0003 keep each batch cheap.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <vector>

#include "core/error.hpp"

namespace botfn::storage::sqlite {

struct Retention {
  int64_t processed_s = 72 * 3600;      // processed markers (never while the entry is queued)
  int64_t sent_outbox_s = 168 * 3600;   // outbox rows in state sent or failed
  int64_t dead_letters_s = 30 * 86400;  // dead letters (what `botfn dlq list` can show)
  int64_t batch_rows = 1000;            // rows per table per write group: the writer never stalls
};

// The prune statements, for tests that check their query plans. Parameters: ?1 the cutoff (unix
// seconds), ?2 the batch size.
const std::vector<const char*>& pruneStatements();

// Runs one batch of every prune: dedupe ids older than dedupe_window_s (and without a marker),
// then the retentions. Returns true when a batch was full, so more rows wait for the next round.
Result<bool> pruneBatch(sqlite3* db, const Retention& retention, int64_t dedupe_window_s,
                        int64_t now_s);

}  // namespace botfn::storage::sqlite
