// App SQL guard: the authorizer's rules, the deadline's progress handler, the reserved names.
#include "storage/sqlite/app_sql_guard.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "storage/sqlite/schema_sql.hpp"

namespace botfn::storage::sqlite {
namespace {

// Every app statement runs on one thread from prepare to its last step, so the scope's state
// is per thread; the callbacks below run on that thread.
struct ScopeState {
  bool active = false;
  bool timed = false;  // a deadline is set
  std::chrono::steady_clock::time_point deadline{};
  bool timed_out = false;
  std::string refusal;
  // The statement drops or renames a table: SQLite's own nested statements then keep
  // sqlite_sequence in step (DELETE or UPDATE of that table's row), which is allowed.
  bool table_dropped_or_renamed = false;
};
thread_local ScopeState t_scope;

// SQLite counts virtual-machine instructions between calls: about 10-50 µs of work, so a
// statement stops within a millisecond of its deadline, and botfn's own short statements
// (outside any scope) almost never pay the call.
constexpr int kProgressInstructions = 1000;

std::string lower(const char* s) {
  std::string out(s ? s : "");
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool isSchemaTable(const std::string& name) {
  return name == "sqlite_master" || name == "sqlite_schema" || name == "sqlite_temp_master" ||
         name == "sqlite_temp_schema";
}

// The name an action touches that must not be botfn's, or nullptr. The schema tables stay
// readable, and SQLite itself writes them for an app's CREATE TABLE (it refuses direct writes
// while writable_schema is off, which only a PRAGMA could turn on). Other sqlite_* tables
// (sqlite_sequence, sqlite_stat1) steer botfn's ids and query plans.
const char* refusedName(int action, const char* a, const char* b) {
  const char* name = nullptr;
  switch (action) {
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_ALTER_TABLE:
      name = b;  // the table (the index or trigger itself is the app's own or on a table above)
      break;
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_VIEW:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_VIEW:
    case SQLITE_DELETE:
    case SQLITE_INSERT:
    case SQLITE_READ:
    case SQLITE_UPDATE:
    case SQLITE_REINDEX:  // an index: an app's CREATE INDEX reindexes its own
      name = a;
      break;
    default:
      return nullptr;
  }
  if (!name) return nullptr;
  const std::string n = lower(name);
  if (isSchemaTable(n)) return nullptr;
  if (n == "sqlite_sequence" && t_scope.table_dropped_or_renamed &&
      (action == SQLITE_READ || action == SQLITE_DELETE || action == SQLITE_UPDATE)) {
    return nullptr;
  }
  if (reservedNames().count(n) || n.rfind("sqlite_", 0) == 0) return name;
  return nullptr;
}

// A temporary table lives on the connection, not in the update: it would outlive the update and
// could shadow a botfn table for botfn's own statements.
constexpr const char* kNoTemp =
    "temporary tables, views, indexes and triggers are not allowed in app SQL";

// Why an action is refused outright, or nullptr.
const char* refusedAction(int action, const char* b) {
  switch (action) {
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
      return "BEGIN, COMMIT, ROLLBACK, SAVEPOINT and RELEASE are not allowed in app SQL: each "
             "update's writes already commit together";
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      return "ATTACH, DETACH and VACUUM (which attaches) are not allowed in app SQL";
    case SQLITE_PRAGMA:
      return "PRAGMA is not allowed in app SQL";
    case SQLITE_ANALYZE:
      return "ANALYZE is not allowed in app SQL";
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_TEMP_VIEW:
      return kNoTemp;
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE:
      return "virtual tables are not allowed in app SQL";
    case SQLITE_FUNCTION:
      if (b && lower(b) == "load_extension") return "load_extension is not allowed in app SQL";
      return nullptr;
    default:
      return nullptr;
  }
}

// `CREATE TABLE temp.x` is reported as a plain CREATE_TABLE in database "temp".
bool inTempDatabase(const char* db, const char* a) {
  return db && lower(db) == "temp" && !(a && isSchemaTable(lower(a)));
}

int authorize(void*, int action, const char* a, const char* b, const char* db, const char*) {
  if (!t_scope.active) return SQLITE_OK;
  if (const char* why = inTempDatabase(db, a) ? kNoTemp : refusedAction(action, b)) {
    if (t_scope.refusal.empty()) t_scope.refusal = why;
    return SQLITE_DENY;
  }
  if (const char* name = refusedName(action, a, b)) {
    if (t_scope.refusal.empty()) {
      const bool index = action == SQLITE_REINDEX;
      t_scope.refusal =
          std::string(index ? "index \"" : "table \"") + lower(name) + "\" is reserved for botfn";
    }
    return SQLITE_DENY;
  }
  if (action == SQLITE_DROP_TABLE || action == SQLITE_ALTER_TABLE) {
    t_scope.table_dropped_or_renamed = true;
  }
  return SQLITE_OK;
}

int progress(void*) {
  if (!t_scope.timed) return 0;
  if (std::chrono::steady_clock::now() < t_scope.deadline) return 0;
  t_scope.timed_out = true;
  return 1;  // SQLITE_INTERRUPT
}

std::set<std::string> deriveReservedNames() {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("reserved names: cannot open an in-memory database");
  }
  std::set<std::string> names;
  auto collect = [](void* out, int, char** values, char**) {
    static_cast<std::set<std::string>*>(out)->insert(lower(values[0]));
    return 0;
  };
  char* err = nullptr;
  int rc = sqlite3_exec(db, kSystemSchemaSql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) {
    rc = sqlite3_exec(db, "SELECT name FROM sqlite_master", collect, &names, &err);
  }
  const std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error("reserved names: " + message);
  return names;
}

}  // namespace

void installAppSqlGuard(sqlite3* db) {
  sqlite3_set_authorizer(db, &authorize, nullptr);
  sqlite3_progress_handler(db, kProgressInstructions, &progress, nullptr);
  // No ordinary SQL may corrupt the file (writable_schema, shadow tables of virtual tables).
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
}

const std::set<std::string>& reservedNames() {
  static const std::set<std::string> names = deriveReservedNames();
  return names;
}

bool inAppSql() { return t_scope.active; }

AppSqlScope::AppSqlScope(sqlite3* db, std::chrono::steady_clock::time_point deadline,
                         size_t max_value_bytes)
    : db_(db) {
  (void)reservedNames();  // derived before the authorizer needs them, not inside a callback
  t_scope = ScopeState{};
  t_scope.active = true;
  t_scope.timed = deadline != std::chrono::steady_clock::time_point::max();
  t_scope.deadline = deadline;
  const int limit = static_cast<int>(std::min<size_t>(max_value_bytes, 1'000'000'000));
  previous_length_limit_ = sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, limit);
}

AppSqlScope::~AppSqlScope() {
  sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, previous_length_limit_);
  t_scope.active = false;
  t_scope.timed = false;
}

void AppSqlScope::nextStatement() { t_scope.table_dropped_or_renamed = false; }

const std::string& AppSqlScope::refusal() const { return t_scope.refusal; }
bool AppSqlScope::timedOut() const { return t_scope.timed_out; }

std::string leadingKeyword(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end + 1;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      const size_t end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
    } else {
      break;
    }
  }
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++]))));
  }
  return word;
}

}  // namespace botfn::storage::sqlite
