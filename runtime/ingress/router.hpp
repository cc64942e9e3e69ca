// Path routing for the HTTP functions: "/tg/:bot/webhook" style patterns, exact segments and
// single-segment parameters. functions/registry.cpp fills it; the server consults it per request.
#pragma once

#include <string>
#include <vector>

#include "ingress/http_types.hpp"

namespace botfn::ingress {

class Router {
 public:
  void add(std::string method, std::string pattern, RouteHandler handler);
  // Finds the handler; fills request.params. 404/405 are answered by the server.
  enum class Match { Found, NotFound, WrongMethod };
  Match find(HttpRequest& request, const RouteHandler** handler) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // ":x" marks a parameter
    RouteHandler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace botfn::ingress
