// Test helpers for the fake-telegram tests: a libcurl HTTP client, a handle that runs the real
// fake-telegram binary on port 0 (reading its port file), and deadline-based waiting.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace botfn::fake_telegram::testing {

using Json = nlohmann::json;

struct HttpResponse {
  long status = 0;  // 0 when the request failed at the transport level
  std::string error;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  Json json() const;
};

HttpResponse httpRequest(const std::string& method, const std::string& url,
                         const std::string& body = "", const std::string& contentType = "",
                         long timeoutMs = 15000);
std::string urlEncode(const std::string& text);

// "Name: value\r\n" → headers[lower-case name] = value (trimmed); other lines are ignored.
void addHeaderLine(std::string_view line, std::map<std::string, std::string>& headers);

// Polls pred every 10 ms until it is true or the deadline passes.
bool waitUntil(const std::function<bool()>& pred,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

constexpr const char* kToken = "123456:ABC-def";

class FakeTelegram {
 public:
  // Starts fake-telegram with --port 0 --port-file ... --token kToken plus extraArgs.
  explicit FakeTelegram(std::vector<std::string> extraArgs = {});
  ~FakeTelegram();
  FakeTelegram(const FakeTelegram&) = delete;
  FakeTelegram& operator=(const FakeTelegram&) = delete;

  bool started() const { return port_ != 0; }
  int port() const { return port_; }
  std::string url(const std::string& path) const;
  std::string stdoutText() const;
  std::string stderrText() const;
  // Sends SIGTERM and returns the exit status (-1 if it did not exit in time or was killed by a
  // signal). Later calls return the same value.
  int terminate();

  // POST JSON to /bot<token>/<method>.
  HttpResponse api(const std::string& method, const Json& params = Json::object(),
                   const std::string& token = kToken) const;
  HttpResponse controlPost(const std::string& path, const Json& body) const;
  HttpResponse controlGet(const std::string& pathAndQuery, long timeoutMs = 15000) const;
  // Injects a user message; returns the control answer.
  Json userSays(int64_t userId, const std::string& text) const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exitCode_ = -1;
};

}  // namespace botfn::fake_telegram::testing
