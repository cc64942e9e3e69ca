// Issue 7.1 (the known gap): a row whose hand-over failed midway, and that a later hand-over
// overtook, waited for the next restart: the safety-net read only looks above the highest id
// taken. A sweep of the pending rows' ids now finds rows that are in no lane.
#include <gtest/gtest.h>

#include "sender/sender_doubles.hpp"

namespace botfn::sender {
namespace {

using namespace std::chrono_literals;
using testing::SenderHarness;

TEST(Issue7LostHandover, ARowWhoseHandOverWasLostIsSentWithoutARestart) {
  SenderHarness h;
  SenderOptions o;
  o.poll_interval = std::chrono::minutes(1);  // the read above the cursor cannot find it either
  o.sweep_interval = 50ms;
  h.start(o);
  h.commit(1, {SenderHarness::text(3, "first")});
  ASSERT_TRUE(h.waitPendingZero());  // past the backlog read: commits are handed over now
  h.faulty.lose_handovers = 1;
  h.commit(2, {SenderHarness::text(1, "lost")});
  h.commit(3, {SenderHarness::text(2, "handed over")});  // moves the cursor past "lost"
  ASSERT_TRUE(h.waitPendingZero(5s)) << h.outboxRows()[1];
  auto texts = h.http.texts();
  std::sort(texts.begin(), texts.end());
  EXPECT_EQ(texts, (std::vector<std::string>{"first", "handed over", "lost"}));
  EXPECT_EQ(h.backend.metrics().counterValue("botfn_sender_rows_recovered_total", ""), 1u);
}

}  // namespace
}  // namespace botfn::sender
