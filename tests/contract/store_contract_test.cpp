// Store contract: one-transaction commits (all or nothing), reads of committed data, outbox,
// handles, dead letters, migrations, a full disk.
#include <gtest/gtest.h>

#include <fstream>

#include "factory_backend.hpp"

namespace botfn::storage::contract {
namespace {

template <typename Backend>
class StoreContract : public ::testing::Test {
 protected:
  Backend backend;
  Store& store() { return backend.store(); }
  Result<void> commit(Commit c) {
    return await<Result<void>>([&](auto done) { store().commit(std::move(c), done); });
  }
  void migrate() {
    const auto dir = backend.dir() / "migrations";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "001_items.sql")
        << "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);";
    ASSERT_EQ(*store().migrateApp("t", dir), 1);
    ASSERT_EQ(*store().migrateApp("t", dir), 0);  // each migration once
  }
  Commit base(int64_t update_id) {
    Commit c;
    c.bot = "b";
    c.update_id = update_id;
    c.kind = "message";
    return c;
  }
};

using Backends = ::testing::Types<FactoryBackend<EmbeddedKind>, FactoryBackend<PostgresKind>>;
TYPED_TEST_SUITE(StoreContract, Backends);

// A backend whose disk a test can fill (the embedded file's page cap). PostgreSQL's "disk full"
// (SQLSTATE 53100) is mapped to StorageFull by pgError, tested in tests/unit/storage.
template <typename Backend>
class StoreDiskContract : public StoreContract<Backend> {};
using DiskBackends = ::testing::Types<FactoryBackend<EmbeddedKind>>;
TYPED_TEST_SUITE(StoreDiskContract, DiskBackends);

TYPED_TEST(StoreContract, CommitAppliesEverythingTogether) {
  this->migrate();
  Commit c = this->base(1);
  c.conversation_key = ConversationKey{"b", 10, 20};
  c.conversation = Conversation{"reg.token", R"({"a":1})"};
  c.app_writes.push_back(
      {"INSERT INTO items (id, name) VALUES ($1, $2)", {int64_t{1}, std::string("x")}});
  c.outbox.push_back(
      OutboxMessage{"b", "c10", 10, "sendMessage", R"({"chat_id":10,"text":"hi"})", "h1", ""});
  ASSERT_TRUE(this->commit(c));
  EXPECT_TRUE(*this->store().isProcessed("b", 1));
  EXPECT_EQ(this->store().loadConversation({"b", 10, 20})->state, "reg.token");
  EXPECT_EQ(
      this->store().query({"SELECT name FROM items WHERE id = $1", {int64_t{1}}})->rows.size(), 1u);
  EXPECT_EQ(this->store().pendingOutbox(10)->size(), 1u);
}

TYPED_TEST(StoreContract, FailingAppWriteCommitsNothing) {
  this->migrate();
  Commit c = this->base(2);
  c.conversation_key = ConversationKey{"b", 10, 20};
  c.conversation = Conversation{"s", "{}"};
  c.outbox.push_back(OutboxMessage{"b", "c10", 10, "sendMessage", "{}", "h2", ""});
  c.app_writes.push_back(
      {"INSERT INTO items (id, name) VALUES ($1, $2)", {int64_t{5}, std::monostate{}}});
  auto r = this->commit(c);
  ASSERT_FALSE(r);
  EXPECT_FALSE(*this->store().isProcessed("b", 2));
  EXPECT_EQ(this->store().loadConversation({"b", 10, 20})->state, "");
  EXPECT_TRUE(this->store().pendingOutbox(10)->empty());
}

TYPED_TEST(StoreContract, RepeatedCommitOfAProcessedUpdateAppliesNothing) {
  ASSERT_TRUE(this->commit(this->base(3)));
  Commit again = this->base(3);
  again.outbox.push_back(OutboxMessage{"b", "c10", 10, "sendMessage", "{}", "h3", ""});
  auto r = this->commit(again);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::AlreadyProcessed) << r.error().describe();
  EXPECT_TRUE(this->store().pendingOutbox(10)->empty());
}

