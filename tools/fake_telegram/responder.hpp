// HTTP reply values, the Responder interface (one pending HTTP answer that may be completed from
// any thread) and Outbox (replies collected under the store lock, sent after it is released).
// Used by bot_api, control_api, store and http_server.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "request_params.hpp"

namespace botfn::fake_telegram {

class Scheduler;

struct HttpReply {
  int status = 200;
  std::string body;
  std::string contentType = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  bool dropConnection = false;  // close the socket without answering
};

class Responder {
 public:
  virtual ~Responder() = default;
  // Sends the reply; only the first call has an effect. Safe from any thread.
  virtual void send(HttpReply reply) = 0;
};
using ResponderPtr = std::shared_ptr<Responder>;

// {"ok":true,"result":...[,"description":...]}
HttpReply apiOk(const Json& result, const std::string& description = "");
// {"ok":false,"error_code":N,"description":...[,"parameters":{"retry_after":N}]}; 429 also gets a
// Retry-After header.
HttpReply apiError(int code, const std::string& description, int retryAfter = 0);
// Control API answers: {"ok":true,...fields} / {"ok":false,"description":...}.
HttpReply controlOk(const Json& fields = Json::object());
HttpReply controlError(int status, const std::string& description);

class Outbox {
 public:
  void reply(ResponderPtr responder, HttpReply reply,
             std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  void wakeDelivery() { wakeDelivery_ = true; }
  // Sends immediate replies now, delayed ones via the scheduler, then calls wake if requested.
  void flush(Scheduler& scheduler, const std::function<void()>& wake);

 private:
  struct Pending {
    ResponderPtr responder;
    HttpReply reply;
    std::chrono::milliseconds delay;
  };
  std::vector<Pending> pending_;
  bool wakeDelivery_ = false;
};

}  // namespace botfn::fake_telegram
