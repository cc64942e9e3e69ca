// One HTTP/1.x response as bytes on the wire. Both HTTP servers (botfn's ingress and the fake
// Bot API) write answers through this instead of Pistache's ResponseWriter, which builds header
// objects and an ostream per answer, drops untyped headers and pre-sets "Connection: Close".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace botfn {

struct WireResponse {
  std::string_view version = "HTTP/1.1";
  int status = 200;
  std::string_view reason = "OK";
  bool close = false;  // "Connection: Close", else "Keep-Alive"
  std::string_view content_type = "application/json";
  const std::vector<std::pair<std::string, std::string>>* headers = nullptr;  // extra ones
  std::string_view body;
};

std::string serializeResponse(const WireResponse& r);

}  // namespace botfn
