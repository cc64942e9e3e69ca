// Redis killed mid-load and started again (issue 8 §4 "Outages"), for longer than the partition
// lease (a network partition): webhooks answer 503 with Retry-After while the Bus is down,
// /readyz says the bus is failing, and afterwards every update is handled once and every chat
// gets its replies in order. Redis runs with appendonly + fsync per write, as operations.md asks.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "stack.hpp"
#include "test_servers.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RedisOutageE2E, RedisDownLongerThanTheLeaseAnswers503ThenLosesNothing) {
  testing::RedisServer redis(/*persistent=*/true);
  const std::string url = testing::sharedPostgres().createDatabase();
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  o.env["DATABASE_URL"] = url;
  o.env["REDIS_URL"] = redis.url();
  o.toml_extra = "[storage]\nredis_lease_ms = 1500\n";
  Stack s(o);
  const std::string ready = "http://127.0.0.1:" + std::to_string(s.port()) + "/readyz";
  EXPECT_NE(s.request("GET", ready).body.find(R"("bus":"redis")"), std::string::npos);

  constexpr int kChats = 20, kPerChat = 30;
  constexpr int64_t kFirstUser = 700000;
  for (int c = 0; c < kChats; ++c)
    s.control("POST", "/control/chats", {{"token", s.token()}, {"chat_id", kFirstUser + c}});
  // Posters retry a refused update as Telegram does: the same update until it is taken.
  std::atomic<int> refused{0}, refused_without_retry_after{0}, posted{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < 2; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPerChat; ++i) {
        for (int c = t; c < kChats; c += 2) {
          const std::string body =
              userMessage(2000000 + c * 100 + i, kFirstUser + c, "m" + std::to_string(i)).dump();
          const auto deadline = std::chrono::steady_clock::now() + seconds(60);
          while (std::chrono::steady_clock::now() < deadline) {
            auto r = s.postUpdate(body);
            if (r.status == 200) break;
            refused++;
            const bool has_retry_after = std::any_of(
                r.headers.begin(), r.headers.end(),
                [](const auto& h) { return h.first == "Retry-After" || h.first == "retry-after"; });
            if (r.status != 503 || !has_retry_after) refused_without_retry_after++;
            std::this_thread::sleep_for(milliseconds(100));
          }
          posted++;
          std::this_thread::sleep_for(milliseconds(5));  // a steady stream, not a burst
        }
      }
    });
  }
  while (posted < kChats * kPerChat / 3) std::this_thread::sleep_for(milliseconds(5));
  redis.stop();  // SIGKILL
  EXPECT_TRUE(waitUntil(
      [&] {
        auto r = s.request("GET", ready);
        return r.status == 503 && r.body.find("bus failing") != std::string::npos;
      },
      seconds(15)))
      << s.request("GET", ready).body;
  std::this_thread::sleep_for(milliseconds(3000));  // twice the lease: the partitions lapse
  redis.start();
  for (auto& p : posters) p.join();
  EXPECT_GT(refused.load(), 0);  // the outage was seen by the webhook
  EXPECT_EQ(refused_without_retry_after.load(), 0);
  EXPECT_TRUE(waitUntil([&] { return s.request("GET", ready).status == 200; }, seconds(30)))
      << s.request("GET", ready).body;

  size_t resent = 0;
  for (int c = 0; c < kChats; ++c) {
    const int64_t chat = kFirstUser + c;
    const std::string last = "echo m" + std::to_string(kPerChat - 1);
    ASSERT_TRUE(waitUntil([&] { return s.lastText(chat) == last; }, seconds(60)))
        << "chat " << chat << " " << s.messages(chat).dump() << "\n"
        << s.logs();
    std::vector<std::string> texts;
    for (const auto& m : s.messages(chat)) {
      const std::string t = m.value("text", "");
      if (!texts.empty() && texts.back() == t) {
        ++resent;
        continue;
      }
      texts.push_back(t);
    }
    ASSERT_EQ(texts.size(), static_cast<size_t>(kPerChat)) << "chat " << chat;
    for (int i = 0; i < kPerChat; ++i)
      EXPECT_EQ(texts[i], "echo m" + std::to_string(i)) << "chat " << chat;
  }
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.processed"),
            std::to_string(kChats * kPerChat));
  EXPECT_EQ(testing::psql(url, "SELECT count(*) - count(DISTINCT update_id) FROM botfn.outbox"),
            "0");
  // Sending does not go through Redis: its outage re-sends nothing.
  EXPECT_EQ(resent, 0u);
}

}  // namespace
}  // namespace botfn::e2e
