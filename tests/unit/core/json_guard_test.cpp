// Depth scanning and guarded parsing of untrusted JSON.
#include "core/json_guard.hpp"

#include <gtest/gtest.h>

namespace botfn {
namespace {

TEST(JsonGuardTest, CountsDepthOutsideStrings) {
  EXPECT_EQ(jsonDepth(R"({"a":[{"b":1}]})"), 3);
  EXPECT_EQ(jsonDepth(R"({"a":"[[[[{{{{"})"), 1);
  EXPECT_EQ(jsonDepth(R"({"a":"\"[[["})"), 1);
}

TEST(JsonGuardTest, RejectsHundredThousandDeepArrays) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(parseJsonGuarded(deep).error().code, ErrorCode::TooDeep);
}

TEST(JsonGuardTest, AcceptsSixtyFourLevels) {
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(parseJsonGuarded(ok).has_value());
  const std::string over = std::string(65, '[') + std::string(65, ']');
  EXPECT_FALSE(parseJsonGuarded(over).has_value());
}

TEST(JsonGuardTest, BadJson) {
  EXPECT_EQ(parseJsonGuarded("{\"update_id\":").error().code, ErrorCode::BadJson);
  EXPECT_EQ(parseJsonGuarded("").error().code, ErrorCode::BadJson);
}

}  // namespace
}  // namespace botfn
