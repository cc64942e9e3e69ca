// HTTP front end on Pistache: binds the loopback port, turns each request into parsed params and
// a thread-safe Responder, and routes /bot<TOKEN>/<method> to BotApi and /control/... to
// ControlApi. Used by main.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace Pistache::Http {
class Endpoint;
}

namespace botfn::fake_telegram {

class BotApi;
class ControlApi;

constexpr size_t kMaxRequestBytes = 4 << 20;  // Pistache default is 4 KiB; Telegram allows more

class HttpServer {
 public:
  HttpServer(BotApi& botApi, ControlApi& controlApi);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (0 = any free port) and serves on worker threads; returns the bound port.
  // Throws std::runtime_error when binding fails.
  uint16_t start(const std::string& host, uint16_t port, int threads);
  void stop();

 private:
  BotApi& botApi_;
  ControlApi& controlApi_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
};

}  // namespace botfn::fake_telegram
