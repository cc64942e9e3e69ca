// See pg_app_sql.hpp. The role switch is SET LOCAL inside the caller's transaction or savepoint,
// undone right after the statement (or by the rollback when it fails).
#include "storage/postgres/pg_app_sql.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "storage/postgres/pg_db.hpp"

namespace botfn::storage::postgres {
namespace {

// Upper-cased words of sql outside quotes, dollar quotes and comments.
std::vector<std::string> wordsOf(const std::string& sql) {
  std::vector<std::string> words;
  size_t i = 0;
  const size_t n = sql.size();
  while (i < n) {
    const char c = sql[i];
    if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      int depth = 0;  // PostgreSQL's block comments nest
      do {
        if (sql.compare(i, 2, "/*") == 0)
          ++depth, i += 2;
        else if (sql.compare(i, 2, "*/") == 0)
          --depth, i += 2;
        else
          ++i;
      } while (i < n && depth > 0);
    } else if (c == '\'') {
      for (++i; i < n; ++i) {
        if (sql[i] == '\'' && !(i + 1 < n && sql[i + 1] == '\'')) break;
        if (sql[i] == '\'') ++i;
      }
      ++i;
    } else if (c == '"') {
      // A quoted identifier is still a name: "set_config"(...) calls the function.
      std::string word;
      for (++i; i < n && sql[i] != '"'; ++i) word += static_cast<char>(std::toupper(sql[i]));
      ++i;
      words.push_back(word);
    } else if (c == '$') {
      size_t end = sql.find('$', i + 1);
      const bool tag = end != std::string::npos &&
                       std::all_of(sql.begin() + i + 1, sql.begin() + end,
                                   [](char t) {
                                     return std::isalnum(static_cast<unsigned char>(t)) || t == '_';
                                   }) &&
                       !(end > i + 1 && std::isdigit(static_cast<unsigned char>(sql[i + 1])));
      if (tag) {
        const std::string delimiter = sql.substr(i, end - i + 1);
        const size_t close = sql.find(delimiter, end + 1);
        // The body of a function or DO block is SQL too: read it as such.
        auto inner = wordsOf(
            sql.substr(end + 1, close == std::string::npos ? std::string::npos : close - end - 1));
        words.insert(words.end(), inner.begin(), inner.end());
        i = close == std::string::npos ? n : close + delimiter.size();
      } else {
        ++i;  // $1
      }
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::string word;
      while (i < n &&
             (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_' || sql[i] == '$')) {
        word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i])));
        ++i;
      }
      words.push_back(word);
    } else if (c == ';') {
      words.push_back(";");
      ++i;
    } else {
      ++i;
    }
  }
  return words;
}

