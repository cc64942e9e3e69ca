// Bus: the durable inbound queue with idempotent pushes (a dedupe window of update ids per bot),
// leases and acks, and long-polling offsets. Embedded: in-process, persisted in SQLite;
// production: Redis streams (later). The dispatcher orders leased entries per lane.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "core/error.hpp"
#include "storage/types.hpp"

namespace botfn::storage {

// What the queue holds in memory, and whether more waits on disk behind it.
struct QueueLoad {
  size_t updates = 0;
  size_t bytes = 0;
  bool full = false;  // at a cap, or entries wait on disk: the webhook answers 503
};

class Bus {
 public:
  virtual ~Bus() = default;

  // Durable, idempotent push; done runs once the batch (and the cursor, if any) is durable.
  // A repeated (bot, update_id) within the dedupe window yields Duplicate and is not queued.
  virtual void push(std::vector<InboundUpdate> items, std::optional<PollCursor> cursor,
                    std::function<void(Result<std::vector<PushOutcome>>)> done) = 0;
  // Writes waiting for the disk; the webhook answers 503 above ingest.max_backlog.
  virtual size_t writeBacklog() const = 0;
  // Queued and leased entries held in memory (ingest.max_queued_updates / max_queued_bytes).
  virtual QueueLoad queueLoad() const = 0;

  // Hands out up to max queued entries in push order, waiting up to wait for one to arrive.
  // A leased entry stays leased until ack(); after a restart every unacked entry is redelivered.
  virtual std::vector<QueueEntry> lease(size_t max, std::chrono::milliseconds wait) = 0;
  virtual void ack(int64_t entry_id, std::function<void(Result<void>)> done) = 0;
  virtual size_t depth() const = 0;  // queued + leased, not yet acked
  virtual void wakeAll() = 0;        // unblocks lease() waiters (shutdown)

  virtual Result<std::optional<int64_t>> pollOffset(const std::string& bot) = 0;
};

}  // namespace botfn::storage
