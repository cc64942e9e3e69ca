#include "core/http_wire.hpp"

namespace botfn {

std::string serializeResponse(const WireResponse& r) {
  std::string out;
  out.reserve(160 + r.body.size());
  out += r.version;
  out += ' ';
  out += std::to_string(r.status);
  out += ' ';
  out += r.reason;
  out += r.close ? "\r\nConnection: Close" : "\r\nConnection: Keep-Alive";
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  if (r.headers) {
    for (const auto& [name, value] : *r.headers) {
      out += "\r\n";
      out += name;
      out += ": ";
      out += value;
    }
  }
  out += "\r\n\r\n";
  out += r.body;
  return out;
}

}  // namespace botfn
