// The private test servers come up on loopback, take fresh databases, and survive a crash-stop
// and restart on the same data (what the outage tests of the production backends rely on).
#include "test_servers.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace botfn::testing {
namespace {

bool listening(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

TEST(TestServers, PostgresStartsTakesDatabasesAndRestarts) {
  PostgresServer pg;
  EXPECT_TRUE(listening(pg.port()));
  const std::string first = pg.createDatabase();
  EXPECT_NE(first.find("postgresql://botfn@127.0.0.1:"), std::string::npos) << first;
  pg.stop();
  EXPECT_FALSE(listening(pg.port()));
  pg.start();
  EXPECT_NE(pg.createDatabase(), first);
}

TEST(TestServers, RedisStartsAndRestarts) {
  RedisServer redis;
  EXPECT_TRUE(listening(redis.port()));
  EXPECT_NE(redis.freshPrefix(), redis.freshPrefix());
  redis.stop();
  EXPECT_FALSE(listening(redis.port()));
  redis.start();
  EXPECT_TRUE(listening(redis.port()));
}

}  // namespace
}  // namespace botfn::testing
