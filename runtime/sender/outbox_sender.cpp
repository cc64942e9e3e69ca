// Outbox drain loop and result classification.
#include "sender/outbox_sender.hpp"

#include <optional>

#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace botfn::sender {
namespace {
int64_t nowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
std::string laneKey(const storage::OutboxMessage& m) { return m.bot + '/' + m.lane; }
}  // namespace

nlohmann::json paramsOf(const storage::OutboxRow& row, std::optional<int64_t> target_message_id) {
  auto params = nlohmann::json::parse(row.message.params_json, nullptr, false);
  if (!params.is_object()) params = nlohmann::json::object();
  if (target_message_id) params["message_id"] = *target_message_id;
  return params;
}

OutboxSender::OutboxSender(SenderOptions options, storage::Store& store, ApiLookup apis,
                           Metrics& metrics)
    : options_(options), store_(store), apis_(std::move(apis)), metrics_(metrics) {}

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
  wake();
  if (thread_.joinable()) thread_.join();
  std::unique_lock lock(mutex_);
  return idle_cv_.wait_until(lock, deadline, [&] { return in_flight_ == 0; });
}

void OutboxSender::schedule(const std::string& key, Lane& lane, int64_t now) {
  if (lane.busy || lane.queued || lane.rows.empty()) return;
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

void OutboxSender::addRows(std::vector<storage::OutboxRow> rows, int64_t now) {
  for (auto& row : rows) {
    // Each row once: a read and a hand-over may both bring a row committed between them.
    if (row.id <= last_read_id_) continue;
    last_read_id_ = row.id;
    const std::string key = laneKey(row.message);
    Lane& lane = lanes_[key];
    lane.rows.push_back(std::move(row));
    schedule(key, lane, now);
  }
}

std::vector<storage::OutboxRow> OutboxSender::takeReady(int64_t now) {
  std::vector<storage::OutboxRow> sending;
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
    if (lane.rows.front().next_at_ms > now) {
      schedule(key, lane, now);
      continue;
    }
    lane.busy = true;
    ++in_flight_;
    sending.push_back(lane.rows.front());
  }
  return sending;
}

void OutboxSender::accept(std::vector<storage::OutboxRow> rows) {
  std::vector<storage::OutboxRow> sending;
  {
    std::lock_guard lock(mutex_);
    if (!caught_up_) {
      // The backlog is still being read in id order; these newer rows join after it.
      for (auto& row : rows) early_.push_back(std::move(row));
      return;
    }
    const int64_t now = nowMillis();
    addRows(std::move(rows), now);
    sending = takeReady(now);
  }
  // Sent from the committing thread: no hand-off to the sender thread per commit.
  for (auto& row : sending) sendRow(std::move(row));
}

void OutboxSender::loop() {
  auto log = log::get("sender");
  bool first = true;
  while (!stopping_) {
    bool read = first;
    first = false;
    {
      std::unique_lock lock(mutex_);
      if (!read) {
        auto wait = options_.poll_interval;
        if (!delayed_.empty()) {
          wait = std::min(wait, std::chrono::milliseconds(
                                    std::max<int64_t>(0, delayed_.begin()->first - nowMillis())));
        }
        const bool signalled = cv_.wait_for(lock, wait, [&] { return woken_ || stopping_.load(); });
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
        log->error("outbox read failed: {}", fetched.error().describe());
      } else {
        rows = std::move(*fetched);
      }
    }
    std::vector<storage::OutboxRow> sending;
    {
      std::lock_guard lock(mutex_);
      const int64_t now = nowMillis();
      if (rows) {
        const bool backlog_done = rows->size() < options_.read_batch;
        addRows(std::move(*rows), now);
        if (!backlog_done) woken_ = true;  // more to read
        if (!caught_up_ && backlog_done) {
          caught_up_ = true;
          addRows(std::move(early_), now);
          early_.clear();
        }
      }
      sending = takeReady(now);
    }
    for (auto& row : sending) sendRow(std::move(row));
  }
}

int64_t OutboxSender::lastReadId() {
  std::lock_guard lock(mutex_);
  return last_read_id_;
}

void OutboxSender::sendRow(storage::OutboxRow row) {
  // Often on the writer's thread (a hand-over, a finished send): nothing may escape, or the row's
  // lane would stay busy with nothing in flight.
  try {
    sendRowUnguarded(row);
  } catch (const std::exception& e) {
    log::get("sender")->error("{} to chat {} could not be sent: {}", row.message.method,
                              row.message.chat_id, e.what());
    finish(row,
           {storage::OutboxResult::Kind::Retry, std::nullopt, e.what(), std::chrono::seconds(1)},
           "retry");
  }
}

