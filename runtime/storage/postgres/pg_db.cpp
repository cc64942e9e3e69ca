// The writer thread (group commit, redone with a subtransaction per job when one fails), the
// reader pool, and what each PostgreSQL error means for botfn.
#include "storage/postgres/pg_db.hpp"

#include <future>
#include <regex>

#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace botfn::storage::postgres {
namespace {

bool startsWith(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

// libpq reads these from the URL's query. The settings go in as the session's defaults (the
// `options` parameter), so a RESET after an app statement comes back to them.
std::string connectionUrl(const PgOptions& o) {
  std::string url = o.url + (o.url.find('?') == std::string::npos ? "?" : "&");
  url += "connect_timeout=" + std::to_string(std::max<int64_t>(1, o.connect_timeout.count()));
  url += "&application_name=botfn";
  url += "&options=-c%20statement_timeout%3D" + std::to_string(o.statement_timeout.count()) +
         "%20-c%20search_path%3Dbotfn%2Cpublic";
  return url;
}

}  // namespace

std::string redactUrl(const std::string& url) {
  static const std::regex password(R"(^([a-z]+://[^:/@]*):[^@]*@)");
  return std::regex_replace(url, password, "$1:***@");
}

Error pgError(const std::exception& e, std::string_view what) {
  const std::string prefix = std::string(what) + ": ";
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) {
    return Error{ErrorCode::StorageUnavailable,
                 prefix + "connection to PostgreSQL lost: " + std::string(e.what())};
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e)) {
    return Error{ErrorCode::StorageIo, prefix + "commit outcome unknown: " + e.what()};
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string state = sql->sqlstate();
    std::string message = e.what();
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    // SQLSTATE classes: 53 insufficient resources, 08 connection, 57P0x shutdown/crash
    // recovery, 58 system (I/O), 40 rollbacks (serialization, deadlock), 55P03 lock not available.
    if (state == "53100") return Error{ErrorCode::StorageFull, prefix + message};
    if (startsWith(state, "53") || startsWith(state, "58")) {
      return Error{ErrorCode::StorageIo, prefix + message};
    }
    if (startsWith(state, "08") || startsWith(state, "57P")) {
      return Error{ErrorCode::StorageUnavailable, prefix + message};
    }
    if (startsWith(state, "40") || state == "55P03") {
      return Error{ErrorCode::StorageBusy, prefix + message};
    }
    if (state == "57014") return Error{ErrorCode::SqlTimeout, prefix + message};
    // libpqxx 6.4 leaves sqlstate empty on some of its own classes: the class tells as well.
    if (state == "42501" || dynamic_cast<const pqxx::insufficient_privilege*>(&e)) {
      return Error{ErrorCode::SqlRefused, prefix + message};
    }
    if (dynamic_cast<const pqxx::disk_full*>(&e))
      return Error{ErrorCode::StorageFull, prefix + message};
    return Error{ErrorCode::SqlError, prefix + message};
  }
  return Error{ErrorCode::StorageWrite, prefix + e.what()};
}

PgDb::PgDb(PgOptions options, Metrics& metrics) : options_(std::move(options)), metrics_(metrics) {
  auto writer = connect();
  if (!writer) throw std::runtime_error(writer.error().describe());
  writer_ = std::move(*writer);
  thread_ = std::thread([this] {
    nameThisThread("botfn-pg-writer");
    run();
  });
}

PgDb::~PgDb() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Result<std::unique_ptr<pqxx::connection>> PgDb::connect() {
  try {
    return std::make_unique<pqxx::connection>(connectionUrl(options_));
  } catch (const std::exception& e) {
    // libpq's message may quote the connection string: name the URL without its password.
    std::string message = e.what();
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    return tl::unexpected(
        Error{ErrorCode::StorageUnavailable,
              "cannot connect to " + redactUrl(options_.url) + ": " + redactUrl(message)});
  }
}

void PgDb::write(PgJob job) {
  backlog_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

Result<void> PgDb::writeSync(std::function<Result<void>(pqxx::transaction_base&)> apply) {
  std::promise<Result<void>> promise;
  auto future = promise.get_future();
  write(PgJob{std::move(apply), [&promise](Result<void> r) { promise.set_value(r); }});
  return future.get();
}

void PgDb::run() {
  auto& batch_size =
      metrics_.histogram("botfn_commit_batch_size", "", {1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
  auto& failures = metrics_.counter("botfn_commit_failures_total");
  while (true) {
    std::deque<PgJob> batch;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty() && stopping_) return;
      if (options_.max_group_jobs == 0 || jobs_.size() <= options_.max_group_jobs) {
        batch.swap(jobs_);  // group commit: everything pending, no added delay
      } else {
        const auto end = jobs_.begin() + static_cast<std::ptrdiff_t>(options_.max_group_jobs);
        batch.assign(std::make_move_iterator(jobs_.begin()), std::make_move_iterator(end));
        jobs_.erase(jobs_.begin(), end);
      }
    }
    std::vector<Result<void>> results(batch.size());
    Result<void> txn = applyGroup(batch, results);
    if (!txn) failures.fetch_add(1, std::memory_order_relaxed);
    noteFault(txn ? std::nullopt : std::optional<Error>(txn.error()));
    batch_size.observe(static_cast<double>(batch.size()));
    backlog_.fetch_sub(batch.size(), std::memory_order_relaxed);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!batch[i].after) continue;
      try {
        batch[i].after(txn ? std::move(results[i]) : Result<void>(tl::unexpected(txn.error())));
      } catch (const std::exception& e) {
        log::get("storage")->error("write completion threw: {}", e.what());
      }
    }
  }
}

