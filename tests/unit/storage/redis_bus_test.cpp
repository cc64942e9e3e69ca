// RedisBus against a private redis-server (sharedRedis()): dedupe keys and XADD in one script
// call, partitions of the lanes leased by one instance at a time (taken over after a kill,
// handed back at a stop, split between instances with every lane in order), the window cap,
// Redis killed and restarted mid-use, and start-up errors that name the URL without its password.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "await.hpp"
#include "storage/redis/redis_client.hpp"
#include "storage/redis/redis_factory.hpp"
#include "test_servers.hpp"

namespace botfn::storage::redis {
namespace {

using contract::await;
using contract::waitFor;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

class RedisBusTest : public ::testing::Test {
 protected:
  RedisBusOptions options(std::string consumer = "c1") {
    RedisBusOptions o;
    o.url = testing::sharedRedis().url();
    o.prefix = prefix_;
    o.consumer = std::move(consumer);
    o.call_timeout = milliseconds(1000);
    o.connect_timeout = milliseconds(1000);
    return o;
  }
  std::unique_ptr<Bus> open(const RedisBusOptions& o) {
    auto bus = openRedisBus(o, metrics_);
    EXPECT_TRUE(bus) << (bus ? "" : bus.error().describe());
    return bus ? std::move(*bus) : nullptr;
  }
  static Result<std::vector<PushOutcome>> push(Bus& bus, std::vector<int64_t> ids) {
    std::vector<InboundUpdate> items;
    for (int64_t id : ids)
      items.push_back(
          InboundUpdate{"b", id, "c1", "message", "{\"update_id\":" + std::to_string(id) + "}"});
    return await<Result<std::vector<PushOutcome>>>(
        [&](auto done) { bus.push(std::move(items), std::nullopt, done); });
  }
  static Result<void> ack(Bus& bus, int64_t id) {
    return await<Result<void>>([&](auto done) { bus.ack(id, done); });
  }
  // Leases until n entries came or the deadline passed.
  static std::vector<QueueEntry> leaseAll(Bus& bus, size_t n, milliseconds within) {
    std::vector<QueueEntry> got;
    const auto deadline = Clock::now() + within;
    while (got.size() < n && Clock::now() < deadline) {
      for (auto& e : bus.lease(n - got.size(), milliseconds(100))) got.push_back(std::move(e));
    }
    return got;
  }
  int64_t commandCalls(const std::string& command) {
    ConnectionOptions c;
    c.url = *parseRedisUrl(testing::sharedRedis().url());
    RedisConnection conn(c);
    auto info = conn.call({"INFO", "commandstats"});
    if (!info) return -1;
    const std::string key = "cmdstat_" + command + ":calls=";
    const size_t at = info->str.find(key);
    return at == std::string::npos ? 0 : std::stoll(info->str.substr(at + key.size()));
  }

