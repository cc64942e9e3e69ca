-- Registered users of the demo bot.
CREATE TABLE users (
  user_id       INTEGER PRIMARY KEY,
  api_token     TEXT    NOT NULL,
  profile_id    TEXT    NOT NULL,
  registered_at INTEGER NOT NULL
);
