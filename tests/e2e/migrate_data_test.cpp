// `botfn migrate-data`: the demo on the embedded default with a user half-way through its
// registration, botfn stopped, the data moved to PostgreSQL, botfn started again on it: the user
// goes on from the same step, a reply left pending goes out, and updates Telegram sends again are
// not handled twice. The restart puts the queue on Redis, so only the moved processed markers
// (not the embedded file's dedupe window) can stop a redelivery. And what it refuses.
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

struct CliRun {
  int rc = -1;
  std::string out, err;
};

// botfn migrate-data with the stack's config (botfn must be stopped).
CliRun migrateData(Stack& s, std::vector<std::string> args) {
  std::vector<std::string> argv{s.botfnPath(), "migrate-data", "--config",
                                (s.dir() / "botfn.toml").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(argv, {}, s.dir() / "logs", "migrate-data");
  CliRun r;
  r.rc = p.wait(seconds(120));
  r.out = p.stdoutText();
  r.err = p.stderrText();
  return r;
}

// A user's message through the fake (webhook delivery); returns its update_id.
int64_t say(Stack& s, int64_t user, const std::string& text) {
  return s.say(user, text).value("update_id", int64_t{-1});
}

// Telegram delivering an update again (same update_id).
void resend(Stack& s, int64_t update_id, int64_t user, const std::string& text) {
  ASSERT_EQ(s.postUpdate(userMessage(update_id, user, text).dump()).status, 200);
}

TEST(MigrateDataE2E, AHalfRegisteredUserFinishesOnPostgres) {
  Stack s;
  // 4001 stops half-way; 4002 registers fully (a row in the app's table).
  say(s, 4001, "/start");
  ASSERT_TRUE(waitText(s, 4001, 1, "Send me your Wappi API token")) << s.logs();
  const int64_t token_update = say(s, 4001, "tok_1234567890");
  ASSERT_TRUE(waitText(s, 4001, 2, "Now send your Wappi profile id")) << s.logs();
  say(s, 4002, "/start");
  ASSERT_TRUE(waitText(s, 4002, 1, "Send me your Wappi API token")) << s.logs();
  say(s, 4002, "tok_2222222222");
  ASSERT_TRUE(waitText(s, 4002, 2, "Now send your Wappi profile id")) << s.logs();
  const int64_t profile_update = say(s, 4002, "profile-2");
  ASSERT_TRUE(waitText(s, 4002, 4, "Main menu")) << s.logs();
  // 4003's replies are committed but not sent when botfn stops: pending outbox rows.
  s.stopBotfn();
  s.reconfigure("[sender]\npaused = true\n");
  s.startBotfn();
  say(s, 4003, "/start");
  ASSERT_TRUE(
      waitUntil([&] { return s.sql("SELECT count(*) FROM outbox WHERE chat_id = 4003") == "2"; },
                seconds(30)))
      << s.logs();
  ASSERT_EQ(s.stopBotfn(), 0) << s.logs();
  ASSERT_EQ(s.sql("SELECT count(*) FROM inbound"), "0");
  const std::string max_outbox_id = s.sql("SELECT max(id) FROM outbox");

  const std::string url = testing::sharedPostgres().createDatabase();
  const CliRun moved = migrateData(s, {"--to", url});
  ASSERT_EQ(moved.rc, 0) << moved.out << moved.err;
  EXPECT_NE(moved.out.find("botfn.processed"), std::string::npos) << moved.out;
  EXPECT_NE(moved.out.find("app.users"), std::string::npos) << moved.out;
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.processed"), "6");
  EXPECT_EQ(testing::psql(url, "SELECT state FROM botfn.conversations WHERE chat_id = 4001"),
            s.sql("SELECT state FROM conversations WHERE chat_id = 4001"));
  EXPECT_EQ(testing::psql(url, "SELECT profile_id FROM app.users WHERE user_id = 4002"),
            "profile-2");
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.outbox WHERE state = 'pending'"), "2");
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.app_migrations WHERE app = 'demo'"),
            "1");

  s.reconfigure("[storage]\npostgres_url = \"" + url + "\"\nredis_url = \"" +
                testing::sharedRedis().url() + "\"\nredis_prefix = \"" +
                testing::sharedRedis().freshPrefix() + "\"\n");
  s.startBotfn();
  // The pending replies go out from PostgreSQL's outbox.
  EXPECT_EQ(s.waitMessages(4003, 2, seconds(30)).size(), 2u) << s.logs();
  // Telegram sends updates again that the embedded bot handled: skipped, no second reply.
  resend(s, token_update, 4001, "tok_1234567890");
  resend(s, profile_update, 4002, "profile-2");
  // 4001 goes on from the step it was at.
  const int64_t last_update = say(s, 4001, "profile-1");
  ASSERT_TRUE(waitText(s, 4001, 4, "Main menu")) << s.logs();
  ASSERT_TRUE(
      waitUntil([&] { return testing::psql(url, "SELECT count(*) FROM botfn.processed") == "7"; },
                seconds(30)));
  EXPECT_EQ(s.messages(4001).size(), 5u) << s.messages(4001).dump();
  EXPECT_EQ(s.messages(4002).size(), 5u) << s.messages(4002).dump();
  EXPECT_EQ(testing::psql(url, "SELECT profile_id FROM app.users WHERE user_id = 4001"),
            "profile-1");
  // New outbox ids continue past the moved ones.
  EXPECT_EQ(testing::psql(
                url, "SELECT bool_and(id > " + max_outbox_id +
                         ") FROM botfn.outbox WHERE update_id = " + std::to_string(last_update)),
            "t");
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.dead_letters"), "0");
}

