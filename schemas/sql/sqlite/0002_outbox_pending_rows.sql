-- The sender reads only pending outbox rows. A partial index holds just those: one entry in when
-- a row is committed, one out when it is sent. It replaces an index on (state, id) that kept an
-- entry for every message ever sent and moved it on every send (two more pages per write group,
-- and an index that only grew). The whole schema runs at every start: 0001 no longer creates the
-- old index, and this drops it where an older botfn did.
DROP INDEX IF EXISTS outbox_pending;
CREATE INDEX IF NOT EXISTS outbox_pending_rows ON outbox (id) WHERE state = 'pending';
