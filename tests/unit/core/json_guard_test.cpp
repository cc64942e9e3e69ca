// Depth scanning of untrusted JSON.
#include "core/json_guard.hpp"

#include <gtest/gtest.h>

namespace botfn {
namespace {

TEST(JsonGuardTest, CountsDepthOutsideStrings) {
  EXPECT_EQ(jsonDepth(R"({"a":[{"b":1}]})"), 3);
  EXPECT_EQ(jsonDepth(R"({"a":"[[[[{{{{"})"), 1);
  EXPECT_EQ(jsonDepth(R"({"a":"\"[[["})"), 1);
}

TEST(JsonGuardTest, StopsEarlyPastTheLimit) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(jsonDepth(deep, 64), 65);
  EXPECT_EQ(jsonDepth(std::string(64, '[') + std::string(64, ']')), 64);
}

}  // namespace
}  // namespace botfn
