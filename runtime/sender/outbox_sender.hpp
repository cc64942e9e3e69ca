// STAGE 5 (basic): drains the outbox in lane order — one call in flight per lane, the next row of
// a lane only once the previous one's result is durable — and calls the Bot API. Committed rows
// are handed over by the store and sent from the committing thread; the sender's own thread reads
// the backlog at start, runs retry timers, rewrites results whose write failed, and re-reads the
// store as a safety net. 429 waits retry_after; "message is not modified" counts as success; 5xx
// and transport errors back off; other 4xx fail the row. (Channel limiters and alerts come later.)
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/metrics.hpp"
#include "storage/lane_ownership.hpp"
#include "storage/outbox_store.hpp"
#include "telegram/bot_api.hpp"

namespace botfn::sender {

struct SenderOptions {
  // Counts answers after the request reached the Bot API (5xx, transport errors, timeouts);
  // 429s and requests that never left the client (no free connection) do not count.
  int max_attempts = 5;
  std::chrono::milliseconds call_timeout{30000};  // HTTP timeout of each Bot API call
  // A call unanswered this long after its timeout is lost (a completion that never came): its
  // lane is released and the row sent again, so no lane waits for a restart.
  std::chrono::milliseconds lost_call_grace{30000};
  std::chrono::milliseconds poll_interval{250};    // safety-net reads of new rows
  std::chrono::milliseconds sweep_interval{1000};  // checks of every pending row (see sweep())
  std::chrono::milliseconds rewrite_backoff{100};  // first wait after a failed result write
  std::chrono::milliseconds rewrite_backoff_max{5000};
  size_t read_batch = 2000;  // rows per read
  bool paused = false;       // test-only: send nothing
};

using ApiLookup = std::function<telegram::BotApi*(const std::string& bot)>;

class OutboxSender {
 public:
  // Sends only the rows of lanes this instance owns (several instances on one Redis Bus; see
  // storage/lane_ownership.hpp): the owner of a lane's partition is its only sender.
  OutboxSender(SenderOptions options, storage::OutboxStore& store, ApiLookup apis, Metrics& metrics,
               storage::LaneOwnership& ownership = storage::everyLane());
  ~OutboxSender();  // waits for calls in flight: their completions use this object
  void start();
  void wake();
  // Stops picking rows; waits for calls already sent until deadline. Unsent rows stay durable.
  bool stop(std::chrono::steady_clock::time_point deadline);

 private:
  // A send's outcome on its way to the store. Kept until written: a failed write is retried, never
  // answered by calling the Bot API again.
  struct ResultWrite {
    int64_t id = 0;
    std::string key;  // the row's lane
    storage::OutboxResult result;
    int64_t retry_at = 0;  // unix ms, for Retry results: fixed when the answer came
    int failures = 0;      // failed writes so far
  };

  void loop();
  void accept(std::vector<storage::OutboxRow> rows);  // rows the store just committed
  // A lane's head on its way to the Bot API; `call` tells its answer from a late one.
  struct Send {
    storage::OutboxRow row;
    uint64_t call = 0;
  };
  void sendRow(Send send);
  void sendRowUnguarded(const Send& send);
  void finish(const Send& send, storage::OutboxResult result, const char* label);
  // Under mutex_, once per sweep: a lane whose call outlived its timeout and the grace is
  // released (see Lane), and a lane with rows that is neither busy nor waiting in ready_ or
  // delayed_ is scheduled again. No lane waits for a restart, whatever went wrong.
  void auditLanes(int64_t now);
  void writeResult(ResultWrite write);
  void resultWritten(ResultWrite write, Result<void> r);
  // Rows that are pending in the store but in no lane (a hand-over that failed midway): each is
  // put back into its lane, in id order. Runs on the sender's thread.
  void sweep();
  // Under mutex_, when the owned lanes changed: lanes lost are dropped (a busy one once its call
  // is answered; their rows stay pending for the new owner) and the next sweep looks for the
  // pending rows of lanes gained.
  void ownershipChanged();

  SenderOptions options_;
  storage::OutboxStore& store_;
  ApiLookup apis_;
  Metrics& metrics_;
  storage::LaneOwnership& ownership_;
  uint64_t ownership_seen_ = 0;  // the generation the lanes below were taken under
  std::mutex mutex_;
  std::condition_variable cv_;       // wakes the loop
  std::condition_variable idle_cv_;  // in_flight_ reached 0 (stop waits for it)
  // Pending rows of a lane in id order, read from the store once each (ids after last_read_id_,
  // or found by a sweep); the head is in flight (busy: sent, or its result being written), waiting
  // in ready_ or delayed_ (queued), or waiting for its lane to be freed.
  // `call` is the head's unanswered Bot API call (0: none), lost past call_deadline (unix ms).
  struct Lane {
    std::deque<storage::OutboxRow> rows;
    bool busy = false;
    bool queued = false;
    uint64_t call = 0;
    int64_t call_deadline = 0;
    bool held_back = false;  // possibly taken over from another instance: see catching_up_
  };
  // Under mutex_: puts a lane whose head may go out into ready_ (now) or delayed_ (at its retry
  // time); adds rows not seen yet; takes the heads of ready lanes (marking them busy) to send.
  void schedule(const std::string& key, Lane& lane, int64_t now);
  void addRows(std::vector<storage::OutboxRow> rows, int64_t now, bool handed_over);
  // Puts a row into its lane by id (never ahead of the head in flight); false when it is there.
  bool insertInIdOrder(Lane& lane, storage::OutboxRow row);
  std::vector<Send> takeReady(int64_t now);
  std::vector<ResultWrite> takeDueRewrites(int64_t now);
  int64_t lastReadId();

  std::unordered_map<std::string, Lane> lanes_;
  std::deque<std::string> ready_;                 // no scan over all lanes per wake-up
  std::multimap<int64_t, std::string> delayed_;   // retry time (unix ms) → lane
  std::multimap<int64_t, ResultWrite> rewrites_;  // failed result writes, by next try (unix ms)
  int64_t last_read_id_ = 0;                      // highest row id taken (rows arrive in id order)
  // Calls whose completion may still run (a lost call's too) plus results being written.
  size_t in_flight_ = 0;
  uint64_t last_call_ = 0;
  int64_t last_read_error_log_ = 0;  // sender thread only: unix ms of the last logged read error
  bool woken_ = false;      // the loop should look again (a retry time, more to read, stop)
  bool caught_up_ = false;  // the rows committed before start() are all read
  std::vector<storage::OutboxRow> early_;  // handed over while the backlog was being read
  // While a sweep reads the store: ids whose final result was written meanwhile (the read may
  // still have seen them pending).
  bool sweeping_ = false;
  std::vector<int64_t> finished_while_sweeping_;
  // Pending rows seen whose lane another instance owns: the sweep does not fetch them again
  // (cleared when the ownership changes, pruned to the pending ones by each sweep).
  std::unordered_set<int64_t> foreign_;
  bool sweep_soon_ = false;  // lanes were gained: sweep at the next turn of the loop
  bool sweep_after_gain_ = false;
  // The owned lanes changed and the sweep that brings in the rows of lanes taken over has not
  // completed: lanes created meanwhile are held back.
  bool catching_up_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Fills message_id from the target handle and returns the Bot API parameters of a row.
nlohmann::json paramsOf(const storage::OutboxRow& row, std::optional<int64_t> target_message_id);

}  // namespace botfn::sender
