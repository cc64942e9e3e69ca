// Plain data carried across the Store and Bus interfaces: SQL values and rows, queue entries,
// the per-update commit (unit of work), outbox rows and dead letters. No backend types here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace botfn::storage {

using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;

struct SqlStatement {
  std::string sql;  // $1-style parameters on every backend
  std::vector<SqlValue> params;
};

struct Rows {
  std::vector<std::string> columns;
  std::vector<std::vector<SqlValue>> rows;
};

// What an app's SQL may use per update (config lua.sql_*): its db.query statements together,
// and its db.exec statements together in the commit (on the storage writer, where a runaway
// would hold up every other chat's commit).
struct AppSqlBudget {
  std::chrono::milliseconds time{500};
  size_t max_rows = 10000;      // rows one db.query may return
  size_t max_bytes = 4u << 20;  // bytes one db.query may return; also the largest value any
                                // app statement may make
};

// Bounds of one app statement. Past one it is stopped and fails (SqlTimeout, SqlTooLarge),
// holding no more than the bound in memory.
struct AppSqlLimits {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  size_t max_rows = SIZE_MAX;
  size_t max_bytes = SIZE_MAX;  // of the result (each value counts 8 bytes + its text)
};

struct InboundUpdate {
  std::string bot;
  int64_t update_id = 0;
  std::string lane;
  std::string kind;
  std::string body;  // the update JSON exactly as received
};

enum class PushOutcome { Enqueued, Duplicate };

struct PollCursor {
  std::string bot;
  int64_t next_offset = 0;
};

struct QueueEntry {
  int64_t id = 0;
  std::string bot;
  int64_t update_id = 0;
  std::string lane;
  std::string kind;
  std::string body;
  // May have been handed out before (loaded after a restart): only such an entry can already
  // have a processed marker, so only it costs the dispatcher a lookup.
  bool redelivered = false;
};

struct ConversationKey {
  std::string bot;
  int64_t chat_id = 0;
  int64_t user_id = 0;
};

struct Conversation {
  std::string state;      // flow state name, "" when idle
  std::string data_json;  // per-conversation data, a JSON object
};

struct OutboxMessage {
  std::string bot;
  std::string lane;
  int64_t chat_id = 0;
  std::string method;         // sendMessage, editMessageText, answerCallbackQuery, ...
  std::string params_json;    // Bot API parameters
  std::string handle;         // unique id scripts keep to edit this message later ("" for none)
  std::string target_handle;  // for edits: fill message_id from the message with this handle
  int64_t update_id = 0;      // filled by the commit: the trace id of the sender's log lines
};

struct DeadLetter {
  int64_t id = 0;
  std::string bot;
  int64_t update_id = 0;
  std::string lane;
  std::string kind;
  std::string body;
  std::string error;
  std::string traceback;
  int attempts = 0;
  int64_t at = 0;  // unix seconds
};

// Everything one update changes, applied in ONE transaction: the processed marker, the
// conversation state, the app's writes, the outbox rows, an optional dead letter, and the ack.
struct Commit {
  std::string bot;
  int64_t update_id = 0;
  std::string kind;
  bool handled = true;  // false: no route matched (counted as unhandled)
  std::optional<ConversationKey> conversation_key;
  std::optional<Conversation> conversation;  // new state to store, when it changed
  std::vector<SqlStatement> app_writes;
  std::vector<OutboxMessage> outbox;
  std::optional<DeadLetter> dead_letter;
};

struct OutboxRow {
  int64_t id = 0;
  OutboxMessage message;
  int attempts = 0;
  int64_t next_at_ms = 0;  // not before (unix ms): set by retries, keeps its lane waiting
};

struct OutboxResult {
  enum class Kind { Sent, Retry, Failed } kind = Kind::Sent;
  std::optional<int64_t> message_id;
  std::string error;
  std::chrono::milliseconds retry_in{0};
  // Whether this try counts toward sender.max_attempts: a 429 or a request that never left the
  // client is retried without using one up.
  bool counts_attempt = true;
};

}  // namespace botfn::storage
