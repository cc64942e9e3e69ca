// SqliteDataSource: botfn's and the apps' tables of the embedded file as text rows, for
// storage/data_copy.cpp. App tables are every table not in the system schema (reservedNames).
#include "storage/sqlite/sqlite_data_source.hpp"

#include "storage/sqlite/app_sql_guard.hpp"
#include "storage/sqlite/sqlite_db.hpp"

namespace botfn::storage::sqlite {
namespace {

constexpr size_t kBatchRows = 500;

std::string quoteName(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// PostgreSQL reads '\x0a1b' as a bytea value.
std::string hexOf(const void* data, int size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "\\x";
  const auto* p = static_cast<const unsigned char*>(data);
  for (int i = 0; i < size; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

class SqliteDataSource final : public DataSource {
 public:
  explicit SqliteDataSource(const std::filesystem::path& path) : connection_(path, true) {}
  ~SqliteDataSource() override { (void)exec(connection_.get(), "COMMIT"); }

  Result<void> begin() {
    // The snapshot starts at the first read: take it now, so nothing read later is newer.
    if (auto r = exec(connection_.get(), "BEGIN"); !r) return r;
    Stmt s(connection_.get(), "SELECT count(*) FROM sqlite_master");
    if (!s.ok()) return tl::unexpected(sqliteError(connection_.get(), s.prepareRc(), "open"));
    if (int rc = s.step(); rc != SQLITE_ROW)
      return tl::unexpected(sqliteError(connection_.get(), rc, "open"));
    if (s.int64(0) == 0) {
      return fail(ErrorCode::ConfigInvalid, "the file holds no tables: not a botfn database");
    }
    return {};
  }

  Result<int64_t> queuedUpdates() override {
    Stmt s(connection_.get(), "SELECT count(*) FROM inbound");
    if (!s.ok()) return tl::unexpected(sqliteError(connection_.get(), s.prepareRc(), "inbound"));
    if (int rc = s.step(); rc != SQLITE_ROW)
      return tl::unexpected(sqliteError(connection_.get(), rc, "inbound"));
    return s.int64(0);
  }

  Result<std::vector<std::string>> appTables() override {
    Stmt s(connection_.get(), "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    if (!s.ok()) return tl::unexpected(sqliteError(connection_.get(), s.prepareRc(), "tables"));
    std::vector<std::string> names;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      std::string name = s.text(0), lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (reservedNames().count(lower) || lower.rfind("sqlite_", 0) == 0) continue;
      names.push_back(std::move(name));
    }
    if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(connection_.get(), rc, "tables"));
    return names;
  }

  Result<std::vector<std::string>> columns(const TableRef& table) override {
    Stmt s(connection_.get(), "SELECT name FROM pragma_table_info(?1) ORDER BY cid");
    if (!s.ok()) return tl::unexpected(sqliteError(connection_.get(), s.prepareRc(), "columns"));
    s.bind(1, table.name);
    std::vector<std::string> names;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) names.push_back(s.text(0));
    if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(connection_.get(), rc, "columns"));
    return names;
  }

  Result<void> readRows(const TableRef& table, const std::vector<std::string>& columns,
                        const RowSink& sink) override {
    std::string sql = "SELECT ";
    for (size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + quoteName(columns[i]);
    sql += " FROM " + quoteName(table.name);
    Stmt s(connection_.get(), sql);
    if (!s.ok()) return tl::unexpected(sqliteError(connection_.get(), s.prepareRc(), table.name));
    std::vector<TextRow> batch;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      TextRow row(columns.size());
      for (size_t i = 0; i < columns.size(); ++i) {
        const int col = static_cast<int>(i);
        switch (sqlite3_column_type(s.get(), col)) {
          case SQLITE_NULL:
            break;
          case SQLITE_BLOB:
            row[i] = hexOf(sqlite3_column_blob(s.get(), col), sqlite3_column_bytes(s.get(), col));
            break;
          default:  // integers and reals print as PostgreSQL reads them
            row[i] = s.text(col);
        }
      }
      batch.push_back(std::move(row));
      if (batch.size() == kBatchRows) {
        if (auto r = sink(std::move(batch)); !r) return r;
        batch.clear();
      }
    }
    if (rc != SQLITE_DONE) return tl::unexpected(sqliteError(connection_.get(), rc, table.name));
    if (!batch.empty()) return sink(std::move(batch));
    return {};
  }

 private:
  Connection connection_;
};

}  // namespace

Result<std::unique_ptr<DataSource>> openSqliteDataSource(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail(ErrorCode::ConfigInvalid, "storage.path: no embedded database at " + path.string());
  }
  try {
    auto source = std::make_unique<SqliteDataSource>(path);
    if (auto r = source->begin(); !r) {
      return fail(r.error().code, "storage.path " + path.string() + ": " + r.error().detail);
    }
    return std::unique_ptr<DataSource>(std::move(source));
  } catch (const std::exception& e) {
    return fail(ErrorCode::StorageUnavailable, std::string("storage.path: ") + e.what());
  }
}

}  // namespace botfn::storage::sqlite
