// The libcurl multi loop. Requests are queued by any thread and picked up by the loop thread,
// woken with curl_multi_wakeup; completions run on the loop thread.
#include "net/http_client_curl.hpp"

#include <curl/curl.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace botfn::net {
namespace {

struct Transfer {
  HttpRequest request;
  HttpCallback done;
  HttpResponse response;
  curl_slist* header_list = nullptr;
  bool too_large = false;
};

size_t onBody(char* data, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  const size_t len = size * n;
  if (t->response.body.size() + len > t->request.max_response_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, len);
  return len;
}

size_t onHeader(char* data, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  const size_t len = size * n;
  std::string_view line(data, len);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response (e.g. after 100-continue)
    return len;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string name(line.substr(0, colon));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  t->response.headers.emplace_back(std::move(name), std::string(value));
  return len;
}

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(CurlOptions options) : options_(std::move(options)) {
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, options_.max_connections);
    loop_ = std::thread([this] {
      nameThisThread("botfn-curl-" + options_.name);
      run();
    });
  }

  ~CurlHttpClient() override {
    stopping_ = true;
    curl_multi_wakeup(multi_);
    loop_.join();
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
  }

  void send(HttpRequest request, HttpCallback done) override {
    auto t = std::make_unique<Transfer>();
    t->request = std::move(request);
    t->done = std::move(done);
    in_flight_.fetch_add(1);
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      incoming_.push_back(std::move(t));
      wake = !wake_sent_;  // one wake-up per batch the loop picks up, not one per request
      wake_sent_ = true;
    }
    if (wake) curl_multi_wakeup(multi_);
  }

  void abortAll() override {
    abort_.store(true);
    curl_multi_wakeup(multi_);
  }

  size_t inFlight() const override { return in_flight_.load(); }

 private:
  void start(std::unique_ptr<Transfer> t) {
    if (abort_.load()) {
      finish(std::move(t), fail(ErrorCode::ShuttingDown, "client aborted"));
      return;
    }
    // Easy handles are reused: each one allocates ~40 KB of buffers on first use.
    CURL* easy = nullptr;
    if (!idle_.empty()) {
      easy = idle_.back();
      idle_.pop_back();
    } else {
      easy = curl_easy_init();
    }
    const auto& r = t->request;
    curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
    if (r.method == "POST") {
      curl_easy_setopt(easy, CURLOPT_POST, 1L);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
    } else if (r.method != "GET") {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
      if (!r.body.empty()) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(r.body.size()));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
      }
    }
    t->header_list = curl_slist_append(t->header_list, "Expect:");  // no 100-continue round trip
    for (const auto& [k, v] : r.headers) {
      t->header_list = curl_slist_append(t->header_list, (k + ": " + v).c_str());
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->header_list);
    curl_multi_add_handle(multi_, easy);
    running_.emplace(easy, std::move(t));
  }

  void finish(std::unique_ptr<Transfer> t, Result<HttpResponse> result) {
    if (t->header_list) curl_slist_free_all(t->header_list);
    auto done = std::move(t->done);
    t.reset();
    try {
      done(std::move(result));
    } catch (const std::exception& e) {
      log::get("net")->error("http callback threw: {}", e.what());
    }
    in_flight_.fetch_sub(1);
  }

  void complete(CURL* easy, CURLcode code) {
    auto node = running_.extract(easy);
    curl_multi_remove_handle(multi_, easy);
    auto t = std::move(node.mapped());
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    release(easy);
    if (code == CURLE_OK) {
      t->response.status = static_cast<int>(status);
      HttpResponse response = std::move(t->response);
      finish(std::move(t), std::move(response));
    } else if (t->too_large) {
      finish(std::move(t), fail(ErrorCode::HttpTooLarge, "response exceeds the size limit"));
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
      finish(std::move(t), fail(ErrorCode::HttpTimeout, curl_easy_strerror(code)));
    } else {
      // Never include the URL: Bot API URLs carry the token.
      finish(std::move(t), fail(ErrorCode::HttpTransport, curl_easy_strerror(code)));
    }
  }

  void release(CURL* easy) {
    if (idle_.size() < kIdleHandles) {
      curl_easy_reset(easy);
      idle_.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }

  void run() {
    while (true) {
      std::deque<std::unique_ptr<Transfer>> batch;
      {
        std::lock_guard lock(mutex_);
        batch.swap(incoming_);
        wake_sent_ = false;
      }
      for (auto& t : batch) start(std::move(t));
      if (abort_.exchange(false)) {
        while (!running_.empty()) {
          CURL* easy = running_.begin()->first;
          auto node = running_.extract(easy);
          curl_multi_remove_handle(multi_, easy);
          release(easy);
          finish(std::move(node.mapped()), fail(ErrorCode::ShuttingDown, "client aborted"));
        }
      }
      if (stopping_ && running_.empty()) {
        std::lock_guard lock(mutex_);
        if (incoming_.empty()) break;
      }
      int still = 0;
      curl_multi_perform(multi_, &still);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg == CURLMSG_DONE) complete(msg->easy_handle, msg->data.result);
      }
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
  }

  CurlOptions options_;
  CURLM* multi_ = nullptr;
  std::thread loop_;
  std::mutex mutex_;
  std::deque<std::unique_ptr<Transfer>> incoming_;
  bool wake_sent_ = false;  // under mutex_: a wake-up is on its way to the loop
  static constexpr size_t kIdleHandles = 256;
  std::vector<CURL*> idle_;  // loop thread only
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> running_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> abort_{false};
  std::atomic<size_t> in_flight_{0};
};

}  // namespace

std::unique_ptr<HttpClient> makeCurlHttpClient(CurlOptions options) {
  return std::make_unique<CurlHttpClient>(std::move(options));
}

void globalInitCurl() { curl_global_init(CURL_GLOBAL_ALL); }

}  // namespace botfn::net
