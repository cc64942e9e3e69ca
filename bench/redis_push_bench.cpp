// Pushes per second into the Bus on Redis, opened through storage::openBackend as the server
// opens it ("sqlite+redis"), with INFLIGHT pushes outstanding: 1 is one round trip per push, more
// lets the bus's writer pipeline them (up to 256 scripts per round trip). One ~600-byte update per
// push, as a webhook pushes. bench/backends.sh runs it beside redis-benchmark.
// Usage: redis_push_bench REDIS_URL SECONDS INFLIGHT
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

#include "storage/backend.hpp"

using namespace botfn;
using Clock = std::chrono::steady_clock;

namespace {

// The body webhook.lua posts, so the script carries what a real webhook's push carries.
std::string updateBody(int64_t id) {
  const std::string chat = std::to_string(100000 + id % 1000);
  return R"({"update_id":)" + std::to_string(id) + R"(,"message":{"message_id":)" +
         std::to_string(id) + R"(,"date":1700000000,"chat":{"id":)" + chat +
         R"(,"type":"private","first_name":"Bench"},"from":{"id":)" + chat +
         R"(,"is_bot":false,"first_name":"Bench","language_code":"en"},"text":"bench )" +
         std::string(300, 'x') + R"("}})";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: redis_push_bench REDIS_URL SECONDS INFLIGHT\n");
    return 2;
  }
  const double seconds = std::atof(argv[2]);
  const int inflight = std::max(1, std::atoi(argv[3]));
  char tmpl[] = "/tmp/botfn_redis_push_bench_XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  const std::filesystem::path dir = tmpl;

  Metrics metrics;
  storage::BackendOptions options;
  options.kind = "sqlite+redis";
  options.redis_url = argv[1];
  // A fresh key space per run: nothing of an earlier run is a duplicate or in the stream.
  options.redis_prefix =
      "pushbench" + std::to_string(Clock::now().time_since_epoch().count()) + ":";
  options.embedded.path = dir / "unused.db";
  auto backend = storage::openBackend(options, metrics);
  if (!backend) {
    std::fprintf(stderr, "redis_push_bench: %s\n", backend.error().describe().c_str());
    return 1;
  }
  auto& bus = (*backend)->bus();

  std::mutex mutex;
  std::condition_variable cv;
  int outstanding = 0;
  uint64_t pushed = 0, failed = 0;
  int64_t next = 1;
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration<double>(seconds);
  std::unique_lock lock(mutex);
  while (true) {
    const bool open = Clock::now() < deadline;
    if (!open && outstanding == 0) break;
    if (open && outstanding < inflight) {
      const int64_t id = next++;
      const int64_t chat = 100000 + id % 1000;
      ++outstanding;
      lock.unlock();
      bus.push({storage::InboundUpdate{"bench", id, "chat:" + std::to_string(chat), "message",
                                       updateBody(id)}},
               std::nullopt, [&](Result<std::vector<storage::PushOutcome>> r) {
                 std::lock_guard l(mutex);
                 --outstanding;
                 (r ? pushed : failed)++;
                 cv.notify_one();
               });
      lock.lock();
      continue;
    }
    cv.wait(lock, [&] { return open ? outstanding < inflight : outstanding == 0; });
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  lock.unlock();
  std::printf(
      "redis_push_bench: %d in flight: %llu pushes in %.1f s = %.0f pushes/s; %llu failed\n",
      inflight, static_cast<unsigned long long>(pushed), elapsed, pushed / elapsed,
      static_cast<unsigned long long>(failed));
  backend->reset();
  std::filesystem::remove_all(dir);
  return failed == 0 ? 0 : 1;
}
