// The PostgreSQL Store behind storage::Backend, for storage/backend.cpp. No pqxx here: the
// factory is the only door into this folder.
#pragma once

#include <memory>

#include "storage/backend.hpp"

namespace botfn::storage::postgres {

// The Store on options.postgres, with the queue of queue_side (the embedded queue, or Redis):
// store() is PostgreSQL's, bus() and recover() are queue_side's.
Result<std::unique_ptr<Backend>> openPostgresBackend(const BackendOptions& options,
                                                     Metrics& metrics,
                                                     std::unique_ptr<Backend> queue_side);

}  // namespace botfn::storage::postgres
