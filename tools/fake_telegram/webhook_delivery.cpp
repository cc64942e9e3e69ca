// Implementation of webhook_delivery.hpp on top of the libcurl multi interface: job selection
// under the store lock, transfers, and bookkeeping of attempts, stats and retry times.
#include "webhook_delivery.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <set>

#include "text_utils.hpp"

namespace botfn::fake_telegram {
namespace {

constexpr size_t kMaxAttemptRecords = 5000;
constexpr long kRequestTimeoutMs = 60000;
constexpr auto kMaxIdle = std::chrono::milliseconds(500);

size_t collectBody(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() < 1 << 20) out->append(data, size * count);
  return size * count;
}

size_t collectHeader(char* data, size_t size, size_t count, void* user) {
  std::string line(data, size * count);
  std::string lower = toLower(line);
  if (lower.rfind("retry-after:", 0) == 0) {
    if (auto v = parseInt64(line.substr(12, line.find_first_of("\r\n") - 12))) {
      *static_cast<int*>(user) = static_cast<int>(std::clamp<int64_t>(*v, 0, 3600));
    }
  }
  return size * count;
}

std::string statusText(int status, int curlCode) {
  if (status == 0) {
    if (curlCode == CURLE_COULDNT_CONNECT) return "Connection refused";
    if (curlCode == CURLE_OPERATION_TIMEDOUT) return "Timeout expired";
    return curl_easy_strerror(static_cast<CURLcode>(curlCode));
  }
  return "Wrong response from the webhook: " + std::to_string(status);
}

}  // namespace

struct WebhookDelivery::Transfer {
  std::string token;
  int64_t updateId = 0;
  std::string url;
  std::string body;
  std::string responseBody;
  int retryAfter = -1;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  ~Transfer() {
    if (headers != nullptr) curl_slist_free_all(headers);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

WebhookDelivery::WebhookDelivery(Store& store, ReplyMethodFn onReplyMethod)
    : store_(store), onReplyMethod_(std::move(onReplyMethod)) {
  multi_ = curl_multi_init();
}

WebhookDelivery::~WebhookDelivery() {
  stop();
  for (auto& [easy, transfer] : active_) curl_multi_remove_handle(multi_, easy);
  active_.clear();
  curl_multi_cleanup(multi_);
}

void WebhookDelivery::start() {
  thread_ = std::thread([this] { loop(); });
}

void WebhookDelivery::stop() {
  stopping_ = true;
  wake();
  if (thread_.joinable()) thread_.join();
}

void WebhookDelivery::wake() { curl_multi_wakeup(multi_); }

std::vector<std::unique_ptr<WebhookDelivery::Transfer>> WebhookDelivery::collectJobs(
    std::chrono::milliseconds& idle) {
  std::vector<std::unique_ptr<Transfer>> jobs;
  auto now = std::chrono::steady_clock::now();
  auto nextDue = now + kMaxIdle;
  auto lock = store_.lock();
  for (BotState* bot : store_.bots()) {
    if (bot->webhook.url.empty()) continue;
    int inFlight =
        static_cast<int>(std::count_if(bot->updates.begin(), bot->updates.end(),
                                       [](const QueuedUpdate& u) { return u.inFlight; }));
    std::set<std::string> busyKeys;  // an earlier update of this key is not acknowledged yet
    for (QueuedUpdate& u : bot->updates) {
      if (busyKeys.count(u.orderKey) != 0) continue;
      busyKeys.insert(u.orderKey);
      if (u.inFlight) continue;
      if (u.nextAttempt > now) {
        nextDue = std::min(nextDue, u.nextAttempt);
        continue;
      }
      if (inFlight >= bot->webhook.maxConnections) break;
      ++inFlight;
      u.inFlight = true;
      auto job = std::make_unique<Transfer>();
      job->token = bot->token;
      job->updateId = u.updateId;
      job->url = bot->webhook.url;
      job->body = u.update.dump();
      if (!bot->webhook.secret.empty()) {
        job->headers = curl_slist_append(
            job->headers, ("X-Telegram-Bot-Api-Secret-Token: " + bot->webhook.secret).c_str());
      }
      jobs.push_back(std::move(job));
    }
  }
  idle = std::chrono::duration_cast<std::chrono::milliseconds>(nextDue - now);
  return jobs;
}

void WebhookDelivery::startTransfer(std::unique_ptr<Transfer> t) {
  t->easy = curl_easy_init();
  t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
  t->headers = curl_slist_append(t->headers, "Expect:");
  curl_easy_setopt(t->easy, CURLOPT_URL, t->url.c_str());
  curl_easy_setopt(t->easy, CURLOPT_POST, 1L);
  curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body.c_str());
  curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(t->body.size()));
  curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, kRequestTimeoutMs);
  curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, collectBody);
  curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, &t->responseBody);
  curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, collectHeader);
  curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, &t->retryAfter);
  curl_multi_add_handle(multi_, t->easy);
  void* key = t->easy;
  active_[key] = std::move(t);
}

