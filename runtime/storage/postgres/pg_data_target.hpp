// PostgreSQL as the target of `botfn migrate-data` (storage/data_copy.hpp). No pqxx here:
// storage/data_copy.cpp opens it through this door.
#pragma once

#include <memory>

#include "storage/data_copy.hpp"

namespace botfn::storage::postgres {

// Connects to options.postgres.url (errors name the URL with its password as ***) and applies
// botfn's schema.
Result<std::unique_ptr<DataTarget>> openPgDataTarget(const BackendOptions& options,
                                                     Metrics& metrics);

}  // namespace botfn::storage::postgres
