// Implementation of webhook_receiver.hpp with blocking sockets and poll(): parses one HTTP
// request per connection, records it, answers with the next scripted status and closes.
#include "webhook_receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "test_support.hpp"

namespace botfn::fake_telegram::testing {

WebhookReceiver::WebhookReceiver() {
  listenFd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  listen(listenFd_, 16);
  socklen_t len = sizeof(addr);
  getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { loop(); });
}

WebhookReceiver::~WebhookReceiver() {
  stopping_ = true;
  thread_.join();
  close(listenFd_);
}

std::string WebhookReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void WebhookReceiver::script(std::deque<Answer> answers) {
  std::lock_guard lock(mutex_);
  answers_ = std::move(answers);
}

std::vector<WebhookReceiver::Request> WebhookReceiver::requests() {
  std::lock_guard lock(mutex_);
  return requests_;
}

bool WebhookReceiver::waitForRequests(size_t count, std::chrono::milliseconds timeout) {
  return waitUntil([&] { return requests().size() >= count; }, timeout);
}

void WebhookReceiver::loop() {
  while (!stopping_) {
    pollfd pfd{listenFd_, POLLIN, 0};
    if (poll(&pfd, 1, 50) <= 0) continue;
    int fd = accept(listenFd_, nullptr, nullptr);
    if (fd >= 0) {
      serve(fd);
      close(fd);
    }
  }
}

void WebhookReceiver::serve(int fd) {
  std::string data;
  char buf[4096];
  size_t headerEnd = std::string::npos;
  size_t contentLength = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (headerEnd != std::string::npos && data.size() >= headerEnd + 4 + contentLength) break;
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, 50) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return;
    data.append(buf, static_cast<size_t>(n));
    if (headerEnd == std::string::npos &&
        (headerEnd = data.find("\r\n\r\n")) != std::string::npos) {
      std::string lower = data.substr(0, headerEnd);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t cl = lower.find("content-length:");
      if (cl != std::string::npos)
        contentLength = std::strtoul(lower.c_str() + cl + 15, nullptr, 10);
    }
  }
  if (headerEnd == std::string::npos) return;

  Request request;
  request.at = std::chrono::steady_clock::now();
  std::string head = data.substr(0, headerEnd);
  size_t lineEnd = head.find("\r\n");
  std::string requestLine = head.substr(0, lineEnd);
  request.method = requestLine.substr(0, requestLine.find(' '));
  size_t pathStart = requestLine.find(' ') + 1;
  request.path = requestLine.substr(pathStart, requestLine.find(' ', pathStart) - pathStart);
  size_t pos = lineEnd == std::string::npos ? head.size() : lineEnd + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    addHeaderLine(std::string_view(head).substr(pos, end - pos), request.headers);
    pos = end + 2;
  }
  request.body = data.substr(headerEnd + 4, contentLength);

  Answer answer;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    if (!answers_.empty()) {
      answer = answers_.front();
      answers_.pop_front();
    }
  }
  std::string response = "HTTP/1.1 " + std::to_string(answer.status) + " Scripted\r\n" +
                         "Content-Length: " + std::to_string(answer.body.size()) + "\r\n" +
                         "Content-Type: application/json\r\nConnection: close\r\n";
  if (answer.retryAfter >= 0)
    response += "Retry-After: " + std::to_string(answer.retryAfter) + "\r\n";
  response += "\r\n" + answer.body;
  (void)!write(fd, response.data(), response.size());
}

}  // namespace botfn::fake_telegram::testing