void WebhookDelivery::finishTransfer(void* easy, int curlCode) {
  auto it = active_.find(easy);
  if (it == active_.end()) return;
  std::unique_ptr<Transfer> t = std::move(it->second);
  active_.erase(it);
  curl_multi_remove_handle(multi_, easy);
  long status = 0;
  if (curlCode == CURLE_OK) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  bool success = status >= 200 && status < 300;
  {
    auto lock = store_.lock();
    BotState* bot = store_.findBot(t->token);
    if (bot == nullptr) return;
    WebhookState& hook = bot->webhook;
    auto queued = std::find_if(bot->updates.begin(), bot->updates.end(),
                               [&](const QueuedUpdate& u) { return u.updateId == t->updateId; });
    int attempt = queued != bot->updates.end() ? ++queued->attempts : 1;
    hook.lastStatus = static_cast<int>(status);
    DeliveryAttempt record{t->updateId, attempt, static_cast<int>(status),
                           success ? "" : statusText(static_cast<int>(status), curlCode),
                           unixTimeNow()};
    hook.attempts.push_back(record);
    if (hook.attempts.size() > kMaxAttemptRecords) hook.attempts.erase(hook.attempts.begin());
    if (success) {
      ++hook.delivered;
      if (queued != bot->updates.end()) bot->updates.erase(queued);
    } else {
      ++hook.failed;
      hook.lastErrorDate = unixSecondsNow();
      hook.lastErrorMessage = record.error;
      if (queued != bot->updates.end()) {
        queued->inFlight = false;
        int delay = t->retryAfter >= 0
                        ? t->retryAfter
                        : std::min(kMaxRetryDelaySeconds, 1 << std::min(attempt - 1, 4));
        queued->nextAttempt = std::chrono::steady_clock::now() + std::chrono::seconds(delay);
      }
    }
  }
  if (success && onReplyMethod_ && !t->responseBody.empty()) {
    Json body = Json::parse(t->responseBody, nullptr, false);
    if (!body.is_discarded() && body.is_object() && body.contains("method")) {
      onReplyMethod_(t->token, body);
    }
  }
}

void WebhookDelivery::loop() {
  while (!stopping_) {
    std::chrono::milliseconds idle{0};
    for (auto& job : collectJobs(idle)) startTransfer(std::move(job));
    int running = 0;
    curl_multi_perform(multi_, &running);
    int timeoutMs = static_cast<int>(std::clamp<int64_t>(idle.count(), 1, kMaxIdle.count()));
    curl_multi_poll(multi_, nullptr, 0, timeoutMs, nullptr);
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg == CURLMSG_DONE) finishTransfer(msg->easy_handle, msg->data.result);
    }
  }
}

}  // namespace botfn::fake_telegram
