// The webhook secret comparison.
#include <gtest/gtest.h>

#include "functions/function_context.hpp"

namespace botfn::functions {
namespace {

TEST(SecretTest, MatchesOnlyTheExactSecret) {
  const std::string secret = "s3cr3t_Token-1";
  const std::string same = secret, other = "s3cr3t_Token-2", shorter = "s3cr3t";
  EXPECT_TRUE(secretMatches(secret, &same));
  EXPECT_FALSE(secretMatches(secret, &other));
  EXPECT_FALSE(secretMatches(secret, &shorter));
  EXPECT_FALSE(secretMatches(secret, nullptr));
}

TEST(SecretTest, NoSecretConfiguredAcceptsAnything) { EXPECT_TRUE(secretMatches("", nullptr)); }

}  // namespace
}  // namespace botfn::functions
