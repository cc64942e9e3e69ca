// The one way to open storage: openBackend() builds the configured backend and hands out its
// narrow sides, so the composition root never sees a backend type (sqlite3.h stays in
// storage/sqlite, as pqxx and hiredis will stay in their folders).
#pragma once

#include <memory>
#include <optional>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "storage/backend_options.hpp"
#include "storage/bus.hpp"
#include "storage/store.hpp"

namespace botfn::storage {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Store& store() = 0;
  virtual Bus& bus() = 0;
  // Loads the entries left unacked by the last run, so they are delivered again. Call once,
  // after the apps' migrations and before the dispatcher starts.
  virtual Result<void> recover() = 0;
  // A storage fault of the last write, until a later write succeeds (/readyz answers 503).
  virtual std::optional<Error> currentFault() const = 0;
};

// Opens (creating if needed) the backend options.kind names and applies botfn's schema.
Result<std::unique_ptr<Backend>> openBackend(const BackendOptions& options, Metrics& metrics);

}  // namespace botfn::storage
