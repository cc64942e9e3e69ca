// Outbox drain loop and result classification.
#include "sender/outbox_sender.hpp"

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

OutboxSender::~OutboxSender() { stop(std::chrono::steady_clock::now()); }

void OutboxSender::start() {
  store_.onOutboxChanged([this] { wake(); });
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
  wake();
  if (thread_.joinable()) thread_.join();
  std::unique_lock lock(mutex_);
  return cv_.wait_until(lock, deadline, [&] { return in_flight_ == 0; });
}

void OutboxSender::loop() {
  auto log = log::get("sender");
  while (!stopping_) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, options_.poll_interval, [&] { return woken_ || stopping_.load(); });
      woken_ = false;
    }
    if (stopping_ || options_.paused) continue;
    // Only rows committed since the last read: each row is read once, never re-scanned.
    auto rows = store_.pendingOutbox(2000, last_read_id_);
    if (!rows) {
      log->error("outbox read failed: {}", rows.error().describe());
      continue;
    }
    std::vector<storage::OutboxRow> ready;
    {
      std::lock_guard lock(mutex_);
      for (auto& row : *rows) {
        last_read_id_ = std::max(last_read_id_, row.id);
        lanes_[laneKey(row.message)].push_back(std::move(row));
      }
      if (rows->size() == 2000) woken_ = true;  // more to read
      const int64_t now = nowMillis();
      for (const auto& [key, queue] : lanes_) {
        if (queue.empty() || busy_lanes_.count(key) || queue.front().next_at_ms > now) continue;
        busy_lanes_.insert(key);
        ++in_flight_;
        ready.push_back(queue.front());
      }
    }
    for (auto& row : ready) sendRow(std::move(row));
  }
}

void OutboxSender::sendRow(storage::OutboxRow row) {
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
      return finish(row,
                    {storage::OutboxResult::Kind::Failed, {}, "the message to edit was never sent", {}},
                    "failed");
    }
    target = **id;
  }
  // Most rows go out exactly as committed; only edits by handle need their message_id filled in.
  std::string params = target || row.message.params_json.empty() || row.message.params_json[0] != '{'
                           ? paramsOf(row, target).dump()
                           : row.message.params_json;
  api->callJson(row.message.method, std::move(params), [this, row](telegram::ApiResponse r) {
    log::TraceScope trace(std::to_string(row.message.update_id));
    using Kind = storage::OutboxResult::Kind;
    if (r.ok) {
      std::optional<int64_t> message_id;
      if (r.result.is_object() && r.result.contains("message_id")) {
        message_id = r.result["message_id"].get<int64_t>();
      }
      return finish(row, {Kind::Sent, message_id, "", {}}, "ok");
    }
    if (r.notModified()) return finish(row, {Kind::Sent, std::nullopt, "", {}}, "not_modified");
    if (r.code == ErrorCode::TelegramRateLimited) {
      const int wait = std::max(1, r.retry_after.value_or(1));
      return finish(row, {Kind::Retry, std::nullopt, r.description, std::chrono::seconds(wait)},
                    "rate_limited");
    }
    const bool transient = r.code == ErrorCode::TelegramServer ||
                           r.code == ErrorCode::HttpTransport ||
                           r.code == ErrorCode::HttpTimeout ||
                           r.code == ErrorCode::TelegramConflict;
    if (transient && row.attempts + 1 < options_.max_attempts) {
      const auto backoff = std::chrono::milliseconds(500LL << std::min(row.attempts, 6));
      return finish(row, {Kind::Retry, std::nullopt, r.description, backoff}, "retry");
    }
    log::get("sender")->warn("{} to chat {} failed: {} {}", row.message.method,
                             row.message.chat_id, r.error_code, r.description);
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
  store_.finishOutbox(row.id, std::move(result), [this, key, id = row.id, kind, retry_at](Result<void> r) {
    if (!r) log::get("sender")->error("outbox update failed: {}", r.error().describe());
    {
      std::lock_guard lock(mutex_);
      busy_lanes_.erase(key);
      auto lane = lanes_.find(key);
      if (r && lane != lanes_.end() && !lane->second.empty() && lane->second.front().id == id) {
        if (kind == storage::OutboxResult::Kind::Retry) {
          lane->second.front().attempts++;
          lane->second.front().next_at_ms = retry_at;
        } else {
          lane->second.pop_front();
          if (lane->second.empty()) lanes_.erase(lane);
        }
      }
      --in_flight_;
      woken_ = true;
      cv_.notify_all();  // under the lock: stop() may destroy us as soon as it sees 0 in flight
    }
  });
}

}  // namespace botfn::sender
