// `botfn migrate-data`: moves an embedded bot's state (storage.path) into PostgreSQL, through
// storage/data_copy.hpp. Called by cli.cpp.
#pragma once

#include <string>

#include "app/config.hpp"

namespace botfn::app {

struct MigrateDataOptions {
  std::string to;            // postgresql://...; empty: storage.postgres_url (DATABASE_URL)
  bool keep_queued = false;  // leave queued updates in the file (the queue stays there)
};

// Prints what it moved per table; returns the exit code (0 moved, 1 refused or failed).
int migrateData(const Config& config, const MigrateDataOptions& options);

}  // namespace botfn::app
