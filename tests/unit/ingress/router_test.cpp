// Path routing.
#include "ingress/router.hpp"

#include <gtest/gtest.h>

namespace botfn::ingress {
namespace {

TEST(RouterTest, MatchesParametersAndMethods) {
  Router router;
  int hit = 0;
  router.add("POST", "/tg/:bot/webhook", [&](HttpRequest&, Responder) { hit = 1; });
  router.add("GET", "/healthz", [&](HttpRequest&, Responder) { hit = 2; });
  HttpRequest req{"POST", "/tg/demo/webhook", "", {}, {}};
  const RouteHandler* h = nullptr;
  ASSERT_EQ(router.find(req, &h), Router::Match::Found);
  ASSERT_EQ(req.params.size(), 1u);
  EXPECT_EQ(req.params[0], "demo");
  HttpRequest get{"GET", "/tg/demo/webhook", "", {}, {}};
  EXPECT_EQ(router.find(get, &h), Router::Match::WrongMethod);
  HttpRequest none{"GET", "/nope", "", {}, {}};
  EXPECT_EQ(router.find(none, &h), Router::Match::NotFound);
  HttpRequest query{"GET", "/healthz?x=1", "", {}, {}};
  EXPECT_EQ(router.find(query, &h), Router::Match::Found);
}

}  // namespace
}  // namespace botfn::ingress
