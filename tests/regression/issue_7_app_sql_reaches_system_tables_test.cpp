// Issue 7 item 8: an app's SQL (db.query, db.exec, its migrations) could read and write botfn's
// own tables — delete the outbox, rewrite processed markers, read every user's conversation —
// and run PRAGMA, VACUUM (INTO a file) or create triggers on them. The authorizer now refuses
// every name the system schema creates and every connection-wide statement, naming the table.
#include <gtest/gtest.h>

#include <fstream>

#include "sqlite_backend.hpp"
#include "storage/sqlite/app_sql_guard.hpp"

namespace botfn::storage::contract {
namespace {

namespace fs = std::filesystem;

class Issue7AppSqlReachesSystemTables : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(backend.db().writeSync([](sqlite3* db) {
      return sqlite::exec(db,
                          "CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT);"
                          "CREATE TABLE log (body TEXT);");
    }));
    Commit seed = commit({});
    seed.outbox.push_back(OutboxMessage{"b", "c1", 1, "sendMessage", "{}", "h-seed", ""});
    ASSERT_TRUE(apply(std::move(seed)));
  }

  Commit commit(std::vector<SqlStatement> writes) {
    Commit c;
    c.bot = "b";
    c.update_id = next_update_++;
    c.kind = "message";
    c.app_writes = std::move(writes);
    return c;
  }
  Result<void> apply(Commit c) {
    return await<Result<void>>([&](auto done) { backend.store().commit(std::move(c), done); });
  }
  Result<void> exec(const std::string& sql) { return apply(commit({{sql, {}}})); }

  std::vector<std::string> systemNames(const std::string& where) {
    auto rows = backend.systemQuery("SELECT name FROM sqlite_master " + where + " ORDER BY name");
    std::vector<std::string> out;
    if (rows) {
      for (auto& row : rows->rows) out.push_back(std::get<std::string>(row[0]));
    }
    return out;
  }
  static std::string upper(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return s;
  }
  std::string firstColumn(const std::string& table) {
    auto rows = backend.systemQuery("SELECT name FROM pragma_table_info('" + table + "')");
    return rows && !rows->rows.empty() ? std::get<std::string>(rows->rows[0][0]) : "rowid";
  }
  int64_t count(const std::string& table) {
    auto rows = backend.systemQuery("SELECT count(*) FROM " + table);
    return rows ? std::get<int64_t>(rows->rows[0][0]) : -1;
  }

  SqliteBackend backend;
  int64_t next_update_ = 1;
};

TEST_F(Issue7AppSqlReachesSystemTables, ReservedNamesAreExactlyWhatTheSystemSchemaCreates) {
  // A fresh database: everything in it was made by the system schema (SetUp's app tables are
  // left out by name).
  std::set<std::string> in_db;
  for (const auto& name : systemNames("WHERE tbl_name NOT IN ('notes', 'log')")) {
    std::string lower = name;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    in_db.insert(lower);
  }
  EXPECT_EQ(sqlite::reservedNames(), in_db);
  for (const char* table : {"inbound", "seen_updates", "processed", "conversations", "outbox",
                            "dead_letters", "poll_offsets", "app_migrations", "sqlite_sequence"}) {
    EXPECT_TRUE(sqlite::reservedNames().count(table)) << table;
  }
}