void OutboxSender::sendRowUnguarded(const storage::OutboxRow& row) {
  log::TraceScope trace(std::to_string(row.message.update_id));
  telegram::BotApi* api = apis_(row.message.bot);
  if (!api) {
    return finish(row, {storage::OutboxResult::Kind::Failed, {}, "bot is not configured", {}},
                  "failed");
  }
  std::optional<int64_t> target;
  if (!row.message.target_handle.empty()) {
    auto id = store_.messageIdOfHandle(row.message.target_handle);
    if (!id || !*id) {
      return finish(
          row, {storage::OutboxResult::Kind::Failed, {}, "the message to edit was never sent", {}},
          "failed");
    }
    target = **id;
  }
  // Most rows go out exactly as committed; only edits by handle need their message_id filled in.
  std::string params =
      target || row.message.params_json.empty() || row.message.params_json[0] != '{'
          ? paramsOf(row, target).dump()
          : row.message.params_json;
  api->callJson(row.message.method, std::move(params), [this, row](telegram::ApiResponse r) {
    log::TraceScope trace(std::to_string(row.message.update_id));
    using Kind = storage::OutboxResult::Kind;
    if (r.ok) return finish(row, {Kind::Sent, r.message_id, "", {}}, "ok");
    if (r.notModified()) return finish(row, {Kind::Sent, std::nullopt, "", {}}, "not_modified");
    if (r.code == ErrorCode::TelegramRateLimited) {
      const int wait = std::max(1, r.retry_after.value_or(1));
      return finish(row, {Kind::Retry, std::nullopt, r.description, std::chrono::seconds(wait)},
                    "rate_limited");
    }
    const bool transient = r.code == ErrorCode::TelegramServer ||
                           r.code == ErrorCode::HttpTransport || r.code == ErrorCode::HttpTimeout ||
                           r.code == ErrorCode::TelegramConflict;
    if (transient && row.attempts + 1 < options_.max_attempts) {
      const auto backoff = std::chrono::milliseconds(500LL << std::min(row.attempts, 6));
      return finish(row, {Kind::Retry, std::nullopt, r.description, backoff}, "retry");
    }
    log::get("sender")->warn("{} to chat {} failed: {} {}", row.message.method, row.message.chat_id,
                             r.error_code, r.description);
    finish(row, {Kind::Failed, std::nullopt, r.description, {}}, "failed");
  });
}

void OutboxSender::finish(const storage::OutboxRow& row, storage::OutboxResult result,
                          const char* label) {
  log::get("sender")->debug("{} to chat {}: {}", row.message.method, row.message.chat_id, label);
  metrics_.counter("botfn_sends_total", "bot=\"" + row.message.bot + "\",method=\"" +
                                            row.message.method + "\",result=\"" + label + "\"")++;
  const std::string key = laneKey(row.message);
  const auto kind = result.kind;
  const auto retry_at = nowMillis() + result.retry_in.count();
  store_.finishOutbox(
      row.id, std::move(result), [this, key, id = row.id, kind, retry_at](Result<void> r) {
        if (!r) log::get("sender")->error("outbox update failed: {}", r.error().describe());
        std::vector<storage::OutboxRow> sending;
        {
          std::lock_guard lock(mutex_);
          if (auto it = lanes_.find(key); it != lanes_.end()) {
            Lane& lane = it->second;
            lane.busy = false;
            if (r && !lane.rows.empty() && lane.rows.front().id == id) {
              if (kind == storage::OutboxResult::Kind::Retry) {
                lane.rows.front().attempts++;
                lane.rows.front().next_at_ms = retry_at;
              } else {
                lane.rows.pop_front();
              }
            }
            // A failed result write keeps the row at the head: it is sent again (at least once).
            if (lane.rows.empty() && !lane.queued) {
              lanes_.erase(it);
            } else {
              schedule(key, lane, nowMillis());
            }
          }
          sending = takeReady(nowMillis());
          // Under the lock: stop() may destroy us as soon as it sees 0 in flight.
          if (--in_flight_ == 0) idle_cv_.notify_all();
        }
        // The lane's next row goes out from here (the writer's thread), not through a wake-up.
        for (auto& next : sending) sendRow(std::move(next));
      });
}

}  // namespace botfn::sender