TEST(MigrateDataE2E, RefusesABadUrlQueuedUpdatesAndANonEmptyTarget) {
  Stack s;
  say(s, 4101, "/start");
  ASSERT_TRUE(waitText(s, 4101, 1, "Send me your Wappi API token")) << s.logs();
  // An update accepted but not handled (dispatch paused) stays queued in the file.
  s.stopBotfn();
  s.reconfigure("[dispatch]\npaused = true\n");
  s.startBotfn();
  say(s, 4101, "tok_1234567890");
  ASSERT_TRUE(waitUntil([&] { return s.sql("SELECT count(*) FROM inbound") == "1"; }, seconds(30)));
  ASSERT_EQ(s.stopBotfn(), 0) << s.logs();

  // A server nobody listens on: the error names the option and hides the password.
  const std::string secret = "Sup3r-Secret-pw";
  const std::string down = "postgresql://botfn:" + secret +
                           "@127.0.0.1:" + std::to_string(testing::freeLoopbackPort()) + "/nowhere";
  CliRun r = migrateData(s, {"--to", down});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("--to"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("botfn:***@"), std::string::npos) << r.err;
  EXPECT_EQ((r.out + r.err).find(secret), std::string::npos) << r.out << r.err;
  r = migrateData(s, {"--to", "mysql://botfn:" + secret + "@127.0.0.1/db"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("--to: expected postgresql://"), std::string::npos) << r.err;
  EXPECT_EQ((r.out + r.err).find(secret), std::string::npos) << r.out << r.err;

  const std::string url = testing::sharedPostgres().createDatabase();
  r = migrateData(s, {"--to", url});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("1 update(s) are still queued"), std::string::npos) << r.err;
  // The queue stays in the file when only DATABASE_URL is set: allowed on request.
  r = migrateData(s, {"--to", url, "--keep-queued"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.processed"), "1");

  // A second run finds the target in use and changes nothing.
  r = migrateData(s, {"--to", url, "--keep-queued"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("is not empty (botfn.processed"), std::string::npos) << r.err;
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.processed"), "1");
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.outbox"),
            s.sql("SELECT count(*) FROM outbox"));

  // Kept queued: the restart on PostgreSQL (queue still in the file) handles it once.
  s.reconfigure("[storage]\npostgres_url = \"" + url + "\"\n");
  s.startBotfn();
  ASSERT_TRUE(waitText(s, 4101, 2, "Now send your Wappi profile id")) << s.logs();
  EXPECT_TRUE(
      waitUntil([&] { return testing::psql(url, "SELECT count(*) FROM botfn.processed") == "2"; },
                seconds(30)));
}

}  // namespace
}  // namespace botfn::e2e
