// Outbox drain loop and result classification.
#include "sender/outbox_sender.hpp"

#include <algorithm>
#include <optional>

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "sender/sender_time.hpp"

namespace botfn::sender {

nlohmann::json paramsOf(const storage::OutboxRow& row, std::optional<int64_t> target_message_id) {
  auto params = nlohmann::json::parse(row.message.params_json, nullptr, false);
  if (!params.is_object()) params = nlohmann::json::object();
  if (target_message_id) params["message_id"] = *target_message_id;
  return params;
}

OutboxSender::OutboxSender(SenderOptions options, storage::OutboxStore& store, ApiLookup apis,
                           Metrics& metrics, storage::LaneOwnership& ownership)
    : options_(options),
      store_(store),
      apis_(std::move(apis)),
      metrics_(metrics),
      ownership_(ownership),
      ownership_seen_(ownership.ownershipGeneration()) {}

OutboxSender::~OutboxSender() {
  if (stop(std::chrono::steady_clock::now())) return;
  // Calls still in flight (stop timed out) complete into this object: wait for them, each ends
  // within its HTTP timeout, or a completion would run on a destroyed sender.
  std::unique_lock lock(mutex_);
  idle_cv_.wait(lock, [&] { return in_flight_ == 0; });
}

void OutboxSender::start() {
  // Set before the first read: a commit that completes earlier was committed before that read
  // and is found by it; a later one is handed over (and held until the backlog is read).
  store_.onOutboxCommitted(
      [this](std::vector<storage::OutboxRow> rows) { accept(std::move(rows)); });
  ownership_.setBusyLanes([this](const std::function<bool(std::string_view)>& in_partition) {
    std::lock_guard lock(mutex_);
    for (const auto& [key, lane] : lanes_) {
      if (!lane.rows.empty() && in_partition(key)) return true;
    }
    return false;
  });
  thread_ = std::thread([this] {
    nameThisThread("botfn-sender");
    loop();
  });
}

void OutboxSender::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool OutboxSender::stop(std::chrono::steady_clock::time_point deadline) {
  stopping_ = true;
  store_.onOutboxCommitted(nullptr);  // returns once no hand-over is running
  ownership_.setBusyLanes(nullptr);
  wake();
  if (thread_.joinable()) thread_.join();
  std::unique_lock lock(mutex_);
  return idle_cv_.wait_until(lock, deadline, [&] { return in_flight_ == 0; });
}

void OutboxSender::accept(std::vector<storage::OutboxRow> rows) {
  std::vector<Send> sending;
  {
    std::lock_guard lock(mutex_);
    if (!caught_up_) {
      // The backlog is still being read in id order; these newer rows join after it.
      for (auto& row : rows) early_.push_back(std::move(row));
      return;
    }
    const int64_t now = nowMillis();
    addRows(std::move(rows), now, true);
    sending = takeReady(now);
  }
  // Sent from the committing thread: no hand-off to the sender thread per commit.
  for (auto& row : sending) sendRow(std::move(row));
}

void OutboxSender::loop() {
  auto log = log::get("sender");
  bool first = true;
  int64_t next_sweep = nowMillis() + options_.sweep_interval.count();
  while (!stopping_) {
    bool read = first;
    first = false;
    {
      std::unique_lock lock(mutex_);
      if (!read) {
        int64_t wait = options_.poll_interval.count();
        const int64_t now = nowMillis();
        if (!delayed_.empty()) wait = std::min(wait, delayed_.begin()->first - now);
        if (!rewrites_.empty()) wait = std::min(wait, rewrites_.begin()->first - now);
        if (caught_up_) wait = std::min(wait, next_sweep - now);
        const bool signalled =
            cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(0, wait)),
                         [&] { return woken_ || stopping_.load(); });
        // Committed rows are handed over; the store is read until the backlog is in, then on
        // every quiet interval as a safety net (rows another writer committed).
        read = !caught_up_ || !signalled;
        woken_ = false;
      }
    }
    if (stopping_) break;
    std::optional<std::vector<storage::OutboxRow>> rows;
    if (read && !options_.paused) {
      // Only rows committed after the last one seen: each row is read once, never re-scanned.
      auto fetched = store_.pendingOutbox(options_.read_batch, lastReadId());
      if (!fetched) {
        // Every 250 ms while the storage is down: the first failure and one line a minute.
        const int64_t now = nowMillis();
        if (now - last_read_error_log_ >= 60000) {
          log->error("outbox read failed: {}", fetched.error().describe());
          last_read_error_log_ = now;
        }
      } else {
        last_read_error_log_ = 0;
        rows = std::move(*fetched);
      }
    }
    std::vector<Send> sending;
    std::vector<ResultWrite> rewrites;
    bool sweep_now = false;
    {
      std::lock_guard lock(mutex_);
      const int64_t now = nowMillis();
      if (rows) {
        const bool backlog_done = rows->size() < options_.read_batch;
        addRows(std::move(*rows), now, false);
        if (!backlog_done) woken_ = true;  // more to read
        if (!caught_up_ && backlog_done) {
          caught_up_ = true;
          addRows(std::move(early_), now, true);
          early_.clear();
        }
      }
      if (const uint64_t g = ownership_.ownershipGeneration(); g != ownership_seen_) {
        ownership_seen_ = g;
        ownershipChanged();
      }
      sweep_now = caught_up_ && !options_.paused && (now >= next_sweep || sweep_soon_);
      if (sweep_now) sweep_soon_ = false;
      if (sweep_now) auditLanes(now);
      sending = takeReady(now);
      rewrites = takeDueRewrites(now);
    }
    for (auto& row : sending) sendRow(std::move(row));
    for (auto& write : rewrites) writeResult(std::move(write));
    if (sweep_now) {
      sweep();
      next_sweep = nowMillis() + options_.sweep_interval.count();
    }
  }
  // Results whose write failed get one more try: a row left pending is sent again after a
  // restart (at least once), so each result written now is a message not sent twice.
  std::vector<ResultWrite> rewrites;
  {
    std::lock_guard lock(mutex_);
    rewrites = takeDueRewrites(nowMillis());
  }
  for (auto& write : rewrites) writeResult(std::move(write));
}