  Metrics metrics_;
  std::string prefix_ = testing::sharedRedis().freshPrefix();
};

using Outcomes = std::vector<PushOutcome>;
constexpr auto kEnqueued = PushOutcome::Enqueued;
constexpr auto kDuplicate = PushOutcome::Duplicate;

TEST_F(RedisBusTest, DedupeAndEnqueueAreOneScriptCallAndTheIdIsAcceptedAgainAfterTheWindow) {
  auto o = options();
  o.dedupe_window_s = 1;
  auto bus = open(o);
  ASSERT_TRUE(bus);
  const int64_t evalsha_before = commandCalls("evalsha");
  EXPECT_EQ(*push(*bus, {1, 2, 1}), (Outcomes{kEnqueued, kEnqueued, kDuplicate}));
  // One round trip for the batch of 3 (the heartbeat thread may add one of its own).
  EXPECT_LE(commandCalls("evalsha") - evalsha_before, 2);
  EXPECT_EQ(*push(*bus, {1}), Outcomes{kDuplicate});
  auto leased = bus->lease(10, milliseconds(1000));
  ASSERT_EQ(leased.size(), 2u);
  for (const auto& e : leased) ASSERT_TRUE(ack(*bus, e.id));
  EXPECT_EQ(bus->depth(), 0u);
  // The window counts from receipt; the ack let the key expire at its end.
  Outcomes again;
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < deadline) {
    again = *push(*bus, {1});
    if (again == Outcomes{kEnqueued}) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(again, Outcomes{kEnqueued});
}

TEST_F(RedisBusTest, ASecondInstanceTakesADeadInstancesLanesAfterTheLeaseAsRedelivered) {
  auto o = options("dead");
  o.lease_timeout = milliseconds(1000);
  o.hand_back_on_stop = false;  // as kill -9: its leases run out
  {
    auto dead = open(o);
    ASSERT_TRUE(dead);
    ASSERT_TRUE(push(*dead, {1, 2}));
    auto leased = leaseAll(*dead, 2, std::chrono::seconds(10));
    ASSERT_EQ(leased.size(), 2u);
    EXPECT_FALSE(leased[0].redelivered);
  }
  o.consumer = "alive";
  auto alive = open(o);
  ASSERT_TRUE(alive);
  auto reclaimed = leaseAll(*alive, 2, std::chrono::seconds(20));
  ASSERT_EQ(reclaimed.size(), 2u);
  EXPECT_EQ(reclaimed[0].update_id, 1);
  EXPECT_EQ(reclaimed[1].update_id, 2);
  EXPECT_TRUE(reclaimed[0].redelivered);  // the dispatcher checks their processed markers
  EXPECT_TRUE(reclaimed[1].redelivered);
  for (const auto& e : reclaimed) ASSERT_TRUE(ack(*alive, e.id));
  EXPECT_EQ(alive->depth(), 0u);
}

TEST_F(RedisBusTest, AGracefulStopHandsTheLanesOverAtOnce) {
  auto o = options("leaving");
  o.lease_timeout = milliseconds(60000);  // far longer than the test: only a hand-back is fast
  auto leaving = std::make_unique<Metrics>();
  auto first = openRedisBus(o, *leaving);
  ASSERT_TRUE(first);
  o.consumer = "staying";
  auto staying = open(o);
  ASSERT_TRUE(staying);
  ASSERT_TRUE(push(**first, {1, 2, 3}));
  std::vector<QueueEntry> got = leaseAll(**first, 1, std::chrono::seconds(10));
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(ack(**first, got[0].id));
  first->reset();  // leased nothing more: hands every partition back
  auto rest = leaseAll(*staying, 2, std::chrono::seconds(10));
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].update_id, 2);
  EXPECT_EQ(rest[1].update_id, 3);
}

// The per-chat order across instances: while one instance holds a lane's entry, no other instance
// gets that lane's later entries, however long it waits and however full the holder is.
TEST_F(RedisBusTest, ALaneHeldByOneInstanceIsNeverLeasedByAnother) {
  auto o = options("holder");
  o.lease_timeout = milliseconds(1500);
  o.window.max_updates = 1;
  auto holder = open(o);
  ASSERT_TRUE(holder);
  ASSERT_TRUE(push(*holder, {1, 2}));  // one lane
  ASSERT_EQ(leaseAll(*holder, 1, std::chrono::seconds(10)).size(), 1u);
  ASSERT_TRUE(holder->queueLoad().full);
  o.consumer = "other";
  o.window.max_updates = 20000;
  auto other = open(o);
  ASSERT_TRUE(other);
  const auto until = Clock::now() + std::chrono::seconds(4);  // beyond the lease time
  while (Clock::now() < until) {
    EXPECT_TRUE(holder->lease(10, milliseconds(50)).empty());  // full
    EXPECT_TRUE(other->lease(10, milliseconds(50)).empty());   // not its lane
  }
  EXPECT_TRUE(holder->ownsLane("b/c1"));
  EXPECT_FALSE(other->ownsLane("b/c1"));
}

