// The sender's lane bookkeeping, under its mutex: rows into their lanes (each once, in id order,
// only lanes this instance owns), lanes into the ready and delayed queues, and the heads of ready
// lanes out to be sent.
#include <algorithm>

#include "sender/outbox_sender.hpp"
#include "sender/sender_time.hpp"

namespace botfn::sender {

void OutboxSender::schedule(const std::string& key, Lane& lane, int64_t now) {
  if (lane.busy || lane.queued || lane.held_back || lane.rows.empty()) return;
  lane.queued = true;
  const int64_t at = lane.rows.front().next_at_ms;
  if (at > now) {
    auto it = delayed_.emplace(at, key);
    if (it == delayed_.begin()) {  // sooner than the loop's wait: it recomputes the wait
      woken_ = true;
      cv_.notify_all();
    }
  } else {
    ready_.push_back(key);
  }
}

void OutboxSender::addRows(std::vector<storage::OutboxRow> rows, int64_t now, bool handed_over) {
  // A partition just taken over may already feed hand-overs (its claimed updates commit) before
  // the loop looks: its lanes must be held back from the first row on.
  if (const uint64_t g = ownership_.ownershipGeneration(); g != ownership_seen_) {
    ownership_seen_ = g;
    ownershipChanged();
    woken_ = true;
    cv_.notify_all();
  }
  for (auto& row : rows) {
    // Each row once: a read and a hand-over may both bring a row committed between them. Ids
    // grow in commit order per writer only: with several instances, another writer's rows may
    // have moved the cursor past a row of ours whose hand-over comes now. So a hand-over below
    // the cursor is looked up in its lane; a read below it is always a repeat.
    const bool below = row.id <= last_read_id_;
    if (below && !handed_over) continue;
    last_read_id_ = std::max(last_read_id_, row.id);
    const std::string key = laneKey(row.message);
    if (!ownership_.ownsLane(key)) {
      if (!below) foreign_.insert(row.id);  // another instance's to send
      continue;
    }
    auto [it, created] = lanes_.try_emplace(key);
    Lane& lane = it->second;
    if (created && catching_up_) lane.held_back = true;
    if (!below) {
      lane.rows.push_back(std::move(row));
    } else if (!insertInIdOrder(lane, std::move(row))) {
      continue;
    }
    schedule(key, lane, now);
  }
}

bool OutboxSender::insertInIdOrder(Lane& lane, storage::OutboxRow row) {
  auto at = std::lower_bound(lane.rows.begin(), lane.rows.end(), row.id,
                             [](const storage::OutboxRow& r, int64_t id) { return r.id < id; });
  if (at != lane.rows.end() && at->id == row.id) return false;  // held already
  // Never ahead of the row in flight.
  if (lane.busy && at == lane.rows.begin()) ++at;
  lane.rows.insert(at, std::move(row));
  return true;
}

std::vector<OutboxSender::Send> OutboxSender::takeReady(int64_t now) {
  std::vector<Send> sending;
  if (stopping_ || options_.paused) return sending;
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    ready_.push_back(std::move(delayed_.begin()->second));
    delayed_.erase(delayed_.begin());
  }
  // Lanes in the order they became ready: no lane waits behind a busier one.
  while (!ready_.empty()) {
    const std::string key = std::move(ready_.front());
    ready_.pop_front();
    auto it = lanes_.find(key);
    if (it == lanes_.end()) continue;
    Lane& lane = it->second;
    lane.queued = false;
    if (lane.busy || lane.rows.empty()) continue;
    if (!ownership_.ownsLane(key)) {  // its partition moved: the new owner sends its rows
      lanes_.erase(it);
      continue;
    }
    if (lane.rows.front().next_at_ms > now) {
      schedule(key, lane, now);
      continue;
    }
    lane.busy = true;
    lane.call = ++last_call_;
    lane.call_deadline = now + (options_.call_timeout + options_.lost_call_grace).count();
    ++in_flight_;
    sending.push_back({lane.rows.front(), lane.call});
  }
  return sending;
}

std::vector<OutboxSender::ResultWrite> OutboxSender::takeDueRewrites(int64_t now) {
  std::vector<ResultWrite> due;
  while (!rewrites_.empty() && (rewrites_.begin()->first <= now || stopping_)) {
    due.push_back(std::move(rewrites_.begin()->second));
    rewrites_.erase(rewrites_.begin());
  }
  return due;
}

}  // namespace botfn::sender
