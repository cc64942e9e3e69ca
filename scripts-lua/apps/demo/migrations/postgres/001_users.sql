-- Registered users of the demo bot (PostgreSQL: Telegram ids need 64 bits).
CREATE TABLE users (
  user_id       BIGINT PRIMARY KEY,
  api_token     TEXT   NOT NULL,
  profile_id    TEXT   NOT NULL,
  registered_at BIGINT NOT NULL
);
