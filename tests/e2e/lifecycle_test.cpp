// Process lifecycle: graceful SIGTERM under load (readyz and new webhooks answer 503 with
// Retry-After, in-flight work finishes, exit 0, nothing lost), storage full answers 503, health
// and readiness, and the bot token never appears in the logs of a full run.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "stack.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

TEST(LifecycleTest, HealthAndReadiness) {
  Stack s;
  const std::string base = "http://127.0.0.1:" + std::to_string(s.port());
  EXPECT_EQ(s.request("GET", base + "/healthz").status, 200);
  EXPECT_EQ(s.request("GET", base + "/readyz").status, 200);
  EXPECT_EQ(s.request("GET", base + "/nope").status, 404);
  EXPECT_EQ(s.request("GET", base + "/tg/demo/webhook").status, 405);
}

TEST(LifecycleTest, GracefulShutdownUnderLoadLosesNothing) {
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  Stack s(o);
  s.control("POST", "/control/message", {{"token", s.token()}, {"user_id", 5000}, {"text", "x"}});
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::atomic<int64_t> next_id{700000};
  std::vector<std::thread> load;
  for (int t = 0; t < 3; ++t) {
    load.emplace_back([&] {
      const auto end = std::chrono::steady_clock::now() + seconds(20);
      while (!stop && std::chrono::steady_clock::now() < end) {
        auto r = s.postUpdate(userMessage(next_id++, 5000, "load").dump());
        if (r.status == 0) break;  // the server is gone
        if (r.status == 200)
          ok++;
        else if (r.status == 503)
          refused++;
        else
          other++;
      }
    });
  }
  ASSERT_TRUE(waitUntil([&] { return ok.load() > 50; }, seconds(15)));
  s.botfn().signal(SIGTERM);
  const int status = s.botfn().wait(seconds(15));
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_EQ(status, 0) << s.logs();
  EXPECT_EQ(other.load(), 0);
  // Every update answered 200 was either handled or is still queued for the next start.
  const int handled = std::stoi(s.sql("SELECT count(*) FROM processed"));
  const int queued = std::stoi(s.sql("SELECT count(*) FROM inbound"));
  EXPECT_EQ(handled + queued, ok.load());
  s.startBotfn();
  ASSERT_TRUE(waitUntil(
      [&] { return s.sql("SELECT count(*) FROM processed") == std::to_string(ok.load()); },
      seconds(60)));
}

TEST(LifecycleTest, ShuttingDownAnswers503WithRetryAfter) {
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  o.toml_extra = "[lua]\nworkers = 1\n";
  Stack s(o);
  // A long script run keeps the drain busy, so the server is observably shutting down.
  s.control("POST", "/control/message", {{"token", s.token()}, {"user_id", 5100}, {"text", "x"}});
  ASSERT_EQ(s.postUpdate(userMessage(1, 5100, "/spin").dump()).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  s.botfn().signal(SIGTERM);
  bool saw_503 = false;
  waitUntil(
      [&] {
        auto r = s.postUpdate(userMessage(2, 5100, "late").dump());
        if (r.status == 503) {
          saw_503 = true;
          bool retry_after = false;
          for (const auto& [k, v] : r.headers) retry_after |= (k == "retry-after" && v == "5");
          EXPECT_TRUE(retry_after);
        }
        return saw_503 || r.status == 0;
      },
      seconds(5));
  EXPECT_TRUE(saw_503);
  EXPECT_EQ(s.botfn().wait(seconds(15)), 0);
}

TEST(LifecycleTest, FullStorageAnswers503AndKeepsServing) {
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  o.toml_extra = "[storage]\nmax_page_count = 60\n[dispatch]\npaused = true\n";  // nothing drains
  Stack s(o);
  const std::string pad(3000, 'p');
  int got_503 = 0;
  for (int i = 0; i < 400 && !got_503; ++i) {
    auto r = s.postUpdate(userMessage(800000 + i, 5200, pad).dump());
    if (r.status == 503) {
      got_503++;
      bool retry_after = false;
      for (const auto& [k, v] : r.headers) retry_after |= k == "retry-after";
      EXPECT_TRUE(retry_after);
    } else {
      ASSERT_EQ(r.status, 200);
    }
  }
  EXPECT_EQ(got_503, 1);
  EXPECT_TRUE(s.botfn().running());
  const std::string base = "http://127.0.0.1:" + std::to_string(s.port());
  EXPECT_EQ(s.request("GET", base + "/healthz").status, 200);
}

TEST(LifecycleTest, TokenNeverAppearsInLogs) {
  Stack s;
  s.say(5300, "/start");
  ASSERT_TRUE(waitUntil([&] { return s.messages(5300).size() >= 2; }, seconds(15)));
  s.stopBotfn();
  const std::string logs = s.logs();
  EXPECT_FALSE(logs.empty());
  EXPECT_EQ(logs.find(s.token()), std::string::npos);
  EXPECT_EQ(logs.find("E2E-token_abcdefghijkl"), std::string::npos);
  EXPECT_NE(logs.find("\"trace\":\""), std::string::npos);  // JSON lines carry the update id
}

}  // namespace
}  // namespace botfn::e2e