TEST_F(Issue7AppSqlReachesSystemTables, EveryReservedTableIsRefusedInQueryAndExec) {
  const auto tables = systemNames("WHERE type = 'table' AND tbl_name NOT IN ('notes', 'log')");
  ASSERT_GE(tables.size(), 9u);
  const int64_t outbox_rows = count("outbox");
  for (const auto& t : tables) {
    const std::string col = firstColumn(t);
    const std::vector<std::string> statements{
        "SELECT * FROM " + t,
        "SELECT count(*) FROM \"" + t + "\"",
        "select " + col + " from main." + t + " limit 1",
        "SELECT body FROM notes WHERE id IN (SELECT 1 FROM " + t + ")",
        "INSERT INTO " + t + " DEFAULT VALUES",
        "INSERT INTO log (body) SELECT " + col + " FROM " + t,
        "UPDATE " + t + " SET " + col + " = " + col,
        "DELETE FROM " + t,
        "DROP TABLE " + t,
        "ALTER TABLE " + t + " ADD COLUMN app_col INTEGER",
        "ALTER TABLE " + t + " RENAME TO app_" + t,
        "CREATE INDEX app_idx ON " + t + " (" + col + ")",
        "CREATE TRIGGER app_trg AFTER INSERT ON " + t + " BEGIN SELECT 1; END",
        "SELECT count(*) FROM " + upper(t),
    };
    const bool sqlite_own = t.rfind("sqlite_", 0) == 0;
    for (const auto& sql : statements) {
      auto read = backend.store().query({sql, {}});
      ASSERT_FALSE(read) << sql;
      auto write = exec(sql);
      ASSERT_FALSE(write) << sql;
      if (sqlite_own && sql.find("notes") == std::string::npos &&
          sql.find("log") == std::string::npos) {
        continue;  // SQLite refuses some of these itself ("may not be dropped")
      }
      const std::string named = "table \"" + t + "\" is reserved for botfn";
      EXPECT_EQ(read.error().code, ErrorCode::SqlRefused) << sql << ": " << read.error().detail;
      EXPECT_NE(read.error().detail.find(named), std::string::npos) << read.error().detail;
      EXPECT_EQ(write.error().code, ErrorCode::SqlRefused) << sql << ": " << write.error().detail;
      EXPECT_NE(write.error().detail.find("db.exec #1: " + named), std::string::npos)
          << write.error().detail;
    }
  }
  // Nothing changed: every table is still there, with its rows.
  EXPECT_EQ(systemNames("WHERE type = 'table' AND tbl_name NOT IN ('notes', 'log')"), tables);
  EXPECT_EQ(count("outbox"), outbox_rows);
  EXPECT_EQ(count("log"), 0);
}

TEST_F(Issue7AppSqlReachesSystemTables, SystemIndexesAreRefused) {
  for (const char* sql : {"DROP INDEX outbox_pending_rows", "REINDEX outbox_handle", "REINDEX",
                          "CREATE INDEX IF NOT EXISTS x ON outbox (id)"}) {
    auto read = backend.store().query({sql, {}});
    ASSERT_FALSE(read) << sql;
    EXPECT_EQ(read.error().code, ErrorCode::SqlRefused) << sql << ": " << read.error().detail;
    auto write = exec(sql);
    ASSERT_FALSE(write) << sql;
    EXPECT_EQ(write.error().code, ErrorCode::SqlRefused) << sql << ": " << write.error().detail;
  }
  EXPECT_EQ(systemNames("WHERE name = 'outbox_pending_rows'").size(), 1u);
}

TEST_F(Issue7AppSqlReachesSystemTables, ConnectionWideStatementsAreRefused) {
  const auto copy = backend.dir() / "copy.db";
  for (const std::string& sql :
       std::vector<std::string>{"PRAGMA journal_mode = DELETE",
                                "PRAGMA writable_schema = ON",
                                "PRAGMA foreign_keys",
                                "PRAGMA synchronous = OFF",
                                "SELECT * FROM pragma_table_info('notes')",
                                "VACUUM",
                                "  /* hidden */ vacuum",
                                "VACUUM INTO '" + copy.string() + "'",
                                "ATTACH DATABASE ':memory:' AS other",
                                "DETACH DATABASE temp",
                                "ANALYZE",
                                "ANALYZE notes",
                                "CREATE TEMP TABLE outbox (x)",
                                "CREATE TEMP TABLE scratch (x)",
                                "CREATE TABLE temp.scratch (x)",
                                "CREATE TEMP VIEW v AS SELECT 1",
                                "CREATE TEMP TRIGGER t AFTER INSERT ON notes BEGIN SELECT 1; END",
                                "CREATE VIRTUAL TABLE vt USING fts5(x)",
                                "SELECT load_extension('libc.so.6')",
                                "UPDATE sqlite_master SET sql = NULL",
                                "DELETE FROM sqlite_master",
                                "INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', 0)",
                                "BEGIN",
                                "COMMIT",
                                "SAVEPOINT s",
                                "RELEASE s"}) {
    auto read = backend.store().query({sql, {}});
    ASSERT_FALSE(read) << sql;
    auto write = exec(sql);
    ASSERT_FALSE(write) << sql;
    if (sql.find("sqlite_master") != std::string::npos) continue;  // SQLite's own refusal
    EXPECT_EQ(read.error().code, ErrorCode::SqlRefused) << sql << ": " << read.error().detail;
    EXPECT_EQ(write.error().code, ErrorCode::SqlRefused) << sql << ": " << write.error().detail;
  }
  EXPECT_FALSE(fs::exists(copy));
  EXPECT_NE(backend.store().query({"PRAGMA foreign_keys", {}}).error().detail.find("PRAGMA"),
            std::string::npos);
  // botfn's own connection settings are untouched.
  auto mode = backend.systemQuery("PRAGMA journal_mode");
  ASSERT_TRUE(mode);
  EXPECT_EQ(std::get<std::string>(mode->rows[0][0]), "wal");
}

