// PostgreSQL plumbing for the production Store (libpqxx 6.4; only storage/postgres includes
// pqxx): one writer connection on its own thread that group-commits every pending job in one
// transaction (redone with a savepoint per job when one fails, so that job's failure undoes only
// its writes), and a pool of reader connections. Broken connections are reopened on the next use; a
// storage fault (server down, disk full, serialization) is remembered for /readyz until a later
// write commits.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/metrics.hpp"

namespace botfn::storage::postgres {

struct PgOptions {
  std::string url;  // postgresql://user[:password]@host:port/db (the password is never logged)
  size_t read_connections = 4;
  std::chrono::seconds connect_timeout{5};
  // Every statement of botfn's own is bounded too: a server that hangs fails the write.
  std::chrono::milliseconds statement_timeout{30000};
  // Jobs per transaction at most; 0 = all pending (group commit). 1 only for the bench.
  size_t max_group_jobs = 0;
};

// A write job runs inside the group transaction, and again in its own savepoint when another job
// of the group failed: apply must be re-runnable. after runs on the writer thread once the
// transaction committed (or failed), with the job's result.
struct PgJob {
  std::function<Result<void>(pqxx::transaction_base&)> apply;
  std::function<void(Result<void>)> after;
};

// The error a pqxx exception means for botfn: a storage fault (the server, the disk, a
// conflict), an app statement's fault (SqlError, SqlRefused, SqlTimeout), or SqlError.
Error pgError(const std::exception& e, std::string_view what);
// The URL with its password replaced by "***", for messages.
std::string redactUrl(const std::string& url);

class PgDb {
 public:
  // Connects the writer (throws a std::runtime_error naming the redacted URL when it cannot).
  PgDb(PgOptions options, Metrics& metrics);
  ~PgDb();
  PgDb(const PgDb&) = delete;
  PgDb& operator=(const PgDb&) = delete;

  void write(PgJob job);
  Result<void> writeSync(std::function<Result<void>(pqxx::transaction_base&)> apply);
  size_t backlog() const { return backlog_.load(std::memory_order_relaxed); }
  // Runs fn in a read-only transaction on a pooled connection.
  template <typename T>
  Result<T> read(const std::function<Result<T>(pqxx::transaction_base&)>& fn) {
    auto connection = checkoutReader();
    if (!connection) {
      noteReadFault(connection.error());
      return tl::unexpected(connection.error());
    }
    Result<T> out = tl::unexpected(Error{ErrorCode::StorageRead, "no result"});
    try {
      pqxx::read_transaction txn(**connection);
      out = fn(txn);
      if (out) txn.commit();
    } catch (const std::exception& e) {
      out = tl::unexpected(pgError(e, "read"));
    }
    checkinReader(std::move(*connection));
    if (!out)
      noteReadFault(out.error());
    else if (has_fault_.load(std::memory_order_relaxed))
      noteReadSuccess();
    return out;
  }
  std::optional<Error> currentFault() const;

 private:
  void run();
  Result<void> applyGroup(std::deque<PgJob>& batch, std::vector<Result<void>>& results);
  Result<std::unique_ptr<pqxx::connection>> connect();
  Result<std::unique_ptr<pqxx::connection>> checkoutReader();
  void checkinReader(std::unique_ptr<pqxx::connection> connection);
  void noteFault(const std::optional<Error>& fault);
  // A read that could not reach the server is a fault too (an update waiting to load its
  // conversation makes no write); a later read that reaches it clears that kind of fault.
  void noteReadFault(const Error& error);
  void noteReadSuccess();

  PgOptions options_;
  Metrics& metrics_;
  std::unique_ptr<pqxx::connection> writer_;  // writer thread only (reopened when broken)
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<PgJob> jobs_;
  std::atomic<size_t> backlog_{0};
  bool stopping_ = false;
  mutable std::mutex fault_mutex_;
  std::optional<Error> fault_;
  std::atomic<bool> has_fault_{false};  // reads check it without the lock when all is well
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<pqxx::connection>> readers_;
  std::thread thread_;
};

}  // namespace botfn::storage::postgres
