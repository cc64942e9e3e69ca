// STAGE 5 (basic): drains the outbox in lane order — one call in flight per lane, the next row of
// a lane only after the previous one finished — and calls the Bot API. Committed rows are handed
// over by the store and sent from the committing thread; the sender's own thread reads the
// backlog at start, runs retry timers and re-reads the store as a safety net. 429 waits retry_after
// and retries without losing the message; "message is not modified" counts as success; 5xx and
// transport errors back off; other 4xx fail the row. (Channel limiters and alerts come later.)
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

#include "core/metrics.hpp"
#include "storage/store.hpp"
#include "telegram/bot_api.hpp"

namespace botfn::sender {

struct SenderOptions {
  int max_attempts = 5;  // for 5xx/transport errors; 429 retries do not count
  std::chrono::milliseconds poll_interval{250};  // safety-net reads of the store
  size_t read_batch = 2000;                      // rows per read
  bool paused = false;                           // test-only: send nothing
};

using ApiLookup = std::function<telegram::BotApi*(const std::string& bot)>;

class OutboxSender {
 public:
  OutboxSender(SenderOptions options, storage::Store& store, ApiLookup apis, Metrics& metrics);
  ~OutboxSender();  // waits for calls in flight: their completions use this object
  void start();
  void wake();
  // Stops picking rows; waits for calls already sent until deadline. Unsent rows stay durable.
  bool stop(std::chrono::steady_clock::time_point deadline);

 private:
  void loop();
  void accept(std::vector<storage::OutboxRow> rows);  // rows the store just committed
  void sendRow(storage::OutboxRow row);
  void sendRowUnguarded(const storage::OutboxRow& row);
  void finish(const storage::OutboxRow& row, storage::OutboxResult result, const char* label);

  SenderOptions options_;
  storage::Store& store_;
  ApiLookup apis_;
  Metrics& metrics_;
  std::mutex mutex_;
  std::condition_variable cv_;       // wakes the loop
  std::condition_variable idle_cv_;  // in_flight_ reached 0 (stop waits for it)
  // Pending rows of a lane, read from the store once each (ids after last_read_id_); the head is
  // in flight (busy), waiting in ready_ or delayed_ (queued), or waiting for its lane to be freed.
  struct Lane {
    std::deque<storage::OutboxRow> rows;
    bool busy = false;
    bool queued = false;
  };
  // Under mutex_: puts a lane whose head may go out into ready_ (now) or delayed_ (at its retry
  // time); adds rows not seen yet; takes the heads of ready lanes (marking them busy) to send.
  void schedule(const std::string& key, Lane& lane, int64_t now);
  void addRows(std::vector<storage::OutboxRow> rows, int64_t now);
  std::vector<storage::OutboxRow> takeReady(int64_t now);
  int64_t lastReadId();

  std::unordered_map<std::string, Lane> lanes_;
  std::deque<std::string> ready_;                // no scan over all lanes per wake-up
  std::multimap<int64_t, std::string> delayed_;  // retry time (unix ms) → lane
  int64_t last_read_id_ = 0;                     // highest row id taken (rows arrive in id order)
  size_t in_flight_ = 0;
  bool woken_ = false;      // the loop should look again (a retry time, more to read, stop)
  bool caught_up_ = false;  // the rows committed before start() are all read
  std::vector<storage::OutboxRow> early_;  // handed over while the backlog was being read
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Fills message_id from the target handle and returns the Bot API parameters of a row.
nlohmann::json paramsOf(const storage::OutboxRow& row, std::optional<int64_t> target_message_id);

}  // namespace botfn::sender
