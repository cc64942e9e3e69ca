// libcurl multi implementation of HttpClient: one event-loop thread per client, keep-alive
// connection reuse, NOSIGNAL, http/https only, no redirects, capped response size.
// curl_global_init must run before any thread starts (app/ does it in main).
#pragma once

#include <memory>

#include "net/http_client.hpp"

namespace botfn::net {

struct CurlOptions {
  std::string name = "http";  // names the loop thread in logs
  long max_connections = 64;
};

std::unique_ptr<HttpClient> makeCurlHttpClient(CurlOptions options = {});
void globalInitCurl();  // call once in main() before threads start

}  // namespace botfn::net