int64_t OutboxSender::lastReadId() {
  std::lock_guard lock(mutex_);
  return last_read_id_;
}

void OutboxSender::sendRow(Send send) {
  // Often on the writer's thread (a hand-over, a finished send): nothing may escape, or the row's
  // lane would stay busy with nothing in flight.
  try {
    sendRowUnguarded(send);
  } catch (const std::exception& e) {
    log::get("sender")->error("{} to chat {} could not be sent: {}", send.row.message.method,
                              send.row.message.chat_id, e.what());
    finish(send,
           {storage::OutboxResult::Kind::Retry, std::nullopt, e.what(), std::chrono::seconds(1)},
           "retry");
  }
}

void OutboxSender::sendRowUnguarded(const Send& send) {
  const storage::OutboxRow& row = send.row;
  log::TraceScope trace(std::to_string(row.message.update_id));
  telegram::BotApi* api = apis_(row.message.bot);
  if (!api) {
    return finish(send, {storage::OutboxResult::Kind::Failed, {}, "bot is not configured", {}},
                  "failed");
  }
  std::optional<int64_t> target;
  if (!row.message.target_handle.empty()) {
    auto id = store_.messageIdOfHandle(row.message.target_handle);
    if (!id || !*id) {
      return finish(
          send, {storage::OutboxResult::Kind::Failed, {}, "the message to edit was never sent", {}},
          "failed");
    }
    target = **id;
  }
  // Most rows go out exactly as committed; only edits by handle need their message_id filled in.
  std::string params =
      target || row.message.params_json.empty() || row.message.params_json[0] != '{'
          ? paramsOf(row, target).dump()
          : row.message.params_json;
  auto answered = [this, send](telegram::ApiResponse r) {
    const storage::OutboxRow& row = send.row;
    log::TraceScope trace(std::to_string(row.message.update_id));
    using Kind = storage::OutboxResult::Kind;
    if (r.ok) return finish(send, {Kind::Sent, r.message_id, "", {}}, "ok");
    if (r.notModified()) return finish(send, {Kind::Sent, std::nullopt, "", {}}, "not_modified");
    // Telegram told us when to come back, or the request never left: neither is a failed try.
    if (r.code == ErrorCode::TelegramRateLimited) {
      const int wait = std::max(1, r.retry_after.value_or(1));
      return finish(send,
                    {.kind = Kind::Retry,
                     .message_id = std::nullopt,
                     .error = r.description,
                     .retry_in = std::chrono::seconds(wait),
                     .counts_attempt = false},
                    "rate_limited");
    }
    if (r.code == ErrorCode::HttpNotSent) {
      return finish(send,
                    {.kind = Kind::Retry,
                     .message_id = std::nullopt,
                     .error = r.description,
                     .retry_in = std::chrono::seconds(1),
                     .counts_attempt = false},
                    "not_sent");
    }
    const bool transient = r.code == ErrorCode::TelegramServer ||
                           r.code == ErrorCode::HttpTransport || r.code == ErrorCode::HttpTimeout ||
                           r.code == ErrorCode::TelegramConflict;
    if (transient && row.attempts + 1 < options_.max_attempts) {
      const auto backoff = std::chrono::milliseconds(500LL << std::min(row.attempts, 6));
      return finish(send, {Kind::Retry, std::nullopt, r.description, backoff}, "retry");
    }
    log::get("sender")->warn("{} to chat {} failed: {} {}", row.message.method, row.message.chat_id,
                             r.error_code, r.description);
    finish(send, {Kind::Failed, std::nullopt, r.description, {}}, "failed");
  };
  api->callJson(row.message.method, std::move(params), std::move(answered), options_.call_timeout);
}

