// The writer's group commit: a group runs without savepoints and is redone with one per job when
// a job fails, so one failing commit loses only its own writes, and the other jobs of its group
// (coalesced webhook pushes among them) apply exactly once, bodies intact.
#include <gtest/gtest.h>

#include <future>

#include "sqlite_backend.hpp"

namespace botfn::storage::contract {
namespace {

class GroupCommitTest : public ::testing::Test {
 protected:
  SqliteBackend backend;

  // Holds the writer thread until release(): everything submitted meanwhile forms one group.
  void holdWriter() {
    backend.db().write(sqlite::WriteJob{[this](sqlite3*) -> Result<void> {
                                          held_.set_value();
                                          release_future_.wait();
                                          return {};
                                        },
                                        nullptr});
    held_.get_future().wait();
  }
  void release() { release_.set_value(); }

  Commit commit(int64_t update_id, bool failing) {
    Commit c;
    c.bot = "b";
    c.update_id = update_id;
    c.kind = "message";
    c.outbox.push_back(OutboxMessage{"b", "c1", 1, "sendMessage",
                                     R"({"chat_id":1,"text":")" + std::to_string(update_id) + "\"}",
                                     "h" + std::to_string(update_id), ""});
    if (failing) c.app_writes.push_back({"INSERT INTO no_such_table VALUES ($1)", {int64_t{1}}});
    return c;
  }
  static InboundUpdate item(int64_t id) {
    return InboundUpdate{"b", id, "c1", "message", R"({"update_id":)" + std::to_string(id) + "}"};
  }

  // A lost completion fails the test instead of hanging it.
  template <typename T>
  static T get(std::promise<T>& p) {
    auto f = p.get_future();
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      ADD_FAILURE() << "a write never completed";
      std::abort();
    }
    return f.get();
  }

  int64_t next_id_ = 100;
  std::promise<void> held_;
  std::promise<void> release_;
  std::shared_future<void> release_future_ = release_.get_future().share();
};

TEST_F(GroupCommitTest, AFailingJobLosesOnlyItsOwnWritesAndTheOthersApplyOnce) {
  holdWriter();
  std::promise<Result<std::vector<PushOutcome>>> pushed_before, pushed_after;
  std::promise<Result<void>> first, failing, last;
  backend.bus().push({item(1), item(2)}, std::nullopt, [&](Result<std::vector<PushOutcome>> r) {
    pushed_before.set_value(std::move(r));
  });
  backend.store().commit(commit(10, false), [&](Result<void> r) { first.set_value(r); });
  backend.store().commit(commit(11, true), [&](Result<void> r) { failing.set_value(r); });
  backend.store().commit(commit(12, false), [&](Result<void> r) { last.set_value(r); });
  backend.bus().push({item(3), item(1)}, std::nullopt, [&](Result<std::vector<PushOutcome>> r) {
    pushed_after.set_value(std::move(r));
  });
  const auto groups_before = backend.metrics().histogram("botfn_commit_batch_size").count();
  release();

  EXPECT_TRUE(get(first));
  auto failed = get(failing);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().detail.find("no_such_table"), std::string::npos);
  EXPECT_TRUE(get(last));
  auto before = get(pushed_before);
  auto after = get(pushed_after);
  ASSERT_TRUE(before && after);
  EXPECT_EQ(*before, (std::vector<PushOutcome>{PushOutcome::Enqueued, PushOutcome::Enqueued}));
  EXPECT_EQ(*after, (std::vector<PushOutcome>{PushOutcome::Enqueued, PushOutcome::Duplicate}));
  EXPECT_EQ(backend.metrics().histogram("botfn_commit_batch_size").count() - groups_before, 2u)
      << "the held job's group, then one group of all the others";

  EXPECT_TRUE(*backend.store().isProcessed("b", 10));
  EXPECT_FALSE(*backend.store().isProcessed("b", 11));
  EXPECT_TRUE(*backend.store().isProcessed("b", 12));
  auto outbox = backend.store().pendingOutbox(10);
  ASSERT_TRUE(outbox);
  ASSERT_EQ(outbox->size(), 2u);
  EXPECT_EQ((*outbox)[0].message.handle, "h10");
  EXPECT_EQ((*outbox)[1].message.handle, "h12");

  // Each update queued once, with its body, in push order.
  auto leased = backend.bus().lease(10, std::chrono::milliseconds(100));
  ASSERT_EQ(leased.size(), 3u);
  for (size_t i = 0; i < leased.size(); ++i) {
    const int64_t id = std::vector<int64_t>{1, 2, 3}[i];
    EXPECT_EQ(leased[i].update_id, id);
    EXPECT_EQ(leased[i].body, R"({"update_id":)" + std::to_string(id) + "}");
  }
  auto rows = backend.systemQuery("SELECT count(*) FROM inbound");
  ASSERT_TRUE(rows);
  EXPECT_EQ(std::get<int64_t>(rows->rows[0][0]), 3);
}

TEST_F(GroupCommitTest, AnAppCannotEndTheGroupTransaction) {
  // An app's COMMIT would commit the jobs before it and leave the ones after it outside any
  // transaction; SAVEPOINT/RELEASE/ATTACH would tangle with the writer's own. All are refused
  // when the statement is prepared, and the other jobs of the group are not touched.
  for (const char* sql : {"COMMIT", "END", "ROLLBACK", "BEGIN", "SAVEPOINT job", "RELEASE job",
                          "ATTACH DATABASE ':memory:' AS other", "  commit  -- sneaky"}) {
    holdWriter();
    std::promise<Result<void>> before, failing, after;
    backend.store().commit(commit(next_id_, false), [&](Result<void> r) { before.set_value(r); });
    Commit bad = commit(next_id_ + 1, false);
    bad.app_writes.push_back({sql, {}});
    backend.store().commit(bad, [&](Result<void> r) { failing.set_value(r); });
    backend.store().commit(commit(next_id_ + 2, false),
                           [&](Result<void> r) { after.set_value(r); });
    release();
    EXPECT_TRUE(get(before)) << sql;
    auto refused = get(failing);
    ASSERT_FALSE(refused) << sql;
    EXPECT_EQ(refused.error().code, ErrorCode::SqlRefused) << refused.error().describe();
    EXPECT_TRUE(get(after)) << sql;
    EXPECT_TRUE(*backend.store().isProcessed("b", next_id_ + 2)) << sql;
    EXPECT_FALSE(*backend.store().isProcessed("b", next_id_ + 1)) << sql;
    next_id_ += 3;
    held_ = {};
    release_ = {};
    release_future_ = release_.get_future().share();
  }
  // Reads are the app's too: a BEGIN on a pooled read connection would pin its snapshot.
  auto read = backend.store().query({"BEGIN", {}});
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::SqlRefused) << read.error().describe();
  // botfn's own statements of the same text still run (they are cached apart).
  std::promise<Result<void>> plain;
  backend.store().commit(commit(next_id_, false), [&](Result<void> r) { plain.set_value(r); });
  EXPECT_TRUE(get(plain));
}

}  // namespace
}  // namespace botfn::storage::contract
