// Issue 7.1: a lane whose head never got its Bot API answer back stayed busy, and every later
// message of that chat stayed pending with attempts = 0 until a restart. A call unanswered past
// its timeout and a grace is now counted as lost: the row is sent again and the lane goes on, and
// the late answer, if it ever comes, is dropped.
#include <gtest/gtest.h>

#include "sender/sender_doubles.hpp"

namespace botfn::sender {
namespace {

using namespace std::chrono_literals;
using testing::SenderHarness;

TEST(Issue7UnansweredCall, ALaneWhoseCallNeverReturnsGoesOnWithoutARestart) {
  SenderHarness h;
  std::atomic<int> held{0};
  h.http.hold = [&](const nlohmann::json& params) {
    return params.value("text", "") == "one" && held.fetch_add(1) == 0;  // the first call only
  };
  SenderOptions o;
  o.call_timeout = 100ms;
  o.lost_call_grace = 100ms;
  o.sweep_interval = 50ms;
  h.start(o);
  h.commit(1, {SenderHarness::text(1, "one"), SenderHarness::text(2, "other chat")});
  h.commit(2, {SenderHarness::text(1, "two")});
  h.commit(3, {SenderHarness::text(1, "three")});
  ASSERT_TRUE(h.waitPendingZero(5s)) << h.outboxRows()[0];

  std::vector<std::string> chat1;
  for (const auto& c : h.http.calls()) {
    if (c.params.value("chat_id", 0) == 1) chat1.push_back(c.params.value("text", ""));
  }
  EXPECT_EQ(chat1, (std::vector<std::string>{"one", "one", "two", "three"}));
  auto& metrics = h.backend.metrics();
  EXPECT_EQ(metrics.counterValue("botfn_sender_lost_calls_total", ""), 1u);

  // The lost call's answer comes after all: dropped, and nothing is counted twice.
  h.http.answerHeld();
  EXPECT_EQ(metrics.counterValue("botfn_sender_late_answers_total", ""), 1u);
  EXPECT_TRUE(h.sender->stop(std::chrono::steady_clock::now() + 2s)) << "a call still in flight";
  for (const auto& row : h.outboxRows()) EXPECT_EQ(row.substr(0, 7), "sent 1 ") << row;
}

}  // namespace
}  // namespace botfn::sender
