// Outbound HTTP behind one interface: the Bot API client (telegram/), the Lua http module and the
// polling loop use HttpClient; only http_client_curl.cpp knows libcurl. Swapping the library
// touches this folder only.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace botfn::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};
  size_t max_response_bytes = 1 << 20;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  Headers headers;  // names lowercased

  const std::string* header(std::string_view name) const;
};

using HttpCallback = std::function<void(Result<HttpResponse>)>;

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Starts the request; done runs exactly once, on the client's own thread.
  // Errors: HttpNotSent (the request never left: no free connection within the timeout, or the
  // connection could not be made), HttpTransport, HttpTimeout (after the request was sent, or
  // while it was being sent), HttpTooLarge, ShuttingDown (after abortAll()).
  virtual void send(HttpRequest request, HttpCallback done) = 0;
  // Fails every in-flight request at once with ShuttingDown (interrupts pending long polls).
  virtual void abortAll() = 0;
  // Number of requests started and not yet completed.
  virtual size_t inFlight() const = 0;

  // Blocking helper for start-up commands and tests; never call it from the client's own thread.
  Result<HttpResponse> sendSync(HttpRequest request);
};

}  // namespace botfn::net
