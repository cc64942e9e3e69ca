// The HTTP server (the only place with Pistache): request limits, a cap on open connections,
// keep-alive, oversized-body rejection that closes the connection, and dispatch to the Router.
// Used by app/.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/metrics.hpp"
#include "ingress/router.hpp"

namespace botfn::ingress {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = any free port
  int threads = 2;
  size_t max_body_bytes = 1 << 20;
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds body_timeout{10};
  // Open connections at most: one more is answered 503 and closed at once, so a flood of
  // connections cannot use up the process's file descriptors.
  size_t max_connections = 512;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, std::shared_ptr<const Router> router, Metrics& metrics);
  ~HttpServer();
  void start();           // binds and serves in background threads
  uint16_t port() const;  // the bound port
  void shutdown();        // stops accepting and serving

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace botfn::ingress
