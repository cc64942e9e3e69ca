// The libcurl multi loop, driven by epoll through curl_multi_socket_action: each event makes
// curl look only at the transfer whose socket is ready (curl_multi_perform walks every transfer
// on every call, which under load cost more than the requests themselves). Requests are queued
// by any thread and picked up by the loop thread, woken through an eventfd; completions run on
// the loop thread.
#include "net/http_client_curl.hpp"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace botfn::net {
namespace {

struct Transfer {
  HttpRequest request;
  std::chrono::steady_clock::time_point queued_at = std::chrono::steady_clock::now();
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
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_ < 0 || wake_fd_ < 0) throw std::runtime_error("http client: epoll/eventfd failed");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_fd_;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_fd_, &ev);
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, options_.max_connections);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlHttpClient::onSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlHttpClient::onTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    loop_ = std::thread([this] {
      nameThisThread("botfn-curl-" + options_.name);
      run();
    });
  }

  ~CurlHttpClient() override {
    stopping_ = true;
    wakeLoop();
    loop_.join();
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
    close(wake_fd_);
    close(epoll_);
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
    if (wake) wakeLoop();
  }

  void abortAll() override {
    abort_.store(true);
    wakeLoop();
  }

  size_t inFlight() const override { return in_flight_.load(); }

 private:
  void start(std::unique_ptr<Transfer> t) {
    if (abort_.load()) {
      finish(std::move(t), fail(ErrorCode::ShuttingDown, "client aborted"));
      return;
    }
    if (std::chrono::steady_clock::now() - t->queued_at >= t->request.timeout) {
      finish(std::move(t), fail(ErrorCode::HttpNotSent, "no free connection within the timeout"));
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
    // The timeout counts from send(): time spent waiting for a free connection is part of it.
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t->queued_at);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::max<int64_t>(1, (r.timeout - waited).count())));
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
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
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
    // Zero until the request is about to be written: a failure before that never reached the
    // server (callers may retry it without counting a try).
    curl_off_t pretransfer_us = 0;
    curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
    release(easy);
    if (code == CURLE_OK) {
      t->response.status = static_cast<int>(status);
      HttpResponse response = std::move(t->response);
      finish(std::move(t), std::move(response));
    } else if (t->too_large) {
      finish(std::move(t), fail(ErrorCode::HttpTooLarge, "response exceeds the size limit"));
    } else if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
               code == CURLE_COULDNT_RESOLVE_PROXY || pretransfer_us == 0) {
      finish(std::move(t), fail(ErrorCode::HttpNotSent, curl_easy_strerror(code)));
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

  void wakeLoop() {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
  }

  // curl tells which sockets to watch for what; epoll watches them.
  static int onSocket(CURL*, curl_socket_t fd, int what, void* self_ptr, void*) {
    auto* self = static_cast<CurlHttpClient*>(self_ptr);
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(self->epoll_, EPOLL_CTL_DEL, fd, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    if (epoll_ctl(self->epoll_, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
      epoll_ctl(self->epoll_, EPOLL_CTL_ADD, fd, &ev);
    }
    return 0;
  }

  // curl's single timeout (connects, transfer timeouts, "start now" after an add).
  static int onTimer(CURLM*, long timeout_ms, void* self_ptr) {
    auto* self = static_cast<CurlHttpClient*>(self_ptr);
    if (timeout_ms < 0) {
      self->timer_.reset();
    } else {
      self->timer_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    }
    return 0;
  }

  void startWaiting() {
    while (!waiting_.empty() && running_.size() < static_cast<size_t>(options_.max_connections)) {
      auto t = std::move(waiting_.front());
      waiting_.pop_front();
      start(std::move(t));
    }
  }

  // Fails the waiting transfers whose timeout ran out before a connection was free. Runs only
  // when the earliest waiting deadline passed, so a long queue is not walked on every event.
  void expireWaiting() {
    const auto now = std::chrono::steady_clock::now();
    if (!waiting_deadline_ || now < *waiting_deadline_) return;
    waiting_deadline_.reset();
    std::deque<std::unique_ptr<Transfer>> keep;
    for (auto& t : waiting_) {
      const auto deadline = t->queued_at + t->request.timeout;
      if (deadline <= now) {
        finish(std::move(t), fail(ErrorCode::HttpNotSent, "no free connection within the timeout"));
      } else {
        if (!waiting_deadline_ || deadline < *waiting_deadline_) waiting_deadline_ = deadline;
        keep.push_back(std::move(t));
      }
    }
    waiting_.swap(keep);
  }

  void completeFinished() {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg == CURLMSG_DONE) complete(msg->easy_handle, msg->data.result);
    }
    startWaiting();  // freed slots: curl's timer callback schedules their start
  }

  void run() {
    epoll_event events[64];
    while (true) {
      std::deque<std::unique_ptr<Transfer>> batch;
      {
        std::lock_guard lock(mutex_);
        batch.swap(incoming_);
        wake_sent_ = false;
      }
      // At most one transfer per allowed connection goes into curl: transfers it has to queue
      // itself are revisited on every socket event and every removal.
      for (auto& t : batch) {
        const auto deadline = t->queued_at + t->request.timeout;
        if (!waiting_deadline_ || deadline < *waiting_deadline_) waiting_deadline_ = deadline;
        waiting_.push_back(std::move(t));
      }
      startWaiting();
      expireWaiting();
      if (abort_.exchange(false)) {
        while (!waiting_.empty()) {
          auto t = std::move(waiting_.front());
          waiting_.pop_front();
          finish(std::move(t), fail(ErrorCode::ShuttingDown, "client aborted"));
        }
        while (!running_.empty()) {
          CURL* easy = running_.begin()->first;
          auto node = running_.extract(easy);
          curl_multi_remove_handle(multi_, easy);
          release(easy);
          finish(std::move(node.mapped()), fail(ErrorCode::ShuttingDown, "client aborted"));
        }
      }
      if (stopping_ && running_.empty() && waiting_.empty()) {
        std::lock_guard lock(mutex_);
        if (incoming_.empty()) break;
      }
      int wait_ms = 1000;
      for (const auto& deadline : {timer_, waiting_deadline_}) {
        if (!deadline) continue;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            *deadline - std::chrono::steady_clock::now());
        wait_ms =
            std::min(wait_ms, static_cast<int>(std::clamp<int64_t>(left.count() + 1, 0, 1000)));
      }
      const int n = epoll_wait(epoll_, events, 64, wait_ms);
      int still = 0;
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == wake_fd_) {
          uint64_t drained = 0;
          [[maybe_unused]] const ssize_t r = read(wake_fd_, &drained, sizeof drained);
          continue;
        }
        const uint32_t e = events[i].events;
        const int mask = ((e & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                         ((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                         ((e & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(multi_, fd, mask, &still);
      }
      if (timer_ && *timer_ <= std::chrono::steady_clock::now()) {
        timer_.reset();  // curl sets a new one from inside the call if it needs one
        curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &still);
      }
      completeFinished();
      expireWaiting();
    }
  }

  CurlOptions options_;
  int epoll_ = -1;
  int wake_fd_ = -1;
  std::optional<std::chrono::steady_clock::time_point> timer_;  // loop thread only
  CURLM* multi_ = nullptr;
  std::thread loop_;
  std::mutex mutex_;
  std::deque<std::unique_ptr<Transfer>> incoming_;
  bool wake_sent_ = false;  // under mutex_: a wake-up is on its way to the loop
  static constexpr size_t kIdleHandles = 256;
  std::vector<CURL*> idle_;                        // loop thread only
  std::deque<std::unique_ptr<Transfer>> waiting_;  // loop thread only: beyond max_connections
  std::optional<std::chrono::steady_clock::time_point> waiting_deadline_;  // earliest in waiting_
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