// Gives each $N the type of its value (int8, float8; text when text_strings), as SQLite knows
// them without being told: PostgreSQL cannot infer an untyped parameter in a select list.
// Strings stay untyped unless asked (a string for a json or date column is cast by context).
std::string withParamTypes(const std::string& sql, const std::vector<SqlValue>& params,
                           bool text_strings) {
  std::string out;
  out.reserve(sql.size() + 8 * params.size());
  size_t i = 0;
  const size_t n = sql.size();
  auto copyUntil = [&](size_t end) {
    out.append(sql, i, end - i);
    i = end;
  };
  while (i < n) {
    const char c = sql[i];
    if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      copyUntil(end == std::string::npos ? n : end);
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      const size_t end = sql.find("*/", i + 2);
      copyUntil(end == std::string::npos ? n : end + 2);
    } else if (c == '\'' || c == '"') {
      size_t end = i + 1;
      while (end < n && sql[end] != c) ++end;
      copyUntil(std::min(n, end + 1));
    } else if (c == '$' && i + 1 < n && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      size_t end = i + 1;
      while (end < n && std::isdigit(static_cast<unsigned char>(sql[end]))) ++end;
      const size_t number = std::stoul(sql.substr(i + 1, end - i - 1));
      copyUntil(end);
      if (number >= 1 && number <= params.size()) {
        const auto& p = params[number - 1];
        if (std::holds_alternative<int64_t>(p)) out += "::int8";
        if (std::holds_alternative<double>(p)) out += "::float8";
        if (std::holds_alternative<std::string>(p) && text_strings) out += "::text";
      }
    } else if (c == '$') {
      const size_t close = sql.find('$', i + 1);
      if (close == std::string::npos) {
        copyUntil(n);
      } else {
        const std::string tag = sql.substr(i, close - i + 1);
        const size_t end = sql.find(tag, close + 1);
        copyUntil(end == std::string::npos ? n : end + tag.size());
      }
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

size_t costOf(const pqxx::field& f) { return 8 + (f.is_null() ? 0 : f.size()); }

// Text, integer and float columns come back as on SQLite; everything else as its text.
SqlValue valueOf(const pqxx::field& f) {
  if (f.is_null()) return std::monostate{};
  switch (f.type()) {
    case 20:  // int8
    case 21:  // int2
    case 23:  // int4
      return f.as<int64_t>();
    case 700:  // float4
    case 701:  // float8
      return f.as<double>();
    case 16:  // bool
      return int64_t{f.as<bool>() ? 1 : 0};
    default:
      return f.as<std::string>();
  }
}

// Turns an error of an app statement into the app's error: its own failure, unless the storage
// failed under it.
Error appError(const std::exception& e, const AppSqlLimits& limits) {
  Error error = pgError(e, "app SQL");
  // botfn's tables are not on the app's search path: naming one unqualified is the same refusal.
  static const char* const kBotfnTables[] = {"processed", "conversations", "outbox", "dead_letters",
                                             "app_migrations"};
  if (dynamic_cast<const pqxx::undefined_table*>(&e)) {
    for (const char* table : kBotfnTables) {
      if (error.detail.find(std::string("relation \"") + table + "\"") != std::string::npos) {
        return Error{ErrorCode::SqlRefused,
                     std::string(table) + " is botfn's table: app SQL cannot use it"};
      }
    }
  }
  if (error.code == ErrorCode::SqlTimeout) {
    error.detail = "statement stopped: it ran past the update's SQL time (lua.sql_budget_ms)";
  } else if (error.code == ErrorCode::SqlRefused) {
    error.detail += " (botfn's own tables are off limits to app SQL)";
  }
  (void)limits;
  return error;
}

}  // namespace

std::string refusalOf(const std::string& sql, bool migration) {
  const auto words = wordsOf(sql);
  static const std::vector<std::string> kStatements = {"SELECT", "WITH",   "VALUES", "TABLE",
                                                       "INSERT", "UPDATE", "DELETE"};
  if (!migration) {
    if (words.empty()) return "an empty statement";
    if (std::find(kStatements.begin(), kStatements.end(), words[0]) == kStatements.end()) {
      return words[0] +
             " is not allowed in app SQL (db.query and db.exec take SELECT, WITH, "
             "VALUES, TABLE, INSERT, UPDATE or DELETE)";
    }
  }
  for (size_t i = 0; i < words.size(); ++i) {
    const bool starts = i == 0 || words[i - 1] == ";" || words[i - 1] == "BEGIN";
    if (words[i] == "SET_CONFIG") return "set_config() is not allowed in app SQL";
    if (words[i] == "ROLE" && i > 0 &&
        (words[i - 1] == "SET" || words[i - 1] == "RESET" || (words[i - 1] == "LOCAL" && i > 1))) {
      return "SET ROLE / RESET ROLE is not allowed in app SQL";
    }
    if (words[i] == "AUTHORIZATION" && i > 0 && words[i - 1] == "SESSION") {
      return "SET SESSION AUTHORIZATION is not allowed in app SQL";
    }
    if (starts && words[i] == "RESET") return "RESET is not allowed in app SQL";
  }
  return "";
}

Result<Rows> runAppStatement(pqxx::transaction_base& txn, const SqlStatement& statement,
                             const AppSqlLimits& limits, bool collect) {
  if (auto refusal = refusalOf(statement.sql, false); !refusal.empty()) {
    return fail(ErrorCode::SqlRefused, refusal);
  }
  std::vector<std::string> texts;
  std::vector<const char*> params;
  texts.reserve(statement.params.size());
  for (const auto& p : statement.params) {
    if (std::holds_alternative<std::monostate>(p)) {
      texts.emplace_back();
    } else if (const auto* i = std::get_if<int64_t>(&p)) {
      texts.push_back(std::to_string(*i));
    } else if (const auto* d = std::get_if<double>(&p)) {
      texts.push_back(pqxx::to_string(*d));
    } else {
      texts.push_back(std::get<std::string>(p));
      if (texts.back().size() > limits.max_bytes) {
        return fail(ErrorCode::SqlTooLarge,
                    "parameter $" + std::to_string(texts.size()) + " is larger than " +
                        std::to_string(limits.max_bytes) + " bytes (lua.sql_max_bytes)");
      }
    }
  }
  for (size_t k = 0; k < statement.params.size(); ++k) {
    params.push_back(
        std::holds_alternative<std::monostate>(statement.params[k]) ? nullptr : texts[k].c_str());
  }
  int64_t budget_ms = INT32_MAX;
  if (limits.deadline != std::chrono::steady_clock::time_point::max()) {
    budget_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    limits.deadline - std::chrono::steady_clock::now())
                    .count();
    if (budget_ms <= 0) {
      return fail(ErrorCode::SqlTimeout,
                  "statement not started: the update's SQL time (lua.sql_budget_ms) is used up");
    }
  }
  Rows rows;
  try {
    // Undone below by RESET: the connection's defaults come from its options (pg_db.cpp).
    txn.exec0(
        "SET LOCAL ROLE botfn_app; SET LOCAL search_path = app; SET LOCAL statement_timeout = " +
        std::to_string(std::min<int64_t>(budget_ms, INT32_MAX)));
    const auto dynamic = pqxx::prepare::make_dynamic_params(params);
    if (!collect) {
      txn.exec_params(withParamTypes(statement.sql, statement.params, false), dynamic);
    } else {
      // A cursor read in pages: past a cap nothing more is fetched. Reads are their own
      // transaction, so strings can be typed as text (a select list cannot infer them).
      txn.exec_params("DECLARE botfn_app_rows NO SCROLL CURSOR FOR " +
                          withParamTypes(statement.sql, statement.params, true),
                      dynamic);
      size_t bytes = 0;
      bool first = true;
      while (true) {
        const auto page = txn.exec("FETCH FORWARD 256 FROM botfn_app_rows");
        if (first) {
          for (pqxx::row::size_type c = 0; c < page.columns(); ++c) {
            rows.columns.emplace_back(page.column_name(c));
          }
          first = false;
        }
        for (const auto& row : page) {
          if (rows.rows.size() >= limits.max_rows) {
            return fail(ErrorCode::SqlTooLarge, "more than " + std::to_string(limits.max_rows) +
                                                    " rows (lua.sql_max_rows)");
          }
          std::vector<SqlValue> values;
          values.reserve(row.size());
          for (const auto& f : row) {
            bytes += costOf(f);
            if (bytes > limits.max_bytes) {
              return fail(ErrorCode::SqlTooLarge, "result larger than " +
                                                      std::to_string(limits.max_bytes) +
                                                      " bytes (lua.sql_max_bytes)");
            }
            values.push_back(valueOf(f));
          }
          rows.rows.push_back(std::move(values));
        }
        if (page.size() < 256) break;
      }
      txn.exec0("CLOSE botfn_app_rows");
    }
    txn.exec0("RESET ROLE; RESET search_path; RESET statement_timeout");
  } catch (const std::exception& e) {
    return tl::unexpected(appError(e, limits));
  }
  return rows;
}

Result<void> runAppScript(pqxx::transaction_base& txn, const std::string& sql) {
  if (auto refusal = refusalOf(sql, true); !refusal.empty()) {
    return fail(ErrorCode::SqlRefused, refusal);
  }
  // A subtransaction of its own: libpqxx 6 closes a transaction whose exec() fails, after which
  // the writer could not roll back to the job's savepoint and the script's error was lost behind
  // "transaction which is already closed". (A script holds several statements, so it cannot go
  // through exec_params, which leaves the transaction open.)
  auto* outer = dynamic_cast<pqxx::dbtransaction*>(&txn);
  if (!outer) return fail(ErrorCode::Internal, "an app script needs a write transaction");
  try {
    pqxx::subtransaction script(*outer, "botfn_app_script");
    script.exec0(
        "SET LOCAL ROLE botfn_app; SET LOCAL search_path = app; SET LOCAL statement_timeout = 0");
    script.exec(sql);
    script.exec0("RESET ROLE; RESET search_path; RESET statement_timeout");
    script.commit();
  } catch (const std::exception& e) {
    return tl::unexpected(appError(e, AppSqlLimits{}));
  }
  return {};
}

}  // namespace botfn::storage::postgres
