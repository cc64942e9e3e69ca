// Config → embedded backend settings (see storage_options.hpp).
#include "app/storage_options.hpp"

namespace botfn::app {

storage::sqlite::SqliteOptions sqliteOptionsOf(const Config& c) {
  storage::sqlite::SqliteOptions o;
  o.path = c.storage_path;
  o.max_page_count = c.storage_max_page_count;
  o.read_connections = 4;
  // loadConfig accepts only "full" and "normal".
  o.synchronous = c.storage_synchronous == "normal" ? storage::sqlite::Synchronous::Normal
                                                    : storage::sqlite::Synchronous::Full;
  return o;
}

storage::sqlite::Retention retentionOf(const Config& c) {
  storage::sqlite::Retention r;
  r.processed_s = c.storage_retention_processed_h * 3600;
  r.sent_outbox_s = c.storage_retention_sent_outbox_h * 3600;
  r.dead_letters_s = c.storage_retention_dead_letters_days * 86400;
  return r;
}

storage::sqlite::QueueWindow queueWindowOf(const Config& c) {
  storage::sqlite::QueueWindow w;
  w.max_updates = static_cast<size_t>(c.ingest_max_queued_updates);
  w.max_bytes = static_cast<size_t>(c.ingest_max_queued_bytes);
  return w;
}

}  // namespace botfn::app
