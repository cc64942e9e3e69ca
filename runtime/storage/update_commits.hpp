// UpdateCommits: the dispatcher's side of the store — whether an update was handled, and the
// one-transaction commit of everything it changed.
#pragma once

#include <functional>

#include "core/error.hpp"
#include "storage/types.hpp"

namespace botfn::storage {

class UpdateCommits {
 public:
  virtual ~UpdateCommits() = default;

  virtual Result<bool> isProcessed(const std::string& bot, int64_t update_id) = 0;
  // Applies the commit atomically; done runs once it is durable (or failed), on a store thread.
  // Returns nothing else: a failed commit changed nothing. A commit whose processed marker exists
  // already applies nothing and fails with AlreadyProcessed; one that failed because of the
  // storage (full, locked, I/O) fails with a code of retry class Storage (Error::isStorageFault).
  // The app writes run under the app SQL rules and share one AppSqlBudget (the backend's, set by
  // the composition root).
  virtual void commit(Commit commit, std::function<void(Result<void>)> done) = 0;
};

}  // namespace botfn::storage
