// The sender's once-a-second checks that nothing waits for a restart: sweep() puts pending rows
// that are in no lane back into their lane, auditLanes() releases lanes whose call was lost and
// schedules lanes that wait for nothing. Both run on the sender's own thread.
#include <algorithm>
#include <unordered_set>
#include <utility>

#include "core/log.hpp"
#include "sender/outbox_sender.hpp"
#include "sender/sender_time.hpp"

namespace botfn::sender {

void OutboxSender::sweep() {
  // Rows above last_read_id_ are the read's; every pending row at or below it was handed over or
  // read, so it is in a lane unless a hand-over failed midway (a later one then moved the cursor
  // past it). Only ids are read, from the partial index of pending rows.
  int64_t up_to = 0;
  bool after_gain = false;  // rows found are lanes taken over, not rows a hand-over lost
  {
    std::lock_guard lock(mutex_);
    after_gain = std::exchange(sweep_after_gain_, false);
    // After lanes were taken over: every pending row, also above the cursor. Other instances'
    // ids interleave with ours, so the rows the last owner left may lie above it, and a lane
    // taken over must have all of them before its new rows go.
    up_to = after_gain ? INT64_MAX : last_read_id_;
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
    if (!ok) {
      sweeping_ = false;
      if (after_gain) sweep_after_gain_ = sweep_soon_ = true;  // lanes taken over stay held
      return;
    }
    std::vector<int64_t> held;
    for (const auto& [key, lane] : lanes_) {
      for (const auto& row : lane.rows) held.push_back(row.id);
    }
    std::sort(held.begin(), held.end());
    auto& finished = finished_while_sweeping_;
    std::sort(finished.begin(), finished.end());
    for (int64_t id : pending) {
      if (!std::binary_search(held.begin(), held.end(), id) &&
          !std::binary_search(finished.begin(), finished.end(), id) && !foreign_.count(id)) {
        lost.push_back(id);
      }
    }
    // Keep only foreign rows still pending, so the set stays as small as the other instances'
    // backlog.
    if (!foreign_.empty()) {
      std::unordered_set<int64_t> still;
      for (int64_t id : pending)
        if (foreign_.count(id)) still.insert(id);
      foreign_.swap(still);
    }
  }
  // Nothing else takes ids at or below the cursor, so these rows stay untaken until added here.
  std::vector<storage::OutboxRow> found;
  bool all_read = true;
  // Read in pages from the first lost id: one round trip per page, not one per row.
  for (size_t i = 0; i < lost.size();) {
    auto page = store_.pendingOutbox(options_.read_batch, lost[i] - 1);
    if (!page) {
      all_read = false;
      break;
    }
    for (auto& row : *page) {
      while (i < lost.size() && lost[i] < row.id) ++i;  // sent or failed meanwhile
      if (i < lost.size() && lost[i] == row.id) {
        found.push_back(std::move(row));
        ++i;
      }
    }
    if (page->size() < options_.read_batch) break;  // the rest is no longer pending
  }
  std::vector<Send> sending;
  {
    std::lock_guard lock(mutex_);
    const int64_t now = nowMillis();
    sweeping_ = false;
    auto& finished = finished_while_sweeping_;
    std::sort(finished.begin(), finished.end());
    // Rows the sweep took above the cursor are not read again.
    for (const auto& row : found) last_read_id_ = std::max(last_read_id_, row.id);
    for (auto& row : found) {
      const std::string key = laneKey(row.message);
      if (!ownership_.ownsLane(key)) {
        foreign_.insert(row.id);  // another instance's to send
        continue;
      }
      if (std::binary_search(finished.begin(), finished.end(), row.id)) continue;  // sent since
      auto [it, created] = lanes_.try_emplace(key);
      Lane& lane = it->second;
      if (created && catching_up_ && !after_gain) lane.held_back = true;
      const int64_t id = row.id;
      const int64_t chat = row.message.chat_id;
      // A row handed over while the sweep read the store is in its lane already.
      if (!insertInIdOrder(lane, std::move(row))) continue;
      if (after_gain) {
        metrics_.counter("botfn_sender_rows_taken_over_total")++;
      } else {
        log::get("sender")->warn("outbox row {} to chat {} was in no lane; sending it now", id,
                                 chat);
        metrics_.counter("botfn_sender_rows_recovered_total")++;
      }
      schedule(key, lane, now);
    }
    finished.clear();
    if (after_gain && all_read) {
      // Every row the lanes taken over had pending is in its lane, in id order: they may go.
      catching_up_ = false;
      for (auto& [key, lane] : lanes_) {
        if (!lane.held_back) continue;
        lane.held_back = false;
        schedule(key, lane, now);
      }
    } else if (after_gain) {
      sweep_after_gain_ = sweep_soon_ = true;
    }
    sending = takeReady(now);
  }
  for (auto& row : sending) sendRow(std::move(row));
}

void OutboxSender::ownershipChanged() {
  for (auto it = lanes_.begin(); it != lanes_.end();) {
    // A busy lane keeps its call: the answer is written, then the lane is dropped.
    if (!it->second.busy && !ownership_.ownsLane(it->first))
      it = lanes_.erase(it);
    else
      ++it;
  }
  foreign_.clear();
  sweep_soon_ = true;
  sweep_after_gain_ = true;
  // Lanes that appear from now on may be ones taken over: their rows wait until the sweep has
  // brought in what the last owner left pending, or a new reply would overtake an old one.
  catching_up_ = true;
  log::get("sender")->info("lanes moved between instances; looking for rows of lanes taken over");
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
    } else if (lane.busy || lane.held_back || (lane.queued && waiting.count(key))) {
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
