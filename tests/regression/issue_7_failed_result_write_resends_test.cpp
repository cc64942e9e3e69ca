// Issue 7.3: when the write that records a send's result failed (disk full, SQLITE_BUSY past the
// timeout), the row stayed due and was sent again at once, on every round trip, and a 429's
// retry_after was lost. The write is now retried as a storage fault with backoff, and a message
// Telegram accepted is never sent again for it.
#include <gtest/gtest.h>

#include "sender/sender_doubles.hpp"

namespace botfn::sender {
namespace {

using namespace std::chrono_literals;
using testing::ScriptedHttp;
using testing::SenderHarness;

SenderOptions fastOptions() {
  SenderOptions o;
  o.poll_interval = 5ms;
  o.rewrite_backoff = 20ms;
  o.rewrite_backoff_max = 200ms;
  return o;
}

TEST(Issue7FailedResultWrite, AnAcceptedMessageIsNotSentAgainWhileItsResultIsRewritten) {
  SenderHarness h;
  h.http.answer = [](const nlohmann::json& p, const std::string&) {
    return ScriptedHttp::http(200, p["text"] == "a" ? R"({"ok":true,"result":{"message_id":41}})"
                                                    : R"({"ok":true,"result":{"message_id":42}})");
  };
  h.faulty.fail_result_writes = 4;
  h.commit(1, {SenderHarness::text(1, "a"), SenderHarness::text(1, "b")});
  h.start(fastOptions());
  ASSERT_TRUE(h.waitPendingZero());
  EXPECT_EQ(h.http.texts(), (std::vector<std::string>{"a", "b"}));  // "a" once, then "b"
  EXPECT_EQ(h.outboxRows(), (std::vector<std::string>{"sent 1 41", "sent 1 42"}));
  EXPECT_EQ(h.faulty.resultWriteFailures(), 4);
  EXPECT_EQ(h.backend.metrics().counterValue("botfn_sender_result_write_failures_total", ""), 4u);
}

TEST(Issue7FailedResultWrite, ARateLimitKeepsItsRetryAfterWhenItsWriteFails) {
  SenderHarness h;
  std::atomic<int> calls{0};
  h.http.answer = [&](const nlohmann::json&, const std::string&) {
    if (calls++ == 0) {
      return ScriptedHttp::http(
          429,
          R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 2","parameters":{"retry_after":2}})");
    }
    return ScriptedHttp::http(200, R"({"ok":true,"result":{"message_id":7}})");
  };
  h.faulty.fail_result_writes = 2;  // the 429's result, twice
  h.commit(1, {SenderHarness::text(1, "a"), SenderHarness::text(1, "b")});
  h.start(fastOptions());
  ASSERT_TRUE(h.waitPendingZero());
  auto sent = h.http.calls();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(h.http.texts(), (std::vector<std::string>{"a", "a", "b"}));
  EXPECT_GE(sent[1].at - sent[0].at, 1900ms);  // retry_after held across the failed writes
}

}  // namespace
}  // namespace botfn::sender
