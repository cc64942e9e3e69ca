// Long polling: getUpdates in a loop for one bot, each batch enqueued together with the next
// offset in one durable push before the next call (the bus's dedupe window absorbs repeats).
// A 409 because a webhook is set triggers deleteWebhook (polling.delete_webhook); a 409 from
// another poller is logged and backed off. Feeds the same Bus as the webhook function.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "core/metrics.hpp"
#include "storage/inbox.hpp"
#include "telegram/bot_api.hpp"

namespace botfn::ingress {

struct LongPollerOptions {
  std::string bot;
  std::string username;
  int timeout_s = 30;
  bool delete_webhook = true;
  std::vector<std::string> allowed_updates;
};

class LongPoller {
 public:
  LongPoller(LongPollerOptions options, telegram::BotApi& api, storage::Inbox& inbox,
             Metrics& metrics);
  ~LongPoller();
  void start();
  void stop();  // returns once the loop ended; the caller aborts the pending HTTP call first

 private:
  void loop();
  bool sleepFor(std::chrono::milliseconds d);  // false when stopping

  LongPollerOptions options_;
  telegram::BotApi& api_;
  storage::Inbox& inbox_;
  Metrics& metrics_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace botfn::ingress