TEST_F(Issue7AppSqlReachesSystemTables, TriggersAndViewsOfTheAppCannotReachBotfnTables) {
  ASSERT_TRUE(exec("INSERT INTO notes (body) VALUES ('first')"));  // cached on the writer
  ASSERT_TRUE(
      exec("CREATE TRIGGER leak AFTER INSERT ON notes BEGIN "
           "DELETE FROM outbox; INSERT INTO log (body) VALUES ('fired'); END"));
  ASSERT_TRUE(exec("CREATE VIEW peek AS SELECT * FROM outbox"));
  // The cached INSERT is prepared again after the schema change, and its trigger body with it:
  // both inside the app's scope.
  auto fired = exec("INSERT INTO notes (body) VALUES ('second')");
  ASSERT_FALSE(fired);
  EXPECT_EQ(fired.error().code, ErrorCode::SqlRefused) << fired.error().detail;
  EXPECT_NE(fired.error().detail.find("table \"outbox\" is reserved for botfn"), std::string::npos);
  auto peek = backend.store().query({"SELECT * FROM peek", {}});
  ASSERT_FALSE(peek);
  EXPECT_NE(peek.error().detail.find("table \"outbox\" is reserved for botfn"), std::string::npos);
  EXPECT_EQ(count("outbox"), 1);
  EXPECT_EQ(count("log"), 0);
}

TEST_F(Issue7AppSqlReachesSystemTables, AppTablesStillWork) {
  ASSERT_TRUE(apply(commit({
      {"CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)", {}},
      {"CREATE INDEX IF NOT EXISTS items_name ON items (name)", {}},
      {"CREATE TRIGGER IF NOT EXISTS items_log AFTER INSERT ON items BEGIN "
       "INSERT INTO log (body) VALUES (new.name); END",
       {}},
      {"CREATE VIEW IF NOT EXISTS item_names AS SELECT name FROM items", {}},
      {"INSERT INTO items (name) VALUES ($1), ($2)", {std::string("a"), std::string("b")}},
      {"UPDATE items SET name = upper(name) WHERE name = $1", {std::string("a")}},
      {"DELETE FROM items WHERE name = 'b'", {}},
      {"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
       "INSERT INTO notes (body) SELECT 'n' || n FROM r",
       {}},
  })));
  auto names = backend.store().query({"SELECT name FROM item_names ORDER BY name", {}});
  ASSERT_TRUE(names) << names.error().detail;
  ASSERT_EQ(names->rows.size(), 1u);
  EXPECT_EQ(std::get<std::string>(names->rows[0][0]), "A");
  auto logged = backend.store().query({"SELECT count(*) FROM log", {}});
  ASSERT_TRUE(logged);
  EXPECT_EQ(std::get<int64_t>(logged->rows[0][0]), 2);
  auto notes = backend.store().query({"SELECT count(*) AS n FROM notes", {}});
  ASSERT_TRUE(notes);
  EXPECT_EQ(std::get<int64_t>(notes->rows[0][0]), 3);
  // The schema may be read (an app may look for its own tables).
  auto master = backend.store().query(
      {"SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'items'", {}});
  ASSERT_TRUE(master) << master.error().detail;
  EXPECT_EQ(master->rows.size(), 1u);
  ASSERT_TRUE(exec("DROP TABLE items"));
}

TEST_F(Issue7AppSqlReachesSystemTables, MigrationsFollowTheSameRules) {
  const auto dir = backend.dir() / "migrations";
  fs::create_directories(dir);
  std::ofstream(dir / "0001_ok.sql") << "CREATE TABLE users (id INTEGER PRIMARY KEY);\n";
  std::ofstream(dir / "0002_bad.sql")
      << "CREATE TRIGGER sneaky AFTER INSERT ON outbox BEGIN SELECT 1; END;\n";
  auto r = backend.store().migrateApp("a", dir);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::SqlRefused);
  EXPECT_NE(r.error().detail.find("0002_bad.sql: table \"outbox\" is reserved for botfn"),
            std::string::npos)
      << r.error().detail;
  EXPECT_EQ(systemNames("WHERE name = 'users'").size(), 1u);
  EXPECT_TRUE(systemNames("WHERE name = 'sneaky'").empty());
}

}  // namespace
}  // namespace botfn::storage::contract
