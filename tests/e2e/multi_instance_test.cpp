// Several instances (issue 8 §6): 3 botfn processes share one Redis Bus and one PostgreSQL Store
// behind the fake Bot API. 10,000 updates over 500 chats are posted round-robin (as nginx would);
// one instance is killed with SIGKILL mid-run. Every update is handled exactly once, every chat
// gets its replies in order, and only a reply that was in flight at the kill may arrive twice.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "stack.hpp"
#include "test_servers.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

TEST(MultiInstanceE2E, ThreeInstancesKeepEveryChatInOrderThroughAKill) {
  const std::string url = testing::sharedPostgres().createDatabase();
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  o.env["DATABASE_URL"] = url;
  o.env["REDIS_URL"] = testing::sharedRedis().url();
  o.env["BOTFN_STORAGE_REDIS_PREFIX"] = testing::sharedRedis().freshPrefix();
  // A short lease: the killed instance's lanes move within seconds.
  o.toml_extra = "[storage]\nredis_lease_ms = 3000\n";
  Stack s(o);
  const std::vector<int> ports{s.port(), s.startInstance(), s.startInstance()};

  constexpr int kChats = 500, kPerChat = 20;
  constexpr int64_t kFirstUser = 500000;
  for (int c = 0; c < kChats; ++c)
    s.control("POST", "/control/chats", {{"token", s.token()}, {"chat_id", kFirstUser + c}});

  // Posts go round-robin; a refused or failed post goes to the next instance, as Telegram
  // retries and nginx passes on. Each thread owns a set of chats: their order is well defined.
  std::atomic<int> posted{0}, retried{0};
  auto post = [&](int64_t id, int64_t user, const std::string& text, size_t turn) {
    const std::string body = userMessage(id, user, text).dump();
    net::Headers h{{"Content-Type", "application/json"},
                   {"X-Telegram-Bot-Api-Secret-Token", "e2e_Secret-123"}};
    for (size_t attempt = 0; attempt < 60; ++attempt) {
      const int port = ports[(turn + attempt) % ports.size()];
      auto r = s.request("POST", "http://127.0.0.1:" + std::to_string(port) + "/tg/demo/webhook",
                         body, h);
      if (r.status == 200) return true;
      retried++;
      if (attempt % ports.size() == ports.size() - 1)
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  };
  std::vector<std::thread> posters;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&, t] {
      size_t turn = t;
      for (int i = 0; i < kPerChat; ++i) {
        for (int c = t; c < kChats; c += 4) {
          const int64_t id = 1000000 + c * 100 + i;
          if (!post(id, kFirstUser + c, "m" + std::to_string(i), turn++)) failures++;
          posted++;
        }
      }
    });
  }
  // The kill, a third of the way in: whatever instance 2 holds (leased updates, replies in
  // flight, its partitions) must move to the others.
  while (posted < kChats * kPerChat / 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  s.instance(0).kill9();
  for (auto& p : posters) p.join();
  ASSERT_EQ(failures.load(), 0) << s.logs();

  size_t resent = 0;
  for (int c = 0; c < kChats; ++c) {
    const int64_t chat = kFirstUser + c;
    const std::string last = "echo m" + std::to_string(kPerChat - 1);
    ASSERT_TRUE(waitUntil([&] { return s.lastText(chat) == last; }, seconds(120)))
        << "chat " << chat << " got " << s.messages(chat).size() << "\n"
        << s.logs();
    auto msgs = s.messages(chat);
    // In order; a reply sent twice (in flight at the kill) shows as the same text twice in a row.
    std::vector<std::string> texts;
    for (const auto& m : msgs) {
      const std::string t = m.value("text", "");
      if (!texts.empty() && texts.back() == t) {
        ++resent;
        continue;
      }
      texts.push_back(t);
    }
    ASSERT_EQ(texts.size(), static_cast<size_t>(kPerChat)) << "chat " << chat << msgs.dump();
    for (int i = 0; i < kPerChat; ++i)
      EXPECT_EQ(texts[i], "echo m" + std::to_string(i)) << "chat " << chat;
    EXPECT_LE(msgs.size(), static_cast<size_t>(kPerChat) + 1) << "chat " << chat;
  }
  // Exactly once: one marker and one reply row per update, whoever ran it.
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.processed"),
            std::to_string(kChats * kPerChat));
  EXPECT_EQ(testing::psql(url, "SELECT count(*), count(DISTINCT update_id) FROM botfn.outbox"),
            std::to_string(kChats * kPerChat) + "|" + std::to_string(kChats * kPerChat));
  EXPECT_EQ(testing::psql(url, "SELECT count(*) FROM botfn.dead_letters"), "0");
  // At most one re-send per lane that was in flight at the kill (one per chat, at most).
  EXPECT_LE(resent, static_cast<size_t>(kChats));
  std::cout << "posts retried on another instance: " << retried.load()
            << ", replies sent twice: " << resent << "\n";
}

}  // namespace
}  // namespace botfn::e2e
