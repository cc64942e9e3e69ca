// WorkQueue: the dispatcher's side of the inbound queue — leases in push order and acks. The
// dispatcher orders leased entries per lane.
#pragma once

#include <chrono>
#include <functional>

#include "core/error.hpp"
#include "storage/types.hpp"

namespace botfn::storage {

class WorkQueue {
 public:
  virtual ~WorkQueue() = default;

  // Hands out up to max queued entries in push order, waiting up to wait for one to arrive.
  // A leased entry stays leased until ack(); after a restart every unacked entry is redelivered.
  virtual std::vector<QueueEntry> lease(size_t max, std::chrono::milliseconds wait) = 0;
  virtual void ack(int64_t entry_id, std::function<void(Result<void>)> done) = 0;
  virtual void wakeAll() = 0;  // unblocks lease() waiters (shutdown)
  // Whether this process still holds the entry's lane (several instances: its partition may have
  // moved to another instance after a lost lease). Checked before each run and each commit.
  virtual bool holds(const QueueEntry&) const { return true; }
  // The dispatcher gives a leased entry up without acking it (its lane moved): it stays pending
  // for the lane's new owner, and stops counting in this process's window.
  virtual void abandon(int64_t /*entry_id*/) {}
};

}  // namespace botfn::storage
