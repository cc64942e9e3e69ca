// PgStore: the Store on PostgreSQL. Same contract as the embedded SqliteStore (the typed
// contract suites run on both): one transaction per commit (grouped by the writer), outbox ids
// in commit order (one writer per process), app SQL under the app SQL rules (pg_app_sql.hpp).
#pragma once

#include <mutex>

#include "storage/outbox_handover.hpp"
#include "storage/postgres/pg_db.hpp"
#include "storage/store.hpp"

namespace botfn::storage::postgres {

class PgStore final : public Store {
 public:
  PgStore(PgDb& db, AppSqlBudget app_sql) : db_(db), app_sql_(app_sql) {}

  using Store::query;
  Result<Rows> query(const SqlStatement& statement, const AppSqlLimits& limits) override;
  Result<bool> isProcessed(const std::string& bot, int64_t update_id) override;
  Result<Conversation> loadConversation(const ConversationKey& key) override;
  void commit(Commit commit, std::function<void(Result<void>)> done) override;
  Result<int> migrateApp(const std::string& app, const std::filesystem::path& dir) override;
  Result<std::vector<OutboxRow>> pendingOutbox(size_t limit, int64_t after_id = 0) override;
  Result<std::vector<int64_t>> pendingOutboxIds(size_t limit, int64_t after_id,
                                                int64_t up_to_id) override;
  void finishOutbox(int64_t id, OutboxResult result,
                    std::function<void(Result<void>)> done) override;
  Result<std::optional<int64_t>> messageIdOfHandle(const std::string& handle) override;
  void onOutboxCommitted(std::function<void(std::vector<OutboxRow>)> listener) override;
  Result<std::vector<DeadLetter>> deadLetters(size_t limit) override;
  Result<void> checkWritable() override;

 private:
  PgDb& db_;
  AppSqlBudget app_sql_;
  OutboxHandover handover_;
};

}  // namespace botfn::storage::postgres
