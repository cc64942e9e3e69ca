// Per-update commit throughput of the PostgreSQL Store, opened through storage::openBackend as
// the server opens it. Each commit is a real update's: processed marker, conversation, one app
// write (an upsert into an app table) and one outbox row. bench/backends.sh runs it beside pgbench.
// Usage: pg_commit_bench URL SECONDS THREADS [MAX_GROUP_JOBS]   (0 = group commit, 1 = one job
// per transaction). Each thread keeps one commit in flight, as each pgbench client keeps one.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/backend.hpp"

using namespace botfn;
using Clock = std::chrono::steady_clock;

namespace {

// One commit at a time: done() runs on the writer thread, the caller waits for it.
struct Waiter {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  bool ok = false;
};

storage::Commit updateCommit(int64_t update_id) {
  const int64_t chat = 100000 + update_id % 1000;
  storage::Commit c;
  c.bot = "bench";
  c.update_id = update_id;
  c.kind = "message";
  c.conversation_key = storage::ConversationKey{"bench", chat, chat};
  c.conversation = storage::Conversation{"menu", R"({"step":1,"lang":"en"})"};
  c.app_writes.push_back(
      storage::SqlStatement{"INSERT INTO counters (chat_id, n) VALUES ($1, 1) "
                            "ON CONFLICT (chat_id) DO UPDATE SET n = counters.n + 1",
                            {chat}});
  c.outbox.push_back(storage::OutboxMessage{
      "bench", "chat:" + std::to_string(chat), chat, "sendMessage",
      R"({"chat_id":)" + std::to_string(chat) +
          R"(,"text":"Sorry, I did not understand that. Send /help for the menu."})",
      "", "", 0});
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: pg_commit_bench URL SECONDS THREADS [MAX_GROUP_JOBS]\n");
    return 2;
  }
  const std::string url = argv[1];
  const double seconds = std::atof(argv[2]);
  const int threads = std::atoi(argv[3]);
  const size_t max_group = argc > 4 ? static_cast<size_t>(std::atoll(argv[4])) : 0;

  // The "postgres" backend keeps its queue in an embedded file: a scratch one, unused here.
  char tmpl[] = "/tmp/botfn_pg_commit_bench_XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  const std::filesystem::path dir = tmpl;
  std::filesystem::create_directories(dir / "migrations");
  std::ofstream(dir / "migrations" / "001_counters.sql")
      << "CREATE TABLE counters (chat_id BIGINT PRIMARY KEY, n BIGINT NOT NULL);\n";

  Metrics metrics;
  storage::BackendOptions options;
  options.kind = "postgres";
  options.postgres.url = url;
  options.postgres.max_group_jobs = max_group;
  options.embedded.path = dir / "queue.db";
  auto backend = storage::openBackend(options, metrics);
  if (!backend) {
    std::fprintf(stderr, "pg_commit_bench: %s\n", backend.error().describe().c_str());
    return 1;
  }
  auto& store = (*backend)->store();
  if (auto r = store.migrateApp("bench", dir / "migrations"); !r) {
    std::fprintf(stderr, "pg_commit_bench: migrate: %s\n", r.error().describe().c_str());
    return 1;
  }

  // Ids above any earlier run's against the same database (markers are unique per update).
  const int64_t base = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  std::atomic<int64_t> next{0};
  std::atomic<uint64_t> committed{0}, failed{0};
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      Waiter w;
      while (Clock::now() < deadline) {
        {
          std::lock_guard lock(w.mutex);
          w.done = false;
        }
        store.commit(updateCommit(base + next.fetch_add(1)), [&w](Result<void> r) {
          std::lock_guard lock(w.mutex);
          w.ok = r.has_value();
          w.done = true;
          w.cv.notify_one();
        });
        std::unique_lock lock(w.mutex);
        w.cv.wait(lock, [&] { return w.done; });
        (w.ok ? committed : failed).fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& t : pool) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  const uint64_t transactions = metrics.histogram("botfn_commit_batch_size").count();
  std::printf(
      "pg_commit_bench: %d threads, max_group_jobs %zu: %llu commits in %.1f s = %.0f commits/s; "
      "%llu transactions (%.1f commits each); %llu failed\n",
      threads, max_group, static_cast<unsigned long long>(committed.load()), elapsed,
      committed.load() / elapsed, static_cast<unsigned long long>(transactions),
      transactions ? static_cast<double>(committed.load() + failed.load()) / transactions : 0.0,
      static_cast<unsigned long long>(failed.load()));
  backend->reset();
  std::filesystem::remove_all(dir);
  return failed.load() == 0 ? 0 : 1;
}
