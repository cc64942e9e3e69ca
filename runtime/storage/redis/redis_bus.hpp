// RedisBus: the inbound queue as one Redis stream per partition of the lanes, each read by the
// one instance that leases the partition (PartitionKeeper), with one consumer group per stream.
// Pushes and acks are pipelined server-side scripts on a writer thread; lease() reads the owned
// streams on its own connection in short BLOCK slices, after claiming what a partition's last
// owner left pending. Built by openRedisBus (redis_factory.cpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "storage/redis/redis_client.hpp"
#include "storage/redis/redis_factory.hpp"
#include "storage/redis/redis_partitions.hpp"

namespace botfn::storage::redis {

class RedisBus final : public Bus {
 public:
  RedisBus(RedisBusOptions options, ConnectionOptions connection, Metrics& metrics);
  // Finishes the queued pushes and acks (failing fast when Redis is down), stops the writer,
  // then hands the partitions back.
  ~RedisBus() override;

  // Connects, creates the consumer groups, loads the scripts and takes this instance's share of
  // the partitions; starts the writer.
  Result<void> open();

  void push(std::vector<InboundUpdate> items, std::optional<PollCursor> cursor,
            std::function<void(Result<std::vector<PushOutcome>>)> done) override;
  size_t writeBacklog() const override { return backlog_.load(std::memory_order_relaxed); }
  QueueLoad queueLoad() const override;
  size_t depth() const override;
  Result<std::optional<int64_t>> pollOffset(const std::string& bot) override;
  std::vector<QueueEntry> lease(size_t max, std::chrono::milliseconds wait) override;
  // A failed ack reports its error and is retried in the background until Redis takes it.
  void ack(int64_t entry_id, std::function<void(Result<void>)> done) override;
  void wakeAll() override;
  bool holds(const QueueEntry& entry) const override;
  void abandon(int64_t entry_id) override;
  bool ownsLane(std::string_view lane_key) const override;
  uint64_t ownershipGeneration() const override { return keeper_->generation(); }
  void setBusyLanes(BusyLanes busy) override;
  std::optional<Error> fault() const override;

 private:
  struct Script {
    const char* source;
    std::string sha;  // SCRIPT LOAD at open(); EVAL when the server has forgotten it
  };
  struct Push {
    std::vector<InboundUpdate> items;
    std::optional<PollCursor> cursor;
    std::function<void(Result<std::vector<PushOutcome>>)> done;
  };
  struct Ack {
    int64_t id;
    std::function<void(Result<void>)> done;
  };
  // A leased entry until its ack: its partition, its share of the window and its dedupe key (the
  // ack script starts the key's TTL).
  struct Held {
    size_t partition;
    std::string seen_key;
    size_t bytes;
  };

  std::string seenKey(const std::string& bot, int64_t update_id) const;
  size_t partitionOf(const std::string& bot, const std::string& lane) const;
  // EVALSHA, or EVAL when the server answers NOSCRIPT (a restarted Redis without the cache).
  Result<Reply> runScript(RedisConnection& c, const Script& s, const std::vector<std::string>& keys,
                          const std::vector<std::string_view>& args);
  Result<void> ensureGroups(RedisConnection& c);

  // ---- writer thread (redis_bus.cpp)
  void writerLoop();
  void writePushes(std::vector<Push>& pushes);
  Result<void> writeAcks(const std::vector<int64_t>& ids);
  void forget(std::unordered_map<int64_t, Held>::iterator it);  // mutex_ held

  // ---- lease (redis_bus_lease.cpp, lease_mutex_ held)
  Result<std::vector<QueueEntry>> leaseOnce(size_t room, std::chrono::milliseconds block);
  Result<std::vector<QueueEntry>> readOwned(size_t room, std::chrono::milliseconds block);
  struct Claim {
    size_t partition;
    std::chrono::milliseconds min_idle;  // 0: a take-over, which holds back new reads of it
  };
  Result<std::vector<QueueEntry>> claim(const Claim& c, size_t room);
  // Takes entries into the held set; drops any already held, or of a partition not owned now.
  std::vector<QueueEntry> take(std::vector<QueueEntry> entries);
  size_t roomFor(size_t max) const;
  void noteLeaseResult(const Result<std::vector<QueueEntry>>& r);

  RedisBusOptions options_;
  ConnectionOptions connection_;  // for the PartitionKeeper's own connection
  Metrics& metrics_;
  std::string seq_, poll_, seen_prefix_;
  std::vector<std::string> streams_;  // one per partition
  const std::string group_ = "botfn";
  Script push_script_, ack_script_;

  // Each connection serves one thread at a time.
  mutable std::mutex reader_mutex_;
  mutable RedisConnection reader_;  // depth, pollOffset, open()
  std::mutex lease_mutex_;
  RedisConnection leaser_;  // lease(): blocking reads and claims
  RedisConnection writer_;  // writer thread only

  // Lease state (lease_mutex_): pending lists to claim, front first. A partition just taken is
  // not read with ">" until its claim is done, or a lane's new entries would pass its old ones.
  std::deque<Claim> claims_;
  std::string claim_cursor_ = "0-0";  // of claims_.front()
  std::chrono::steady_clock::time_point next_idle_claim_{};
  std::atomic<bool> lease_down_{false};

  mutable std::mutex mutex_;
  std::condition_variable writer_cv_;
  std::condition_variable lease_cv_;  // an ack freed room, or wakeAll()
  std::deque<Push> pushes_;
  std::deque<Ack> acks_;
  std::vector<int64_t> retry_acks_;  // failed acks, retried by the writer after a pause
  std::chrono::steady_clock::time_point retry_acks_at_{};
  bool stopping_ = false;
  std::unordered_map<int64_t, Held> held_;
  std::vector<size_t> held_per_partition_;
  std::atomic<size_t> held_updates_{0};  // read without mutex_ by queueLoad()
  std::atomic<size_t> held_bytes_{0};
  std::atomic<size_t> backlog_{0};  // updates pushed and not yet answered by Redis
  mutable std::atomic<size_t> last_depth_{0};
  std::atomic<uint64_t> wake_generation_{0};
  std::mutex busy_mutex_;  // held while busy_lanes_ runs, so unregistering waits for it
  BusyLanes busy_lanes_;
  // Built in open(); its heartbeat thread reads held_per_partition_ and calls busy_lanes_.
  std::unique_ptr<PartitionKeeper> keeper_;
  // Joined by ~RedisBus before any member goes: it uses everything above.
  std::thread writer_thread_;
};

}  // namespace botfn::storage::redis