TEST_F(RedisBusTest, TwoInstancesSplitThePartitionsAndKeepEveryLaneInOrder) {
  auto o = options("a");
  o.lease_timeout = milliseconds(2000);
  Metrics metrics_a, metrics_b;
  auto a = openRedisBus(o, metrics_a);
  ASSERT_TRUE(a);
  o.consumer = "b";
  auto b = openRedisBus(o, metrics_b);
  ASSERT_TRUE(b);
  constexpr int kLanes = 40, kPerLane = 10;
  auto pushWave = [&](int wave) {
    std::vector<InboundUpdate> items;
    for (int i = 0; i < kLanes * kPerLane / 2; ++i) {
      const int64_t id = wave * 1000 + i + 1;
      items.push_back(InboundUpdate{"b", id, "c" + std::to_string(i % kLanes), "message",
                                    "{\"update_id\":" + std::to_string(id) + "}"});
    }
    ASSERT_TRUE((await<Result<std::vector<PushOutcome>>>(
        [&](auto done) { (*a)->push(std::move(items), std::nullopt, done); })));
  };
  pushWave(0);  // while a holds every partition and b is taking its share
  // Each instance logs what it leased, works on it a little, then acks it: a lane moves only
  // once drained, so the log holds every lane's ids in push order, each once.
  std::mutex log_mutex;
  std::map<std::string, std::vector<int64_t>> by_lane;
  std::map<std::string, std::set<std::string>> instances_of_lane;
  std::atomic<int> seen{0};
  auto drain = [&](Bus& bus, const std::string& name) {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (seen < kLanes * kPerLane && Clock::now() < deadline) {
      for (auto& e : bus.lease(7, milliseconds(50))) {
        {
          std::lock_guard lock(log_mutex);
          by_lane[e.lane].push_back(e.update_id);
          instances_of_lane[e.lane].insert(name);
        }
        std::this_thread::sleep_for(milliseconds(2));
        ++seen;
        ASSERT_TRUE(ack(bus, e.id));
      }
    }
  };
  std::thread ta([&] { drain(**a, "a"); });
  std::thread tb([&] { drain(**b, "b"); });
  // Both settle on half of the 16 partitions, then the second wave is split between them.
  EXPECT_TRUE(waitFor(
      [&] {
        return metrics_a.gauge("botfn_bus_partitions_owned").load() == 8 &&
               metrics_b.gauge("botfn_bus_partitions_owned").load() == 8;
      },
      std::chrono::seconds(20)));
  pushWave(1);
  ta.join();
  tb.join();
  ASSERT_EQ(seen.load(), kLanes * kPerLane);
  size_t lanes_on_b = 0;
  for (const auto& [lane, ids] : by_lane) {
    ASSERT_EQ(ids.size(), static_cast<size_t>(kPerLane)) << lane;
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << lane;
    lanes_on_b += instances_of_lane[lane].count("b");
  }
  EXPECT_GT(lanes_on_b, 0u);
  EXPECT_LT(lanes_on_b, static_cast<size_t>(kLanes));
}

TEST_F(RedisBusTest, APartitionCountOtherInstancesDoNotShareIsRefused) {
  auto o = options("one");
  auto first = open(o);
  ASSERT_TRUE(first);
  o.consumer = "two";
  o.partitions = 8;
  auto second = openRedisBus(o, metrics_);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::ConfigInvalid);
  EXPECT_NE(second.error().detail.find("storage.redis_partitions"), std::string::npos)
      << second.error().detail;
}

TEST_F(RedisBusTest, LeaseStopsAtTheWindowCapAndQueueLoadIsFull) {
  auto o = options();
  o.window.max_updates = 2;
  auto bus = open(o);
  ASSERT_TRUE(bus);
  ASSERT_TRUE(push(*bus, {1, 2, 3}));
  auto leased = leaseAll(*bus, 2, std::chrono::seconds(10));
  ASSERT_EQ(leased.size(), 2u);
  EXPECT_TRUE(bus->queueLoad().full);
  EXPECT_EQ(bus->queueLoad().updates, 2u);
  EXPECT_TRUE(bus->lease(10, milliseconds(100)).empty());
  ASSERT_TRUE(ack(*bus, leased[0].id));
  EXPECT_FALSE(bus->queueLoad().full);
  auto third = leaseAll(*bus, 1, std::chrono::seconds(10));
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].update_id, 3);
}

