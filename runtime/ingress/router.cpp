// Segment matching for Router.
#include "ingress/router.hpp"

namespace botfn::ingress {
namespace {

// Segments as views into the path: no string copies per request.
std::vector<std::string_view> splitViews(std::string_view path) {
  std::vector<std::string_view> out;
  out.reserve(4);
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

void Router::add(std::string method, std::string pattern, RouteHandler handler) {
  std::vector<std::string> segments;
  for (auto v : splitViews(pattern)) segments.emplace_back(v);
  routes_.push_back(Route{std::move(method), std::move(segments), std::move(handler)});
}

Router::Match Router::find(HttpRequest& request, const RouteHandler** handler) const {
  std::string_view path = request.path;
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  const auto segments = splitViews(path);
  bool path_matched = false;
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::vector<std::string> params;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      if (!route.segments[i].empty() && route.segments[i][0] == ':') {
        params.emplace_back(segments[i]);
      } else {
        ok = route.segments[i] == segments[i];
      }
    }
    if (!ok) continue;
    path_matched = true;
    if (route.method != request.method) continue;
    request.params = std::move(params);
    *handler = &route.handler;
    return Match::Found;
  }
  return path_matched ? Match::WrongMethod : Match::NotFound;
}

}  // namespace botfn::ingress
