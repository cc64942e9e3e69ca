// Inbox: ingress's side of the inbound queue (the webhook and the long poller) — durable,
// idempotent pushes with a dedupe window of update ids per bot, the load the webhook's
// back-pressure looks at, and long-polling offsets.
#pragma once

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

class Inbox {
 public:
  virtual ~Inbox() = default;

  // Durable, idempotent push; done runs once the batch (and the cursor, if any) is durable.
  // A repeated (bot, update_id) within the dedupe window yields Duplicate and is not queued.
  virtual void push(std::vector<InboundUpdate> items, std::optional<PollCursor> cursor,
                    std::function<void(Result<std::vector<PushOutcome>>)> done) = 0;
  // Writes waiting for the disk; the webhook answers 503 above ingest.max_backlog.
  virtual size_t writeBacklog() const = 0;
  // Queued and leased entries held in memory (ingest.max_queued_updates / max_queued_bytes).
  virtual QueueLoad queueLoad() const = 0;
  virtual size_t depth() const = 0;  // pushed and not yet acked (the botfn_queue_depth gauge)
  virtual Result<std::optional<int64_t>> pollOffset(const std::string& bot) = 0;
  // The queue's service failed its last call (Redis down) and has not answered since: /readyz
  // answers 503 naming it. An in-process queue reports its faults through the Store.
  virtual std::optional<Error> fault() const { return std::nullopt; }
};

}  // namespace botfn::storage