TYPED_TEST(StoreContract, StorageFaultsAreReportedApartFromAppSqlErrors) {
  this->migrate();
  Commit c = this->base(4);
  c.app_writes.push_back(
      {"INSERT INTO items (id, name) VALUES ($1, $2)", {int64_t{1}, std::monostate{}}});
  auto r = this->commit(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::SqlError) << r.error().describe();
  EXPECT_FALSE(r.error().isStorageFault());
}

TYPED_TEST(StoreContract, QueryBindsParametersByNumber) {
  auto rows = this->store().query(
      {"SELECT $2 AS b, $1 AS a, $2 AS again", {int64_t{1}, std::string("two")}});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(std::get<std::string>(rows->rows[0][0]), "two");
  EXPECT_EQ(std::get<int64_t>(rows->rows[0][1]), 1);
  EXPECT_EQ(std::get<std::string>(rows->rows[0][2]), "two");
  EXPECT_FALSE(this->store().query({"SELEC nonsense", {}}));
  EXPECT_FALSE(this->store().query({"SELECT $1, $2", {int64_t{1}}}));
}

TYPED_TEST(StoreContract, OutboxLifecycleAndHandles) {
  Commit c = this->base(4);
  c.outbox.push_back(OutboxMessage{"b", "c1", 1, "sendMessage", "{}", "hA", ""});
  c.outbox.push_back(OutboxMessage{"b", "c1", 1, "editMessageText", "{}", "", "hA"});
  ASSERT_TRUE(this->commit(c));
  auto rows = *this->store().pendingOutbox(10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_LT(rows[0].id, rows[1].id);
  EXPECT_EQ(rows[1].message.target_handle, "hA");
  EXPECT_FALSE(*this->store().messageIdOfHandle("hA"));
  auto finish = [&](int64_t id, OutboxResult r) {
    return await<Result<void>>([&](auto done) { this->store().finishOutbox(id, r, done); });
  };
  ASSERT_TRUE(finish(rows[0].id, {OutboxResult::Kind::Sent, 77, "", {}}));
  EXPECT_EQ(**this->store().messageIdOfHandle("hA"), 77);
  ASSERT_TRUE(finish(rows[1].id,
                     {OutboxResult::Kind::Retry, std::nullopt, "429", std::chrono::seconds(5)}));
  rows = *this->store().pendingOutbox(10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].attempts, 1);
  EXPECT_GT(rows[0].next_at_ms, 0);
  ASSERT_TRUE(finish(rows[0].id, {OutboxResult::Kind::Failed, std::nullopt, "400", {}}));
  EXPECT_TRUE(this->store().pendingOutbox(10)->empty());
}

TYPED_TEST(StoreContract, DeadLettersAreListed) {
  Commit c = this->base(5);
  c.dead_letter =
      DeadLetter{0, "b", 5, "c1", "message", "{}", "LuaRuntime: boom", "main.lua:3", 4, 0};
  ASSERT_TRUE(this->commit(c));
  auto dl = *this->store().deadLetters(10);
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_EQ(dl[0].traceback, "main.lua:3");
  EXPECT_TRUE(*this->store().isProcessed("b", 5));
}

TYPED_TEST(StoreDiskContract, FullDiskFailsTheCommitAndLosesNothing) {
  this->backend.reopen(/*max_page_count=*/30);
  std::string big(4000, 'x');
  Result<void> last;
  int committed = 0;
  for (int i = 0; i < 200; ++i) {
    Commit c = this->base(100 + i);
    c.outbox.push_back(OutboxMessage{"b", "c1", 1, "sendMessage", big, "", ""});
    last = this->commit(c);
    if (!last) break;
    ++committed;
  }
  ASSERT_FALSE(last);
  EXPECT_EQ(last.error().code, ErrorCode::StorageFull) << last.error().describe();
  EXPECT_TRUE(*this->store().isProcessed("b", 100 + committed - 1));
  EXPECT_FALSE(*this->store().isProcessed("b", 100 + committed));
}

}  // namespace
}  // namespace botfn::storage::contract
