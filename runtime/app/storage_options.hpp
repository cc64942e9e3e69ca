// The embedded backend's settings from the configuration (storage.*, ingest.* keys): the
// SQLite connection, the retention prune and the queue's memory window. Used by serve() and by
// tests that check a key reaches the connection.
#pragma once

#include "app/config.hpp"
#include "storage/sqlite/sqlite_backend.hpp"

namespace botfn::app {

storage::sqlite::SqliteOptions sqliteOptionsOf(const Config& c);
storage::sqlite::Retention retentionOf(const Config& c);
storage::sqlite::QueueWindow queueWindowOf(const Config& c);

}  // namespace botfn::app
