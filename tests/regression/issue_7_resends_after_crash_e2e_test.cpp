// Issue 7.2: a kill -9 under load may re-send only the one request per lane that was in flight
// (its result not yet durable), and never a message after a newer one of the same chat. Several
// kills under load; then every reply is there, per-chat order holds (the texts carry a sequence)
// and the duplicates in the fake's call log stay within the lanes that could have been in flight.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "issue_7_sender_load.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

int sequenceOf(const std::string& reply) { return std::stoi(reply.substr(reply.rfind('m') + 1)); }

TEST(Issue7ResendsAfterCrash, AtMostTheInFlightRowPerLaneAndNeverOutOfOrder) {
  constexpr int kChats = 48, kPerChat = 30, kKills = 3;
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  Stack s(o);
  ChatLoad load(s, kChats, kPerChat, 7200000);
  load.registerChats();

  int kills = 0;
  int lanes_pending_at_kills = 0;  // bounds the lanes in flight at each kill
  for (int round = 0; round < kKills; ++round) {
    const int kill_at = load.accepted() + 250;
    std::thread posting([&] { load.run(8); });
    waitUntil([&] { return load.accepted() >= kill_at || load.allPosted(); }, seconds(60));
    if (load.allPosted()) {
      posting.join();
      break;
    }
    s.killBotfn();
    posting.join();
    ++kills;
    lanes_pending_at_kills +=
        std::stoi(s.sql("SELECT count(DISTINCT lane) FROM outbox WHERE state = 'pending'"));
    s.startBotfn();
    load.retarget();
  }
  ASSERT_GE(kills, 2) << "the load ended before the kills";
  load.run(8);
  ASSERT_TRUE(load.allPosted()) << s.logs();

  const bool drained = waitUntil(
      [&] {
        return s.sql("SELECT count(*) FROM processed") == std::to_string(kChats * kPerChat) &&
               s.sql("SELECT count(*) FROM outbox WHERE state <> 'sent'") == "0";
      },
      seconds(60));
  ASSERT_TRUE(drained) << "not sent by lane:\n"
                       << s.sql(
                              "SELECT lane, count(*), min(id), max(attempts) FROM outbox "
                              "WHERE state <> 'sent' GROUP BY lane");

  int duplicates = 0;
  auto sent = load.sentTexts();
  for (int c = 0; c < kChats; ++c) {
    const auto& texts = sent[load.chatId(c)];
    std::set<std::string> seen;
    int last = -1, chat_duplicates = 0;
    for (const auto& t : texts) {
      const int n = sequenceOf(t);
      EXPECT_GE(n, last) << "chat " << c << ": message " << n << " arrived after " << last;
      last = std::max(last, n);
      if (!seen.insert(t).second) ++chat_duplicates;
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(kPerChat)) << "chat " << c;
    // Each kill can re-send at most the one row of this lane that was in flight.
    EXPECT_LE(chat_duplicates, kills) << "chat " << c;
    duplicates += chat_duplicates;
  }
  EXPECT_LE(duplicates, lanes_pending_at_kills);
  RecordProperty("kills", kills);
  RecordProperty("duplicates", duplicates);
}

}  // namespace
}  // namespace botfn::e2e
