// The getUpdates loop.
#include "ingress/long_poller.hpp"

#include <future>

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "telegram/update.hpp"
#include "telegram/update_envelope.hpp"

namespace botfn::ingress {

LongPoller::LongPoller(LongPollerOptions options, telegram::BotApi& api, storage::Inbox& inbox,
                       Metrics& metrics)
    : options_(std::move(options)), api_(api), inbox_(inbox), metrics_(metrics) {}

LongPoller::~LongPoller() { stop(); }

void LongPoller::start() {
  thread_ = std::thread([this] {
    nameThisThread("botfn-poller");
    loop();
  });
}

void LongPoller::stop() {
  stopping_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool LongPoller::sleepFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, d, [&] { return stopping_.load(); });
  return !stopping_;
}

void LongPoller::loop() {
  auto log = log::get("ingress");
  const std::string labels = "bot=\"" + options_.bot + "\"";
  int64_t offset = 0;
  if (auto stored = inbox_.pollOffset(options_.bot); stored && *stored) offset = **stored;
  std::chrono::milliseconds backoff{500};
  while (!stopping_) {
    nlohmann::json params{{"timeout", options_.timeout_s}, {"limit", 100}};
    if (offset) params["offset"] = offset;
    if (!options_.allowed_updates.empty()) params["allowed_updates"] = options_.allowed_updates;
    auto r = api_.callSync("getUpdates", params, std::chrono::seconds(options_.timeout_s + 10));
    if (stopping_) break;
    if (!r.ok) {
      metrics_.counter("botfn_poll_errors_total",
                       labels + ",code=\"" + std::to_string(r.error_code) + "\"")++;
      if (r.error_code == 409 && r.description.find("webhook") != std::string::npos &&
          options_.delete_webhook) {
        log->warn("bot {}: a webhook is set; deleting it to poll", options_.bot);
        api_.callSync("deleteWebhook", nlohmann::json::object());
        continue;
      }
      if (r.code == ErrorCode::TelegramRateLimited && r.retry_after) {
        backoff = std::chrono::seconds(*r.retry_after);
      }
      log->warn("bot {}: getUpdates failed: {} {}", options_.bot, r.error_code, r.description);
      if (!sleepFor(backoff)) break;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
      continue;
    }
    backoff = std::chrono::milliseconds(500);
    if (!r.result().is_array() || r.result().empty()) continue;
    std::vector<storage::InboundUpdate> batch;
    int64_t next = offset;
    for (auto& u : r.result()) {
      auto id = telegram::updateIdOf(u);
      if (!id) continue;
      next = std::max(next, *id + 1);
      std::string body = u.dump();
      // The webhook's reader, for the same kind and lane. One it refuses (nested deeper than 64)
      // is still stored: the worker then marks it processed as unroutable, and the offset moves on.
      auto envelope = telegram::parseEnvelope(body);
      batch.push_back(storage::InboundUpdate{options_.bot, *id, envelope ? envelope->lane : "bot",
                                             envelope ? envelope->kind : "", std::move(body)});
    }
    std::promise<Result<std::vector<storage::PushOutcome>>> done;
    auto future = done.get_future();
    inbox_.push(
        std::move(batch), storage::PollCursor{options_.bot, next},
        [&done](Result<std::vector<storage::PushOutcome>> pr) { done.set_value(std::move(pr)); });
    auto pushed = future.get();
    if (!pushed) {
      // Not durable: keep the old offset so Telegram hands the same batch out again.
      log->error("bot {}: polled batch not stored: {}", options_.bot, pushed.error().describe());
      if (!sleepFor(std::chrono::seconds(1))) break;
      continue;
    }
    metrics_.counter("botfn_poll_updates_total", labels) += r.result().size();
    offset = next;
  }
}

}  // namespace botfn::ingress
