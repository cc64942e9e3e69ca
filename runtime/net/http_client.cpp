// Shared helpers of the HttpClient interface.
#include "net/http_client.hpp"

#include <algorithm>
#include <future>

namespace botfn::net {

const std::string* HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(a) == std::tolower(b);
        })) {
      return &v;
    }
  }
  return nullptr;
}

Result<HttpResponse> HttpClient::sendSync(HttpRequest request) {
  auto promise = std::make_shared<std::promise<Result<HttpResponse>>>();
  auto future = promise->get_future();
  send(std::move(request), [promise](Result<HttpResponse> r) { promise->set_value(std::move(r)); });
  return future.get();
}

}  // namespace botfn::net
