// Webhook delivery: one background thread driving a libcurl multi handle that POSTs queued
// updates to each bot's webhook URL, one update in flight per chat/user key (in order), up to
// max_connections per bot, retrying failures after 1,2,4,8,8... s or the Retry-After header.
// Started by main; woken through ServerContext::wakeDelivery.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store.hpp"

namespace botfn::fake_telegram {

constexpr int kMaxRetryDelaySeconds = 8;

class WebhookDelivery {
 public:
  // onReplyMethod runs for 2xx answers whose body is a JSON object with a "method" field.
  using ReplyMethodFn = std::function<void(const std::string& token, const Json& body)>;

  WebhookDelivery(Store& store, ReplyMethodFn onReplyMethod);
  ~WebhookDelivery();
  WebhookDelivery(const WebhookDelivery&) = delete;
  WebhookDelivery& operator=(const WebhookDelivery&) = delete;

  void start();
  void stop();
  void wake();  // thread-safe

 private:
  struct Transfer;

  void loop();
  // Under the store lock: marks deliverable updates in flight and returns their transfers.
  std::vector<std::unique_ptr<Transfer>> collectJobs(std::chrono::milliseconds& idle);
  void startTransfer(std::unique_ptr<Transfer> transfer);
  void finishTransfer(void* easy, int curlCode);

  Store& store_;
  ReplyMethodFn onReplyMethod_;
  void* multi_ = nullptr;  // CURLM*
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::map<void*, std::unique_ptr<Transfer>> active_;  // keyed by CURL*
};

}  // namespace botfn::fake_telegram
