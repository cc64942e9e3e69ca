// PartitionKeeper: the lanes of a Redis Bus are hashed into a fixed number of partitions (one
// stream each), and each partition is leased by one instance at a time. A heartbeat thread keeps
// this instance registered (its health key), renews its leases, takes free partitions up to its
// fair share and hands back those it holds above it once they are drained. A lease is trusted
// only until the renewal that set it, plus the lease time, minus a margin: an instance cut off
// from Redis stops before another may take over. See docs/architecture.md, "Several instances".
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.hpp"
#include "storage/redis/redis_client.hpp"

namespace botfn::storage::redis {

struct PartitionOptions {
  std::string prefix;
  std::string instance;
  size_t partitions = 16;
  std::chrono::milliseconds lease{15000};
};

class PartitionKeeper {
 public:
  // held(p): entries of partition p this process leased and has not acked, or other work on its
  // lanes (the sender's rows): a partition is handed back only at 0.
  PartitionKeeper(PartitionOptions options, ConnectionOptions connection, Metrics& metrics,
                  std::function<size_t(size_t)> held);
  ~PartitionKeeper();  // stop(true)

  // Checks that Redis agrees on the number of partitions, runs the first heartbeat and starts the
  // heartbeat thread.
  Result<void> open();
  // Stops the heartbeats; with hand_back, hands every lease back and unregisters, so the others
  // take over at once (graceful stop).
  void stop(bool hand_back = true);

  size_t partitions() const { return options_.partitions; }
  // Owned, with a lease still trusted.
  bool owns(size_t p) const;
  // Owned and not being handed back: lease() reads new entries of it.
  bool reading(size_t p) const;
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  bool down() const { return down_.load(std::memory_order_relaxed); }
  // Partitions taken since the last call: the entries their last owner left pending are claimed
  // before any new entry of them is read.
  std::vector<size_t> takeAcquired();
  std::string streamKey(size_t p) const { return options_.prefix + "stream:" + std::to_string(p); }

 private:
  using Clock = std::chrono::steady_clock;
  void loop();
  Result<void> beat(bool stopping);
  // Drops the leases whose trust ran out without a renewal (Redis unreachable).
  void expire(Clock::time_point now);

  PartitionOptions options_;
  Metrics& metrics_;
  std::function<size_t(size_t)> held_;
  RedisConnection conn_;  // the heartbeat thread's, and open()/stop() before/after it
  std::string sha_;
  std::vector<std::string> keys_;  // instances, token counter, health, then one per partition
  // Per partition: steady-clock ns until which its lease is trusted (0: not owned).
  std::unique_ptr<std::atomic<int64_t>[]> owned_until_;
  std::unique_ptr<std::atomic<bool>[]> releasing_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> down_{false};  // the last heartbeat failed (logged once)

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<size_t> acquired_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace botfn::storage::redis