Result<void> PgDb::applyGroup(std::deque<PgJob>& batch, std::vector<Result<void>>& results) {
  if (!writer_ || !writer_->is_open()) {
    auto reopened = connect();
    if (!reopened) return tl::unexpected(reopened.error());
    writer_ = std::move(*reopened);
  }
  // First without savepoints: two round trips per job saved, and jobs almost never fail. When a
  // job fails, the group is undone and redone with a savepoint per job, so only the failing jobs
  // lose their writes (jobs are re-runnable: they apply the same writes again). A job that failed
  // is not run again: its failure stands, and a runaway statement costs the writer its time
  // once, not once per pass.
  std::vector<bool> failed(batch.size(), false);
  bool savepoints = false;
  try {
    while (true) {
      pqxx::work txn(*writer_);
      bool redo = false;
      for (size_t i = 0; i < batch.size() && !redo; ++i) {
        if (failed[i]) continue;
        if (savepoints) txn.exec0("SAVEPOINT botfn_job");
        Result<void> r;
        try {
          r = batch[i].apply(txn);
        } catch (const pqxx::broken_connection&) {
          throw;
        } catch (const std::exception& e) {
          r = tl::unexpected(pgError(e, "write"));
        }
        if (!r && r.error().isStorageFault()) return tl::unexpected(r.error());  // the group failed
        if (r) {
          if (savepoints) txn.exec0("RELEASE SAVEPOINT botfn_job");
          results[i] = {};
          continue;
        }
        failed[i] = true;
        results[i] = std::move(r);
        if (savepoints) {
          txn.exec0("ROLLBACK TO SAVEPOINT botfn_job");
        } else {
          savepoints = true;  // the transaction is undone as txn goes out of scope
          redo = true;
        }
      }
      if (redo) continue;
      txn.commit();
      return {};
    }
  } catch (const std::exception& e) {
    Error error = pgError(e, "commit");
    if (error.code == ErrorCode::SqlError) error.code = ErrorCode::StorageWrite;
    if (!writer_->is_open()) writer_.reset();  // reopened by the next group
    return tl::unexpected(error);
  }
}

Result<std::unique_ptr<pqxx::connection>> PgDb::checkoutReader() {
  {
    std::lock_guard lock(readers_mutex_);
    while (!readers_.empty()) {
      auto c = std::move(readers_.back());
      readers_.pop_back();
      if (c->is_open()) return c;
    }
  }
  return connect();
}

void PgDb::checkinReader(std::unique_ptr<pqxx::connection> connection) {
  if (!connection->is_open()) return;  // broken: the next checkout opens a new one
  std::lock_guard lock(readers_mutex_);
  if (readers_.size() < options_.read_connections) readers_.push_back(std::move(connection));
}

void PgDb::noteFault(const std::optional<Error>& fault) {
  if (fault && fault->isStorageFault()) {
    metrics_.counter("botfn_storage_faults_total", "code=\"" + std::string(fault->name()) + "\"")++;
  }
  std::lock_guard lock(fault_mutex_);
  fault_ = fault && fault->isStorageFault() ? fault : std::nullopt;
  has_fault_ = fault_.has_value();
}

void PgDb::noteReadFault(const Error& error) {
  if (error.code != ErrorCode::StorageUnavailable) return;
  std::lock_guard lock(fault_mutex_);
  if (!fault_) metrics_.counter("botfn_storage_faults_total", "code=\"StorageUnavailable\"")++;
  fault_ = error;
  has_fault_ = true;
}

void PgDb::noteReadSuccess() {
  std::lock_guard lock(fault_mutex_);
  if (fault_ && fault_->code == ErrorCode::StorageUnavailable) {
    fault_.reset();
    has_fault_ = false;
  }
}

std::optional<Error> PgDb::currentFault() const {
  std::lock_guard lock(fault_mutex_);
  return fault_;
}

}  // namespace botfn::storage::postgres
