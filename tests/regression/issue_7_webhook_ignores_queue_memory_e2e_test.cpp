// Issue 7, items 13 and 14 through the real server: the webhook accepted updates while the queue
// in memory grew without bound (only the write backlog was looked at), a restart loaded the whole
// queue at once, and made-up update kinds became metric labels as they came.
#include <gtest/gtest.h>

#include "stack.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

bool hasRetryAfter(const HttpResult& r) {
  for (const auto& [k, v] : r.headers) {
    if (k == "retry-after") return true;
  }
  return false;
}

TEST(Issue7WebhookIgnoresQueueMemory, AFullWindowAnswers503WithRetryAfter) {
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  o.toml_extra = "[dispatch]\npaused = true\n[ingest]\nmax_queued_updates = 3\n";
  Stack s(o);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(s.postUpdate(userMessage(700 + i, 900, "m").dump()).status, 200);
  }
  auto refused = s.postUpdate(userMessage(703, 900, "m").dump());
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_TRUE(hasRetryAfter(refused));
  EXPECT_EQ(s.metric("botfn_ingress_queue_refused_total{bot=\"demo\"}"), 1);
  EXPECT_EQ(s.sql("SELECT count(*) FROM inbound"), "3");
}

TEST(Issue7WebhookIgnoresQueueMemory, ARestartPagesTheQueueInAndKeepsTheOrder) {
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  o.toml_extra = "[dispatch]\npaused = true\n";
  Stack s(o);
  s.knowChat(900);
  constexpr int kUpdates = 40;
  for (int i = 0; i < kUpdates; ++i) {
    ASSERT_EQ(s.postUpdate(userMessage(1000 + i, 900, "n" + std::to_string(i)).dump()).status, 200);
  }
  s.stopBotfn();
  s.reconfigure("[ingest]\nmax_queued_updates = 4\n");  // a window of 4: ten pages
  s.startBotfn();
  std::vector<std::string> texts;
  auto replies = [&] {
    texts.clear();
    for (const auto& m : s.messages(900)) {
      if (m.value("from", nlohmann::json::object()).value("is_bot", false)) {
        texts.push_back(m.value("text", ""));
      }
    }
    return texts.size() >= static_cast<size_t>(kUpdates);
  };
  ASSERT_TRUE(waitUntil(replies, seconds(60))) << s.logs();
  ASSERT_EQ(texts.size(), static_cast<size_t>(kUpdates)) << s.logs();
  for (int i = 0; i < kUpdates; ++i) EXPECT_EQ(texts[i], "echo n" + std::to_string(i));
}

TEST(Issue7WebhookIgnoresQueueMemory, MadeUpKindsCountAsOther) {
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  Stack s(o);
  for (int i = 0; i < 3; ++i) {
    const std::string body = R"({"update_id":)" + std::to_string(5000 + i) + R"(,"made_up\"}\n)" +
                             std::to_string(i) + R"(":{}})";
    ASSERT_EQ(s.postUpdate(body).status, 200);
  }
  ASSERT_TRUE(s.waitMetric("botfn_updates_unhandled_total{bot=\"demo\",kind=\"other\"}", 3))
      << s.logs();
  auto text = s.request("GET", "http://127.0.0.1:" + std::to_string(s.port()) + "/metrics");
  EXPECT_EQ(text.body.find("made_up"), std::string::npos);
}

}  // namespace
}  // namespace botfn::e2e
