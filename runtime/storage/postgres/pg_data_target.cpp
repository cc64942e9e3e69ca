// PgDataTarget: loads a DataSource's rows into schemas botfn and app in one writer job (one
// transaction), as multi-row INSERTs of quoted literals (PostgreSQL casts each to its column's
// type), then moves the copied tables' sequences past the copied ids.
#include "storage/postgres/pg_data_target.hpp"

#include "storage/postgres/pg_db.hpp"
#include "storage/postgres/pg_schema.hpp"
#include "storage/postgres/pg_store.hpp"

namespace botfn::storage::postgres {
namespace {

const char* schemaOf(const TableRef& t) { return t.owner == TableOwner::App ? "app" : "botfn"; }

PgOptions pgOptionsOf(const PostgresOptions& o) {
  PgOptions out;
  out.url = o.url;
  out.read_connections = 1;
  out.connect_timeout = std::chrono::seconds(o.connect_timeout_s);
  return out;
}

// Inserts one batch; OVERRIDING SYSTEM VALUE lets an app's identity column take the copied ids.
// exec_params, not exec: libpqxx 6 aborts its transaction object when an exec() fails, and the
// writer could then not roll back to the job's savepoint.
Result<void> insertBatch(pqxx::transaction_base& txn, const std::string& qualified,
                         const std::vector<std::string>& columns,
                         const std::vector<TextRow>& batch) try {
  std::string sql = "INSERT INTO " + qualified + " (";
  for (size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + txn.quote_name(columns[i]);
  sql += ") OVERRIDING SYSTEM VALUE VALUES ";
  for (size_t r = 0; r < batch.size(); ++r) {
    sql += r ? ",(" : "(";
    for (size_t i = 0; i < batch[r].size(); ++i) {
      if (i) sql += ',';
      sql += batch[r][i] ? txn.quote(*batch[r][i]) : std::string("NULL");
    }
    sql += ')';
  }
  txn.exec_params0(sql);
  return {};
} catch (const std::exception& e) {  // a value the column's type does not take, a broken link
  return tl::unexpected(pgError(e, "insert"));
}

// setval(seq, max + 1, false): the next id is one past the highest copied (1 on an empty table).
void moveSequences(pqxx::transaction_base& txn, const std::string& schema,
                   const std::string& table) {
  const auto sequences = txn.exec_params(
      "SELECT a.attname, pg_get_serial_sequence(format('%I.%I', $1::text, $2::text), a.attname) "
      "FROM pg_attribute a WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass "
      "AND a.attnum > 0 AND NOT a.attisdropped",
      schema, table);
  for (const auto& row : sequences) {
    if (row[1].is_null()) continue;
    const std::string column = txn.quote_name(row[0].as<std::string>());
    txn.exec_params("SELECT setval(" + txn.quote(row[1].as<std::string>()) + ", COALESCE(max(" +
                    column + "), 0) + 1, false) FROM " + txn.quote_name(schema) + "." +
                    txn.quote_name(table));
  }
}

class PgDataTarget final : public DataTarget {
 public:
  PgDataTarget(const BackendOptions& o, Metrics& metrics)
      : db_(pgOptionsOf(o.postgres), metrics), store_(db_, o.app_sql), url_(o.postgres.url) {}

  PgDb& db() { return db_; }
  std::string describe() const override { return redactUrl(url_); }
  AppSql& appSql() override { return store_; }

  Result<std::vector<std::string>> nonEmptyStateTables() override {
    return db_.read<std::vector<std::string>>(
        [](pqxx::transaction_base& txn) -> Result<std::vector<std::string>> {
          std::vector<std::string> busy;
          for (const char* table : kStateTables) {
            if (!txn.exec(std::string("SELECT 1 FROM botfn.") + table + " LIMIT 1").empty())
              busy.emplace_back(table);
          }
          return busy;
        });
  }

  Result<std::vector<std::string>> appTables() override {
    return db_.read<std::vector<std::string>>(
        [](pqxx::transaction_base& txn) -> Result<std::vector<std::string>> {
          std::vector<std::string> names;
          for (const auto& row :
               txn.exec("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
                        "c.relnamespace WHERE n.nspname = 'app' AND c.relkind IN ('r', 'p') "
                        "ORDER BY c.relname"))
            names.push_back(row[0].as<std::string>());
          return names;
        });
  }

  Result<std::vector<std::string>> columns(const TableRef& table) override {
    return db_.read<std::vector<std::string>>(
        [&](pqxx::transaction_base& txn) -> Result<std::vector<std::string>> {
          std::vector<std::string> names;
          for (const auto& row : txn.exec_params(
                   "SELECT attname FROM pg_attribute WHERE attrelid = "
                   "format('%I.%I', $1::text, $2::text)::regclass AND attnum > 0 AND NOT "
                   "attisdropped ORDER BY attnum",
                   schemaOf(table), table.name))
            names.push_back(row[0].as<std::string>());
          return names;
        });
  }

  Result<void> load(std::vector<TableCopy>& plan, DataSource& source) override {
    return db_.writeSync([&](pqxx::transaction_base& txn) -> Result<void> {
      for (auto& copy : plan) {
        const std::string schema = schemaOf(copy.table);
        const std::string qualified =
            txn.quote_name(schema) + "." + txn.quote_name(copy.table.name);
        if (copy.table.owner == TableOwner::App) txn.exec_params0("DELETE FROM " + qualified);
        copy.rows = 0;
        auto r = source.readRows(copy.table, copy.columns, [&](std::vector<TextRow>&& batch) {
          copy.rows += static_cast<int64_t>(batch.size());
          return insertBatch(txn, qualified, copy.columns, batch);
        });
        if (!r)
          return fail(r.error().code, schema + "." + copy.table.name + ": " + r.error().detail);
        moveSequences(txn, schema, copy.table.name);
      }
      return {};
    });
  }

 private:
  PgDb db_;
  PgStore store_;
  std::string url_;
};

}  // namespace

Result<std::unique_ptr<DataTarget>> openPgDataTarget(const BackendOptions& options,
                                                     Metrics& metrics) {
  if (options.postgres.url.empty()) return fail(ErrorCode::ConfigInvalid, "no PostgreSQL URL");
  try {
    auto target = std::make_unique<PgDataTarget>(options, metrics);
    if (auto r = applySystemSchema(target->db()); !r) {
      return fail(r.error().code, "system schema: " + r.error().detail);
    }
    return std::unique_ptr<DataTarget>(std::move(target));
  } catch (const std::exception& e) {  // the server cannot be reached (the URL is redacted)
    return fail(ErrorCode::StorageUnavailable, e.what());
  }
}

}  // namespace botfn::storage::postgres
