// The embedded backend behind storage::Backend, for storage/backend.cpp. No sqlite3.h here: the
// factory is the only door into this folder.
#pragma once

#include <memory>

#include "storage/backend.hpp"

namespace botfn::storage::sqlite {

Result<std::unique_ptr<Backend>> openSqliteBackend(const BackendOptions& options, Metrics& metrics);

}  // namespace botfn::storage::sqlite
