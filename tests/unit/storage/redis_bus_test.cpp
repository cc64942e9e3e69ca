// RedisBus against a private redis-server (sharedRedis()): dedupe keys and XADD in one script
// call, reclaim of a dead consumer's leases (and not of a live one's), the window cap, Redis
// killed and restarted mid-use, and start-up errors that name the URL without its password.
#include <gtest/gtest.h>

#include <thread>

#include "await.hpp"
#include "storage/redis/redis_client.hpp"
#include "storage/redis/redis_factory.hpp"
#include "test_servers.hpp"

namespace botfn::storage::redis {
namespace {

using contract::await;
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
  EXPECT_EQ(commandCalls("evalsha") - evalsha_before, 1);  // one round trip for the batch
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

TEST_F(RedisBusTest, ASecondConsumerReclaimsADeadConsumersLeasesAsRedelivered) {
  auto o = options("dead");
  o.lease_timeout = milliseconds(1000);
  {
    auto dead = open(o);
    ASSERT_TRUE(dead);
    ASSERT_TRUE(push(*dead, {1, 2}));
    auto leased = leaseAll(*dead, 2, std::chrono::seconds(10));
    ASSERT_EQ(leased.size(), 2u);
    EXPECT_FALSE(leased[0].redelivered);
  }  // gone without acking: as a killed process
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

TEST_F(RedisBusTest, ALiveConsumersLeasesAreRenewedNotReclaimed) {
  auto o = options("holder");
  o.lease_timeout = milliseconds(1500);
  auto holder = open(o);
  ASSERT_TRUE(holder);
  ASSERT_TRUE(push(*holder, {1}));
  ASSERT_EQ(leaseAll(*holder, 1, std::chrono::seconds(10)).size(), 1u);
  o.consumer = "other";
  auto other = open(o);
  ASSERT_TRUE(other);
  // The holder keeps leasing (as its dispatcher does), which renews what it holds.
  const auto until = Clock::now() + std::chrono::seconds(4);
  while (Clock::now() < until) {
    EXPECT_TRUE(holder->lease(10, milliseconds(50)).empty());
    EXPECT_TRUE(other->lease(10, milliseconds(50)).empty());
  }
}

// Review finding: renewal ran only when lease() had room, so a process at its window cap lost
// its leases to other instances while still running them.
TEST_F(RedisBusTest, AFullWindowStillRenewsItsLeases) {
  auto o = options("holder");
  o.lease_timeout = milliseconds(1500);
  o.window.max_updates = 1;
  auto holder = open(o);
  ASSERT_TRUE(holder);
  ASSERT_TRUE(push(*holder, {1, 2}));
  ASSERT_EQ(leaseAll(*holder, 1, std::chrono::seconds(10)).size(), 1u);
  ASSERT_TRUE(holder->queueLoad().full);
  o.consumer = "other";
  o.window.max_updates = 20000;
  auto other = open(o);
  ASSERT_TRUE(other);
  ASSERT_EQ(leaseAll(*other, 1, std::chrono::seconds(10))[0].update_id, 2);
  const auto until = Clock::now() + std::chrono::seconds(4);
  while (Clock::now() < until) {
    EXPECT_TRUE(holder->lease(10, milliseconds(50)).empty());  // full: renews only
    EXPECT_TRUE(other->lease(10, milliseconds(50)).empty());
  }
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
