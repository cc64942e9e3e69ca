-- botfn's own tables live in schema botfn; apps' tables in schema app. App statements run as
-- role botfn_app (SET LOCAL ROLE), which has no privilege on schema botfn: an app cannot read or
-- write botfn's tables (docs/architecture.md, "App SQL"). Applied once, versioned by name and
-- checksum in botfn.schema_migrations (a changed file is refused).
CREATE SCHEMA IF NOT EXISTS botfn;
CREATE SCHEMA IF NOT EXISTS app;

CREATE TABLE IF NOT EXISTS botfn.processed (
  bot          TEXT    NOT NULL,
  update_id    BIGINT  NOT NULL,
  kind         TEXT    NOT NULL,
  handled      BOOLEAN NOT NULL,
  processed_at BIGINT  NOT NULL,
  PRIMARY KEY (bot, update_id)
);
CREATE INDEX IF NOT EXISTS processed_age ON botfn.processed (processed_at);

CREATE TABLE IF NOT EXISTS botfn.conversations (
  bot        TEXT   NOT NULL,
  chat_id    BIGINT NOT NULL,
  user_id    BIGINT NOT NULL,
  state      TEXT   NOT NULL,
  data       TEXT   NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (bot, chat_id, user_id)
);

CREATE TABLE IF NOT EXISTS botfn.outbox (
  id                BIGSERIAL PRIMARY KEY,
  bot               TEXT    NOT NULL,
  lane              TEXT    NOT NULL,
  chat_id           BIGINT  NOT NULL,
  method            TEXT    NOT NULL,
  params            TEXT    NOT NULL,
  handle            TEXT,
  target_handle     TEXT,
  state             TEXT    NOT NULL DEFAULT 'pending',  -- pending | sent | failed
  attempts          INTEGER NOT NULL DEFAULT 0,
  next_at           BIGINT  NOT NULL DEFAULT 0,          -- unix ms
  result_message_id BIGINT,
  error             TEXT,
  update_id         BIGINT  NOT NULL DEFAULT 0,
  created_at        BIGINT  NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS outbox_handle ON botfn.outbox (handle) WHERE handle IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbox_pending_rows ON botfn.outbox (id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_done_age ON botfn.outbox (created_at)
  WHERE state IN ('sent', 'failed');

CREATE TABLE IF NOT EXISTS botfn.dead_letters (
  id        BIGSERIAL PRIMARY KEY,
  bot       TEXT    NOT NULL,
  update_id BIGINT  NOT NULL,
  lane      TEXT    NOT NULL,
  kind      TEXT    NOT NULL,
  body      TEXT    NOT NULL,
  error     TEXT    NOT NULL,
  traceback TEXT    NOT NULL,
  attempts  INTEGER NOT NULL,
  at        BIGINT  NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_age ON botfn.dead_letters (at);

CREATE TABLE IF NOT EXISTS botfn.app_migrations (
  app        TEXT   NOT NULL,
  name       TEXT   NOT NULL,
  checksum   TEXT   NOT NULL,  -- md5 of the file: a changed migration is refused
  applied_at BIGINT NOT NULL,
  PRIMARY KEY (app, name)
);

-- The role app statements run as. Roles are per cluster, so it may exist already (another
-- botfn database on the same server).
DO $$
BEGIN
  CREATE ROLE botfn_app NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END
$$;
GRANT botfn_app TO CURRENT_USER;
GRANT USAGE, CREATE ON SCHEMA app TO botfn_app;
REVOKE ALL ON SCHEMA botfn FROM botfn_app;
REVOKE ALL ON SCHEMA public FROM botfn_app;
-- set_config('role', ...) would switch back to the session's user from inside a statement. Only
-- the function's owner (a superuser) may revoke it; botfn also refuses app statements that name
-- it (storage/postgres/pg_app_sql.cpp).
DO $$
BEGIN
  REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) FROM PUBLIC;
  EXECUTE format('GRANT EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) TO %I',
                 current_user);
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'botfn: cannot revoke set_config from PUBLIC (not a superuser)';
END
$$;
