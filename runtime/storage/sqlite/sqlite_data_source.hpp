// The embedded file as the source of `botfn migrate-data` (storage/data_copy.hpp). No sqlite3.h
// here: storage/data_copy.cpp opens it through this door.
#pragma once

#include <filesystem>
#include <memory>

#include "storage/data_copy.hpp"

namespace botfn::storage::sqlite {

// Opens path read-only and holds one read transaction for the source's life, so every table is
// read from the same snapshot.
Result<std::unique_ptr<DataSource>> openSqliteDataSource(const std::filesystem::path& path);

}  // namespace botfn::storage::sqlite