void OutboxSender::finish(const Send& send, storage::OutboxResult result, const char* label) {
  const storage::OutboxRow& row = send.row;
  {
    std::lock_guard lock(mutex_);
    auto it = lanes_.find(laneKey(row.message));
    if (it == lanes_.end() || it->second.call != send.call) {
      // The lane was released as lost and the row sent again: this answer is dropped (writing it
      // could mark a row failed that the new call sends).
      log::get("sender")->warn("{} to chat {} (outbox row {}) answered after it was sent again: {}",
                               row.message.method, row.message.chat_id, row.id, label);
      metrics_.counter("botfn_sender_late_answers_total")++;
      // Under the lock: stop() may destroy us as soon as it sees 0 in flight.
      if (--in_flight_ == 0) idle_cv_.notify_all();
      return;
    }
    it->second.call = 0;
  }
  log::get("sender")->debug("{} to chat {}: {}", row.message.method, row.message.chat_id, label);
  metrics_.counter("botfn_sends_total", "bot=\"" + row.message.bot + "\",method=\"" +
                                            row.message.method + "\",result=\"" + label + "\"")++;
  const int64_t retry_at = nowMillis() + result.retry_in.count();
  writeResult(ResultWrite{.id = row.id,
                          .key = laneKey(row.message),
                          .result = std::move(result),
                          .retry_at = retry_at,
                          .failures = 0});
}

void OutboxSender::writeResult(ResultWrite write) {
  storage::OutboxResult result = write.result;
  // A rewrite keeps the retry time the answer set, not one counted from the rewrite.
  if (write.failures > 0 && result.kind == storage::OutboxResult::Kind::Retry) {
    result.retry_in = std::chrono::milliseconds(std::max<int64_t>(0, write.retry_at - nowMillis()));
  }
  const int64_t id = write.id;
  store_.finishOutbox(id, std::move(result),
                      [this, write = std::move(write)](Result<void> r) mutable {
                        resultWritten(std::move(write), std::move(r));
                      });
}

void OutboxSender::resultWritten(ResultWrite write, Result<void> r) {
  using Kind = storage::OutboxResult::Kind;
  if (!r) {
    log::get("sender")->error("outbox result of row {} not written (try {}): {}", write.id,
                              write.failures + 1, r.error().describe());
    metrics_.counter("botfn_sender_result_write_failures_total")++;
    // A storage fault, not a failed send: the lane stays busy with this row (Telegram may have
    // it already) and only the write is tried again, later and later. Checked under the lock
    // that the loop's last flush of rewrites_ takes, so none is left behind at stop.
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      const int64_t wait =
          std::min<int64_t>(options_.rewrite_backoff_max.count(),
                            options_.rewrite_backoff.count() << std::min(write.failures, 16));
      ++write.failures;
      auto it = rewrites_.emplace(nowMillis() + wait, std::move(write));
      if (it == rewrites_.begin()) {
        woken_ = true;
        cv_.notify_all();
      }
      return;
    }
    // Stopping: the row stays pending in the store and is sent again after a restart.
  }
  std::vector<Send> sending;
  {
    std::lock_guard lock(mutex_);
    if (auto it = lanes_.find(write.key); it != lanes_.end()) {
      Lane& lane = it->second;
      lane.busy = false;
      if (r && !lane.rows.empty() && lane.rows.front().id == write.id) {
        if (write.result.kind == Kind::Retry) {
          if (write.result.counts_attempt) lane.rows.front().attempts++;
          lane.rows.front().next_at_ms = write.retry_at;
        } else {
          lane.rows.pop_front();
          if (sweeping_) finished_while_sweeping_.push_back(write.id);
        }
      }
      if ((lane.rows.empty() && !lane.queued) || !ownership_.ownsLane(write.key)) {
        lanes_.erase(it);  // done, or its partition moved (the rows stay for the new owner)
      } else {
        schedule(write.key, lane, nowMillis());
      }
    }
    sending = takeReady(nowMillis());
    // Under the lock: stop() may destroy us as soon as it sees 0 in flight.
    if (--in_flight_ == 0) idle_cv_.notify_all();
  }
  // The lane's next row goes out from here (the writer's thread, once this result is durable), not
  // through a wake-up: a crash can re-send at most the one row per lane that was in flight.
  for (auto& next : sending) sendRow(std::move(next));
}

}  // namespace botfn::sender
