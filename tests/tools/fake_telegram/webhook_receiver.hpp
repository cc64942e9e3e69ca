// A tiny HTTP server for webhook tests: a plain-socket thread on 127.0.0.1:0 that records every
// request and answers with scripted status codes (default 200), one connection at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace botfn::fake_telegram::testing {

class WebhookReceiver {
 public:
  struct Request {
    std::string method;
    std::string path;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::chrono::steady_clock::time_point at;
  };
  struct Answer {
    int status = 200;
    int retryAfter = -1;  // adds a Retry-After header when >= 0
    std::string body;
  };

  WebhookReceiver();
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/hook") const;
  // Answers used for the next requests, in order; afterwards 200.
  void script(std::deque<Answer> answers);
  std::vector<Request> requests();
  bool waitForRequests(size_t count, std::chrono::milliseconds timeout);

 private:
  void loop();
  void serve(int fd);

  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::deque<Answer> answers_;
  std::vector<Request> requests_;
  std::thread thread_;
};

}  // namespace botfn::fake_telegram::testing
