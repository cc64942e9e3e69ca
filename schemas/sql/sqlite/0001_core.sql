-- botfn system tables for the embedded SQLite backend (forward-only; applied in file-name order).

-- Inbound queue: every accepted update until its commit acknowledges it.
CREATE TABLE IF NOT EXISTS inbound (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  bot         TEXT    NOT NULL,
  update_id   INTEGER NOT NULL,
  lane        TEXT    NOT NULL,
  kind        TEXT    NOT NULL,
  body        TEXT    NOT NULL,
  received_at INTEGER NOT NULL
);

-- Dedupe window of recently seen update ids per bot (ids restart randomly after a quiet week,
-- so "greater than the last" would be wrong).
CREATE TABLE IF NOT EXISTS seen_updates (
  bot       TEXT    NOT NULL,
  update_id INTEGER NOT NULL,
  seen_at   INTEGER NOT NULL,
  PRIMARY KEY (bot, update_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_updates_age ON seen_updates (seen_at);

-- Written in the same transaction as the update's effects: a redelivery finds it and skips.
CREATE TABLE IF NOT EXISTS processed (
  bot          TEXT    NOT NULL,
  update_id    INTEGER NOT NULL,
  kind         TEXT    NOT NULL,
  handled      INTEGER NOT NULL,
  processed_at INTEGER NOT NULL,
  PRIMARY KEY (bot, update_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS processed_age ON processed (processed_at);

CREATE TABLE IF NOT EXISTS conversations (
  bot        TEXT    NOT NULL,
  chat_id    INTEGER NOT NULL,
  user_id    INTEGER NOT NULL,
  state      TEXT    NOT NULL,
  data       TEXT    NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (bot, chat_id, user_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS outbox (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  bot               TEXT    NOT NULL,
  lane              TEXT    NOT NULL,
  chat_id           INTEGER NOT NULL,
  method            TEXT    NOT NULL,
  params            TEXT    NOT NULL,
  handle            TEXT,
  target_handle     TEXT,
  state             TEXT    NOT NULL DEFAULT 'pending',  -- pending | sent | failed
  attempts          INTEGER NOT NULL DEFAULT 0,
  next_at           INTEGER NOT NULL DEFAULT 0,          -- unix ms
  result_message_id INTEGER,
  error             TEXT,
  update_id         INTEGER NOT NULL DEFAULT 0,  -- the update that produced it: the log trace id
  created_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS outbox_handle ON outbox (handle) WHERE handle IS NOT NULL;

CREATE TABLE IF NOT EXISTS dead_letters (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  bot       TEXT    NOT NULL,
  update_id INTEGER NOT NULL,
  lane      TEXT    NOT NULL,
  kind      TEXT    NOT NULL,
  body      TEXT    NOT NULL,
  error     TEXT    NOT NULL,
  traceback TEXT    NOT NULL,
  attempts  INTEGER NOT NULL,
  at        INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS poll_offsets (
  bot         TEXT PRIMARY KEY,
  next_offset INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS app_migrations (
  app        TEXT NOT NULL,
  name       TEXT NOT NULL,
  applied_at INTEGER NOT NULL,
  PRIMARY KEY (app, name)
);
