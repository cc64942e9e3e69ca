// Many small writes of one kind (webhook pushes, acks, send results) ride the writer's group
// commit as ONE job: one savepoint and one closure pair per group instead of per write. Items
// that arrive while a job is queued join it; the job takes whatever is waiting when the writer
// reaches it. All items of a job succeed or fail together (they only fail when the disk does).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "storage/sqlite/sqlite_db.hpp"

namespace botfn::storage::sqlite {

template <typename Item>
class CoalescedWrites {
 public:
  using Apply = std::function<Result<void>(sqlite3*, std::vector<Item>&)>;
  // Runs on the writer thread after the group transaction, with its result and the job's items.
  using After = std::function<void(Result<void>, std::vector<Item>&)>;

  CoalescedWrites(SqliteDb& db, Apply apply, After after)
      : db_(db), apply_(std::move(apply)), after_(std::move(after)) {}
  // Waits for queued jobs: they call back into this object and its owner.
  ~CoalescedWrites() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return jobs_ == 0; });
  }
  CoalescedWrites(const CoalescedWrites&) = delete;
  CoalescedWrites& operator=(const CoalescedWrites&) = delete;

  void add(Item item) {
    bool queue = false;
    {
      std::lock_guard lock(mutex_);
      waiting_.push_back(std::move(item));
      queue = !job_queued_;
      job_queued_ = true;
      if (queue) ++jobs_;
    }
    if (queue) queueJob();
  }

 private:
  struct Job {
    std::vector<Item> items;
    bool taken = false;
  };

  void take(Job& job) {
    std::lock_guard lock(mutex_);
    job.items.swap(waiting_);
    job.taken = true;
    job_queued_ = false;
  }

  void queueJob() {
    auto job = std::make_shared<Job>();
    db_.write(WriteJob{[this, job](sqlite3* db) -> Result<void> {
                         if (!job->taken) take(*job);  // a redone group applies the same items
                         return apply_(db, job->items);
                       },
                       [this, job](Result<void> r) {
                         // The group failed before reaching this job: its items fail with it.
                         if (!job->taken) take(*job);
                         runCompletion(after_, std::move(r), job->items);
                         // Notify under the lock: the destructor may free idle_ right after.
                         std::lock_guard lock(mutex_);
                         --jobs_;
                         idle_.notify_all();
                       }});
  }

  SqliteDb& db_;
  Apply apply_;
  After after_;
  std::mutex mutex_;
  std::vector<Item> waiting_;
  bool job_queued_ = false;
  size_t jobs_ = 0;  // queued or running
  std::condition_variable idle_;
};

}  // namespace botfn::storage::sqlite
