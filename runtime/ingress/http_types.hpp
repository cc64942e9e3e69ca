// The HTTP vocabulary functions/ sees: a request snapshot and a Responder that may answer from
// any thread, once. Pistache stays behind these types (only ingress/ includes it).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace botfn::ingress {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::vector<std::string> params;                           // values of :name segments, in order
  // The server's own header store, searched in place (no per-request copies of every header);
  // valid only while the route handler runs.
  const void* native = nullptr;
  std::optional<std::string> (*native_lookup)(const void* native,
                                              std::string_view lowercase_name) = nullptr;

  std::optional<std::string> header(std::string_view lowercase_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // answer Connection: close and close the connection
};

// Answers one request. Copyable handle; the first send() wins, later ones are ignored.
class Responder {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void send(HttpResponse response) = 0;
  };
  explicit Responder(std::shared_ptr<Sink> sink) : sink_(std::move(sink)) {}
  void send(HttpResponse response) const;
  void send(int status, std::string body, std::string content_type = "application/json") const;

 private:
  std::shared_ptr<Sink> sink_;
};

using RouteHandler = std::function<void(HttpRequest&, Responder)>;

}  // namespace botfn::ingress
