// Moving a bot's state from the embedded file to PostgreSQL (`botfn migrate-data`): a DataSource
// reads tables as text rows, a DataTarget loads them in one transaction, and copyData() holds the
// rules (which tables, which columns, when to refuse). The backends fill the two interfaces in
// their own folders; app/migrate_data.cpp drives it.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "storage/app_sql.hpp"
#include "storage/backend_options.hpp"

namespace botfn::storage {

// A row as text, in the column order asked for; nullopt is NULL. Both dialects parse the text of
// each other's values (integers, 0/1 as booleans); a BLOB travels as PostgreSQL's \x hex.
using TextRow = std::vector<std::optional<std::string>>;
using RowSink = std::function<Result<void>(std::vector<TextRow>&& batch)>;

// botfn's tables whose rows matter after the switch, in copy order. The queue's tables (inbound,
// seen_updates, poll_offsets) stay with the queue; app_migrations is rebuilt on the target by
// running the apps' migrations there (its records carry the checksums of the target's files).
inline constexpr std::array<const char*, 4> kStateTables{"processed", "conversations", "outbox",
                                                         "dead_letters"};

// Whose table: botfn's (kStateTables) or an app's.
enum class TableOwner { Botfn, App };

struct TableRef {
  TableOwner owner;
  std::string name;
};

class DataSource {
 public:
  virtual ~DataSource() = default;
  // Updates accepted but not yet committed (the inbound queue).
  virtual Result<int64_t> queuedUpdates() = 0;
  virtual Result<std::vector<std::string>> appTables() = 0;
  virtual Result<std::vector<std::string>> columns(const TableRef& table) = 0;
  // Streams the table's rows in batches.
  virtual Result<void> readRows(const TableRef& table, const std::vector<std::string>& columns,
                                const RowSink& sink) = 0;
};

struct TableCopy {
  TableRef table;
  std::vector<std::string> columns;  // present on both sides, in the target's order
  int64_t rows = 0;                  // filled by DataTarget::load
};

class DataTarget {
 public:
  virtual ~DataTarget() = default;
  // Where the data goes, with the password replaced by ***.
  virtual std::string describe() const = 0;
  // botfn's state tables that hold rows already: a bot has run on this target.
  virtual Result<std::vector<std::string>> nonEmptyStateTables() = 0;
  // To apply the apps' migrations on the target before its tables are listed.
  virtual AppSql& appSql() = 0;
  virtual Result<std::vector<std::string>> appTables() = 0;
  virtual Result<std::vector<std::string>> columns(const TableRef& table) = 0;
  // In one transaction: empties each app table of the plan (rows its migrations seeded: the
  // source holds them too), inserts the source's rows, then moves every sequence of the copied
  // tables past the highest copied value. Nothing stays when any step fails.
  virtual Result<void> load(std::vector<TableCopy>& plan, DataSource& source) = 0;
};

// The embedded file at options.embedded.path, read-only, in one read transaction (a consistent
// snapshot). Fails when the file does not exist.
Result<std::unique_ptr<DataSource>> openEmbeddedSource(const BackendOptions& options);
// PostgreSQL at options.postgres.url, with botfn's schema applied.
Result<std::unique_ptr<DataTarget>> openPostgresTarget(const BackendOptions& options,
                                                       Metrics& metrics);

struct CopyOptions {
  // Leave queued updates in the embedded file: right only when the queue stays there (no Redis).
  bool keep_queued = false;
  // Applies the apps' migrations on the target; runs after the target was found empty.
  std::function<Result<void>(AppSql&)> migrate_apps;
};

struct CopyReport {
  std::vector<TableCopy> copied;
  std::vector<std::string> source_only;  // app tables the target's migrations do not create
  int64_t queued = 0;                    // updates left in the embedded queue (keep_queued)
};

// Refuses a target a bot has run on, and queued updates unless keep_queued; then migrates the
// apps on the target and copies botfn's state tables and every app table present on both sides
// (columns matched by name).
Result<CopyReport> copyData(DataSource& source, DataTarget& target, const CopyOptions& options);

}  // namespace botfn::storage
