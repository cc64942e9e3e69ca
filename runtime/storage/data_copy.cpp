// copyData: the rules of `botfn migrate-data` over the two narrow sides; the openers reach each
// backend through its folder's factory (linked PRIVATE, as openBackend does).
#include "storage/data_copy.hpp"

#include <algorithm>

#include "storage/postgres/pg_data_target.hpp"
#include "storage/sqlite/sqlite_data_source.hpp"

namespace botfn::storage {
namespace {

// The target's columns that the source has too, in the target's order (a column the source lacks
// takes its default; one the target lacks has nowhere to go).
Result<std::vector<std::string>> sharedColumns(DataSource& source, DataTarget& target,
                                               const TableRef& table) {
  auto theirs = source.columns(table);
  if (!theirs) return tl::unexpected(theirs.error());
  auto ours = target.columns(table);
  if (!ours) return tl::unexpected(ours.error());
  std::vector<std::string> shared;
  for (const auto& c : *ours) {
    if (std::find(theirs->begin(), theirs->end(), c) != theirs->end()) shared.push_back(c);
  }
  return shared;
}

}  // namespace

Result<std::unique_ptr<DataSource>> openEmbeddedSource(const BackendOptions& options) {
  return sqlite::openSqliteDataSource(options.embedded.path);
}

Result<std::unique_ptr<DataTarget>> openPostgresTarget(const BackendOptions& options,
                                                       Metrics& metrics) {
  return postgres::openPgDataTarget(options, metrics);
}

Result<CopyReport> copyData(DataSource& source, DataTarget& target, const CopyOptions& options) {
  CopyReport report;
  auto queued = source.queuedUpdates();
  if (!queued) return tl::unexpected(queued.error());
  if (*queued > 0 && !options.keep_queued) {
    return fail(ErrorCode::ConfigInvalid,
                std::to_string(*queued) +
                    " update(s) are still queued in the embedded file; let botfn handle them "
                    "first (docs/operations.md, \"Moving an embedded bot to PostgreSQL\"), or "
                    "pass --keep-queued when the queue stays in the file (no REDIS_URL)");
  }
  report.queued = *queued;
  auto busy = target.nonEmptyStateTables();
  if (!busy) return tl::unexpected(busy.error());
  if (!busy->empty()) {
    std::string names;
    for (const auto& t : *busy) names += (names.empty() ? "botfn." : ", botfn.") + t;
    return fail(ErrorCode::ConfigInvalid, target.describe() + " is not empty (" + names +
                                              " hold rows): a bot has run on it; migrate into "
                                              "a new database");
  }
  if (options.migrate_apps) {
    if (auto r = options.migrate_apps(target.appSql()); !r) return tl::unexpected(r.error());
  }

  for (const char* name : kStateTables) {
    const TableRef table{TableOwner::Botfn, name};
    auto columns = sharedColumns(source, target, table);
    if (!columns) return tl::unexpected(columns.error());
    report.copied.push_back(TableCopy{table, std::move(*columns)});
  }
  auto theirs = source.appTables();
  if (!theirs) return tl::unexpected(theirs.error());
  auto ours = target.appTables();
  if (!ours) return tl::unexpected(ours.error());
  for (const auto& name : *theirs) {
    if (std::find(ours->begin(), ours->end(), name) == ours->end()) {
      report.source_only.push_back(name);
      continue;
    }
    const TableRef table{TableOwner::App, name};
    auto columns = sharedColumns(source, target, table);
    if (!columns) return tl::unexpected(columns.error());
    if (!columns->empty()) report.copied.push_back(TableCopy{table, std::move(*columns)});
  }
  if (auto r = target.load(report.copied, source); !r) return tl::unexpected(r.error());
  return report;
}

}  // namespace botfn::storage
