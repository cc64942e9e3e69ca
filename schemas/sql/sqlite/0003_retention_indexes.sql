-- Indexes that keep the retention prune (storage.retention_*, runtime/storage/sqlite/retention.cpp)
-- cheap: each prune batch reads the rows it deletes through an index, never a whole table.
-- A processed marker stays while its entry is still queued; the prune looks the entry up here.
-- Without it, every aged marker scanned the whole inbound table.
CREATE INDEX IF NOT EXISTS inbound_update ON inbound (bot, update_id);
-- Finished outbox rows by age. Pending rows (the ones the sender reads) are not in it.
CREATE INDEX IF NOT EXISTS outbox_done_age ON outbox (created_at) WHERE state IN ('sent', 'failed');
CREATE INDEX IF NOT EXISTS dead_letters_age ON dead_letters (at);
