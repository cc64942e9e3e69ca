// $N → ?N rewriting (SQLite numbers "$N" by first appearance, so it must be rewritten).
#include <gtest/gtest.h>

#include "storage/sqlite/sqlite_db.hpp"

namespace botfn::storage::sqlite {
namespace {

TEST(SqliteParamsTest, RewritesOutsideQuotesAndComments) {
  EXPECT_EQ(rewriteParams("SELECT $2, $1"), "SELECT ?2, ?1");
  EXPECT_EQ(rewriteParams("SELECT '$1', \"$2\" -- $3\n, $4"), "SELECT '$1', \"$2\" -- $3\n, ?4");
  EXPECT_EQ(rewriteParams("SELECT 'it''s $1', $1"), "SELECT 'it''s $1', ?1");
  EXPECT_EQ(rewriteParams("SELECT $x"), "SELECT $x");
}

}  // namespace
}  // namespace botfn::storage::sqlite
