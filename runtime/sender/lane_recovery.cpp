// The sender's once-a-second checks that nothing waits for a restart: sweep() puts pending rows
// that are in no lane back into their lane, auditLanes() releases lanes whose call was lost and
// schedules lanes that wait for nothing. Both run on the sender's own thread.
#include <algorithm>
#include <unordered_set>

#include "core/log.hpp"
#include "sender/outbox_sender.hpp"
#include "sender/sender_time.hpp"

namespace botfn::sender {

void OutboxSender::sweep() {
  // Rows above last_read_id_ are the read's; every pending row at or below it was handed over or
  // read, so it is in a lane unless a hand-over failed midway (a later one then moved the cursor
  // past it). Only ids are read, from the partial index of pending rows.
  int64_t up_to = 0;
  {
    std::lock_guard lock(mutex_);
    up_to = last_read_id_;
    sweeping_ = true;
    finished_while_sweeping_.clear();
  }
  std::vector<int64_t> pending;
  int64_t after = 0;
  bool ok = true;
  while (true) {
    auto page = store_.pendingOutboxIds(options_.read_batch, after, up_to);
    if (!page) {
      log::get("sender")->debug("outbox sweep failed: {}", page.error().describe());
      ok = false;
      break;
    }
    pending.insert(pending.end(), page->begin(), page->end());
    if (page->size() < options_.read_batch) break;
    after = page->back();
  }
  std::vector<int64_t> lost;
  {
    std::lock_guard lock(mutex_);
    sweeping_ = false;
    if (!ok || pending.empty()) return;
    std::vector<int64_t> held;
    for (const auto& [key, lane] : lanes_) {
      for (const auto& row : lane.rows) held.push_back(row.id);
    }
    std::sort(held.begin(), held.end());
    auto& finished = finished_while_sweeping_;
    std::sort(finished.begin(), finished.end());
    for (int64_t id : pending) {
      if (!std::binary_search(held.begin(), held.end(), id) &&
          !std::binary_search(finished.begin(), finished.end(), id)) {
        lost.push_back(id);
      }
    }
    finished.clear();
  }
  if (lost.empty()) return;
  // Nothing else takes ids at or below the cursor, so these rows stay untaken until added here.
  std::vector<storage::OutboxRow> found;
  for (int64_t id : lost) {
    auto row = store_.pendingOutbox(1, id - 1);
    if (row && !row->empty() && row->front().id == id) found.push_back(std::move(row->front()));
  }
  std::vector<Send> sending;
  {
    std::lock_guard lock(mutex_);
    const int64_t now = nowMillis();
    for (auto& row : found) {
      log::get("sender")->warn("outbox row {} to chat {} was in no lane; sending it now", row.id,
                               row.message.chat_id);
      metrics_.counter("botfn_sender_rows_recovered_total")++;
      const std::string key = laneKey(row.message);
      Lane& lane = lanes_[key];
      // In id order, but never ahead of a row already sent.
      auto at = std::upper_bound(lane.rows.begin(), lane.rows.end(), row.id,
                                 [](int64_t id, const storage::OutboxRow& r) { return id < r.id; });
      if (lane.busy && at == lane.rows.begin()) ++at;
      lane.rows.insert(at, std::move(row));
      schedule(key, lane, now);
    }
    sending = takeReady(now);
  }
  for (auto& row : sending) sendRow(std::move(row));
}

void OutboxSender::auditLanes(int64_t now) {
  std::unordered_set<std::string_view> waiting;
  for (const auto& key : ready_) waiting.insert(key);
  for (const auto& [at, key] : delayed_) waiting.insert(key);
  for (auto& [key, lane] : lanes_) {
    if (lane.rows.empty()) continue;
    const auto& row = lane.rows.front();
    if (lane.call && lane.call_deadline <= now) {
      log::get("sender")->error(
          "{} to chat {} (outbox row {}) got no answer within {} ms; sending it again",
          row.message.method, row.message.chat_id, row.id,
          (options_.call_timeout + options_.lost_call_grace).count());
      metrics_.counter("botfn_sender_lost_calls_total")++;
      // The call still counts in in_flight_: its completion may come late, and is then dropped.
      lane.call = 0;
      lane.busy = false;
    } else if (lane.busy || (lane.queued && waiting.count(key))) {
      continue;
    } else {
      // Neither in flight nor waiting for a time or a turn: only a bookkeeping bug gets here.
      log::get("sender")->error("lane {} (outbox row {}) was waiting for nothing; scheduling it",
                                key, row.id);
      metrics_.counter("botfn_sender_lanes_rescheduled_total")++;
    }
    lane.queued = false;
    schedule(key, lane, now);
  }
}

}  // namespace botfn::sender
