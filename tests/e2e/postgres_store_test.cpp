// The demo bot end to end with its Store on PostgreSQL (DATABASE_URL) and the fake Bot API: the
// registration flow lands in PostgreSQL's app schema, nothing in the embedded file; and a
// PostgreSQL restart in the middle of a conversation delays the reply without losing it.
#include <gtest/gtest.h>
#include <unistd.h>

#include "stack.hpp"
#include "test_servers.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

bool waitText(Stack& s, int64_t chat, size_t i, const std::string& needle) {
  return waitUntil(
      [&] {
        auto m = s.messages(chat);
        return i < m.size() && m[i].value("text", "").find(needle) != std::string::npos;
      },
      seconds(30));
}

TEST(PostgresStoreE2E, TheDemoRegistersAUserInPostgres) {
  const std::string url = testing::sharedPostgres().createDatabase();
  StackOptions o;
  o.env["DATABASE_URL"] = url;
  Stack s(o);
  s.say(2001, "/start");
  ASSERT_TRUE(waitText(s, 2001, 1, "Send me your Wappi API token")) << s.logs();
  s.say(2001, "tok_1234567890");
  ASSERT_TRUE(waitText(s, 2001, 2, "Now send your Wappi profile id")) << s.logs();
  s.say(2001, "profile-1");
  ASSERT_TRUE(waitText(s, 2001, 4, "Main menu")) << s.logs();
  EXPECT_EQ(testing::psql(url, "SELECT profile_id FROM app.users WHERE user_id = 2001"),
            "profile-1");
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.processed"), "3");
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.outbox WHERE state <> 'sent'"), "0");
  // The embedded file holds the queue only.
  EXPECT_EQ(s.sql("SELECT count(*) FROM sqlite_master WHERE name IN ('users', 'outbox') AND "
                  "(SELECT count(*) FROM outbox) > 0"),
            "0");
}

TEST(PostgresStoreE2E, ARestartOfPostgresDelaysTheReplyAndLosesNothing) {
  testing::PostgresServer pg;
  const std::string url = pg.createDatabase();
  StackOptions o;
  o.env["DATABASE_URL"] = url;
  Stack s(o);
  const std::string ready = "http://127.0.0.1:" + std::to_string(s.port()) + "/readyz";
  s.say(2002, "/start");
  ASSERT_TRUE(waitText(s, 2002, 1, "Send me your Wappi API token")) << s.logs();
  pg.stop();
  s.say(2002, "tok_1234567890");  // accepted into the embedded queue while PostgreSQL is down
  EXPECT_TRUE(waitUntil([&] { return s.request("GET", ready).status == 503; }, seconds(15)))
      << s.logs();
  pg.start();
  ASSERT_TRUE(waitText(s, 2002, 2, "Now send your Wappi profile id")) << s.logs();
  EXPECT_TRUE(waitUntil([&] { return s.request("GET", ready).status == 200; }, seconds(15)))
      << s.request("GET", ready).status << " " << s.request("GET", ready).body << s.logs();
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.dead_letters"), "0");
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.processed"), "2");
  EXPECT_EQ(s.messages(2002).size(), 3u);  // each reply once
}

// Both production services (what several instances share): the queue on Redis streams, the Store
// on PostgreSQL.
TEST(PostgresStoreE2E, TheDemoOnPostgresAndRedis) {
  const std::string url = testing::sharedPostgres().createDatabase();
  StackOptions o;
  o.env["DATABASE_URL"] = url;
  o.env["REDIS_URL"] = testing::sharedRedis().url();
  o.env["BOTFN_STORAGE_REDIS_PREFIX"] = "e2e" + std::to_string(getpid()) + ":";
  Stack s(o);
  s.say(2003, "/start");
  ASSERT_TRUE(waitText(s, 2003, 1, "Send me your Wappi API token")) << s.logs();
  s.say(2003, "tok_1234567890");
  ASSERT_TRUE(waitText(s, 2003, 2, "Now send your Wappi profile id")) << s.logs();
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.processed"), "2");
  // No embedded file at all: several instances on one host share nothing but the services.
  EXPECT_FALSE(std::filesystem::exists(s.dir() / "db.sqlite"));
}

}  // namespace
}  // namespace botfn::e2e