TEST_F(RedisBusTest, RedisKilledAndRestartedPushFailsFastWhileDownThenPushAndLeaseResume) {
  auto bus = open(options());
  ASSERT_TRUE(bus);
  ASSERT_TRUE(push(*bus, {1}));
  ASSERT_EQ(leaseAll(*bus, 1, std::chrono::seconds(10)).size(), 1u);

  testing::sharedRedis().stop();
  const auto t0 = Clock::now();
  auto down = push(*bus, {2});
  ASSERT_FALSE(down);
  EXPECT_TRUE(down.error().isStorageFault()) << down.error().describe();  // the webhook: 503
  EXPECT_EQ(down.error().code, ErrorCode::StorageUnavailable);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));   // no longer than one call timeout
  EXPECT_TRUE(bus->lease(10, milliseconds(200)).empty());  // nothing, and no hang
  EXPECT_FALSE(push(*bus, {2}));                           // still down: fails fast again

  testing::sharedRedis().start();  // without persistence: its data and scripts are gone
  Result<std::vector<PushOutcome>> up = fail(ErrorCode::Internal);
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < deadline && !(up = push(*bus, {3})))
    std::this_thread::sleep_for(milliseconds(50));
  ASSERT_TRUE(up) << up.error().describe();
  EXPECT_EQ(*up, Outcomes{kEnqueued});
  auto resumed = leaseAll(*bus, 1, std::chrono::seconds(15));  // the group is made again
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].update_id, 3);
  EXPECT_TRUE(ack(*bus, resumed[0].id));
}

TEST_F(RedisBusTest, AnUnreachableUrlIsNamedWithoutItsPassword) {
  const uint16_t port = testing::freeLoopbackPort();
  auto o = options();
  o.url = "redis://:s3cret-pw@127.0.0.1:" + std::to_string(port) + "/0";
  auto bus = openRedisBus(o, metrics_);
  ASSERT_FALSE(bus);
  EXPECT_EQ(bus.error().code, ErrorCode::StorageUnavailable);
  EXPECT_NE(bus.error().detail.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << bus.error().detail;
  EXPECT_EQ(bus.error().detail.find("s3cret-pw"), std::string::npos) << bus.error().detail;
}

TEST_F(RedisBusTest, AWrongPasswordIsNamedWithoutThePassword) {
  auto o = options();
  const auto url = *parseRedisUrl(testing::sharedRedis().url());
  o.url = "redis://:wr0ng-pw@127.0.0.1:" + std::to_string(url.port);
  auto bus = openRedisBus(o, metrics_);
  ASSERT_FALSE(bus);  // the test server has no password: AUTH fails
  EXPECT_NE(bus.error().detail.find("AUTH"), std::string::npos) << bus.error().detail;
  EXPECT_EQ(bus.error().detail.find("wr0ng-pw"), std::string::npos) << bus.error().detail;
}

TEST_F(RedisBusTest, AMalformedUrlIsAConfigErrorWithoutItsPassword) {
  auto o = options();
  for (std::string url : {"http://:pw-1@127.0.0.1:6379", "redis://:pw-1@127.0.0.1:notaport",
                          "redis://:pw-1@127.0.0.1:6379/x", "redis://:pw-1@"}) {
    o.url = url;
    auto bus = openRedisBus(o, metrics_);
    ASSERT_FALSE(bus) << url;
    EXPECT_EQ(bus.error().code, ErrorCode::ConfigInvalid) << url;
    EXPECT_EQ(bus.error().detail.find("pw-1"), std::string::npos) << bus.error().detail;
  }
}

TEST(RedisUrlTest, ParsesHostPortDatabaseAndPassword) {
  auto u = parseRedisUrl("redis://:p@ss@example.org:6380/2");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "example.org");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 2);
  EXPECT_EQ(u->password, "p@ss");
  EXPECT_EQ(u->display, "redis://:<redacted>@example.org:6380/2");
  auto plain = parseRedisUrl("redis://localhost");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->db, 0);
  EXPECT_EQ(plain->display, "redis://localhost");
}

}  // namespace
}  // namespace botfn::storage::redis
