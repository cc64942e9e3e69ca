// Retention of the embedded backend's bookkeeping: sent outbox rows, dead letters, processed
// markers and dedupe ids older than their configured age are deleted in bounded batches. Run by
// SqliteBus inside a write group; the indexes of schemas/sql/sqlite/0003 keep each batch cheap.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <vector>

#include "core/error.hpp"
#include "storage/backend_options.hpp"

namespace botfn::storage::sqlite {

using Retention = storage::Retention;  // storage/backend_options.hpp

// The prune statements, for tests that check their query plans. Parameters: ?1 the cutoff (unix
// seconds), ?2 the batch size.
const std::vector<const char*>& pruneStatements();

// Runs one batch of every prune: dedupe ids older than dedupe_window_s (and without a marker),
// then the retentions. Returns true when a batch was full, so more rows wait for the next round.
Result<bool> pruneBatch(sqlite3* db, const Retention& retention, int64_t dedupe_window_s,
                        int64_t now_s);

}  // namespace botfn::storage::sqlite
