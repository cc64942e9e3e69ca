// Issue 7.1: after a kill -9 early under load and a restart on the same database, whole lanes of
// replies stayed pending with attempts = 0 until the next restart. Every committed reply must go
// out without another restart.
#include <gtest/gtest.h>

#include <set>

#include "issue_7_sender_load.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

TEST(Issue7LanesStrandedAfterRestart, EveryReplyIsSentAfterAKill9EarlyUnderLoad) {
  constexpr int kChats = 64, kPerChat = 40, kKillAfter = 300;
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  Stack s(o);
  ChatLoad load(s, kChats, kPerChat, 7100000);
  load.registerChats();

  // The load goes on through the kill and the restart (posts are retried, as Telegram does), so
  // the restarted botfn takes new commits while it reads what the killed one left.
  std::thread posting([&] { load.run(8, seconds(60)); });
  waitUntil([&] { return load.accepted() >= kKillAfter || load.allPosted(); }, seconds(60));
  s.killBotfn();
  const bool killed_early = !load.allPosted();
  s.startBotfn();  // same database: the queue and the outbox carry over
  load.retarget();
  posting.join();
  ASSERT_TRUE(killed_early) << "the kill came too late to test anything";
  ASSERT_TRUE(load.allPosted()) << s.logs();

  // Every update handled and no reply left pending, with no further restart.
  const bool drained = waitUntil(
      [&] {
        return s.sql("SELECT count(*) FROM processed") == std::to_string(kChats * kPerChat) &&
               s.sql("SELECT count(*) FROM outbox WHERE state <> 'sent'") == "0";
      },
      seconds(60));
  EXPECT_TRUE(drained) << "processed " << s.sql("SELECT count(*) FROM processed")
                       << ", not sent by lane:\n"
                       << s.sql(
                              "SELECT lane, count(*), min(id), max(attempts) FROM outbox "
                              "WHERE state <> 'sent' GROUP BY lane");
  auto sent = load.sentTexts();
  for (int c = 0; c < kChats; ++c) {
    const auto& texts = sent[load.chatId(c)];
    const std::set<std::string> got(texts.begin(), texts.end());
    for (int i = 0; i < kPerChat; ++i) {
      EXPECT_TRUE(got.count(ChatLoad::reply(i))) << "chat " << c << " never got message " << i;
    }
  }
}

}  // namespace
}  // namespace botfn::e2e
