// Store: durable state of bots and apps — app tables (SQL), conversation state, processed markers,
// outbox, dead letters — with one-transaction commits. Embedded: storage/sqlite; production:
// storage/postgres (later). Stages receive a Store& from the composition root.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>

#include "core/error.hpp"
#include "storage/types.hpp"

namespace botfn::storage {

class Store {
 public:
  virtual ~Store() = default;

  // An app's read of committed data (db.query; $1-style parameters) under the app SQL rules:
  // botfn's own tables are refused, and the statement is stopped past `limits`. Safe from any
  // thread.
  virtual Result<Rows> query(const SqlStatement& statement, const AppSqlLimits& limits) = 0;
  Result<Rows> query(const SqlStatement& statement) { return query(statement, AppSqlLimits{}); }
  virtual Result<bool> isProcessed(const std::string& bot, int64_t update_id) = 0;
  virtual Result<Conversation> loadConversation(const ConversationKey& key) = 0;

  // Applies the commit atomically; done runs once it is durable (or failed), on a store thread.
  // Returns nothing else: a failed commit changed nothing. A commit whose processed marker exists
  // already applies nothing and fails with AlreadyProcessed; one that failed because of the
  // storage (full, locked, I/O) fails with a code of retry class Storage (Error::isStorageFault).
  // The app writes run under the app SQL rules and share one AppSqlBudget (the backend's, set by
  // the composition root).
  virtual void commit(Commit commit, std::function<void(Result<void>)> done) = 0;

  // Applies the app's migrations/*.sql in name order, each once, each in its own transaction,
  // under the app SQL rules (no time bound).
  virtual Result<int> migrateApp(const std::string& app, const std::filesystem::path& dir) = 0;

  // Outbox, drained by the sender.
  // Pending rows in id order, only those with id > after_id (the sender reads each row once).
  // Ids must grow in commit order (one writer on SQLite).
  virtual Result<std::vector<OutboxRow>> pendingOutbox(size_t limit, int64_t after_id = 0) = 0;
  // Ids of pending rows with after_id < id <= up_to_id, ascending, at most limit: the sender's
  // sweep for rows it holds in no lane. Reads only the ids (the index of pending rows).
  virtual Result<std::vector<int64_t>> pendingOutboxIds(size_t limit, int64_t after_id,
                                                        int64_t up_to_id) = 0;
  // Records a send's result; done runs once it is durable (or failed: then nothing changed).
  virtual void finishOutbox(int64_t id, OutboxResult result,
                            std::function<void(Result<void>)> done) = 0;
  virtual Result<std::optional<int64_t>> messageIdOfHandle(const std::string& handle) = 0;
  // Called after every commit that added outbox rows, with those rows (ids assigned, attempts 0),
  // in commit order: the sender takes them without reading them back. Rows committed before the
  // listener was set are found by pendingOutbox().
  virtual void onOutboxCommitted(std::function<void(std::vector<OutboxRow>)> listener) = 0;

  virtual Result<std::vector<DeadLetter>> deadLetters(size_t limit) = 0;

  // Test and ops probe: can the store write now?
  virtual Result<void> checkWritable() = 0;
};

}  // namespace botfn::storage
