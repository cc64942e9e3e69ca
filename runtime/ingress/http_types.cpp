// Request helpers and the Responder front end.
#include "ingress/http_types.hpp"

namespace botfn::ingress {

std::optional<std::string> HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return native_lookup ? native_lookup(native, name) : std::nullopt;
}

void Responder::send(HttpResponse response) const { sink_->send(std::move(response)); }

void Responder::send(int status, std::string body, std::string content_type) const {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  sink_->send(std::move(r));
}

}  // namespace botfn::ingress
