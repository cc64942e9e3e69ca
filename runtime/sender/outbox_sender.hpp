// STAGE 5 (basic): drains the outbox in lane order — one call in flight per lane, the next row of
// a lane only after the previous one finished — and calls the Bot API. 429 waits retry_after and
// retries without losing the message; "message is not modified" counts as success; 5xx and
// transport errors back off; other 4xx fail the row. (Channel limiters and alerts come later.)
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>
#include <thread>

#include "core/metrics.hpp"
#include "storage/store.hpp"
#include "telegram/bot_api.hpp"

namespace botfn::sender {

struct SenderOptions {
  int max_attempts = 5;  // for 5xx/transport errors; 429 retries do not count
  std::chrono::milliseconds poll_interval{250};
  bool paused = false;  // test-only: send nothing
};

using ApiLookup = std::function<telegram::BotApi*(const std::string& bot)>;

class OutboxSender {
 public:
  OutboxSender(SenderOptions options, storage::Store& store, ApiLookup apis, Metrics& metrics);
  ~OutboxSender();
  void start();
  void wake();
  // Stops picking rows; waits for calls already sent until deadline. Unsent rows stay durable.
  bool stop(std::chrono::steady_clock::time_point deadline);

 private:
  void loop();
  void sendRow(storage::OutboxRow row);
  void finish(const storage::OutboxRow& row, storage::OutboxResult result, const char* label);

  SenderOptions options_;
  storage::Store& store_;
  ApiLookup apis_;
  Metrics& metrics_;
  std::mutex mutex_;
  std::condition_variable cv_;
  // Pending rows of a lane, read from the store once each (ids after last_read_id_); the head is
  // in flight (busy), waiting in ready_ or delayed_ (queued), or waiting for its lane to be freed.
  struct Lane {
    std::deque<storage::OutboxRow> rows;
    bool busy = false;
    bool queued = false;
  };
  // Puts a lane whose head may go out into ready_ (now) or delayed_ (at its retry time).
  void schedule(const std::string& key, Lane& lane, int64_t now);

  std::unordered_map<std::string, Lane> lanes_;
  std::deque<std::string> ready_;                 // no scan over all lanes per wake-up
  std::multimap<int64_t, std::string> delayed_;   // retry time (unix ms) → lane
  int64_t last_read_id_ = 0;
  size_t in_flight_ = 0;
  bool woken_ = false;     // a lane was freed
  bool new_rows_ = false;  // the store committed outbox rows since the last read
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Fills message_id from the target handle and returns the Bot API parameters of a row.
nlohmann::json paramsOf(const storage::OutboxRow& row, std::optional<int64_t> target_message_id);

}  // namespace botfn::sender
