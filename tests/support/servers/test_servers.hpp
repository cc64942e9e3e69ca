// Private PostgreSQL and Redis servers for tests, from Debian's packages: each in its own temp
// dir on a free loopback port, stopped and removed at the end. Never the machine's own services.
// sharedPostgres()/sharedRedis() start one per test binary on first use; tests take a fresh
// database (or key prefix) each, so they never see each other's data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace botfn::testing {

// A port nobody listens on right now (bound and released: another process could still take it
// before the server does, which the servers' start reports).
uint16_t freeLoopbackPort();

struct PostgresOptions {
  bool fsync = false;  // contract tests need no power-loss durability; benchmarks set true
};

class PostgresServer {
 public:
  // initdb (as user postgres when run as root: initdb refuses root) + pg_ctl start. Throws with
  // the server's log when it does not come up.
  explicit PostgresServer(PostgresOptions options = {});
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  uint16_t port() const { return port_; }
  // postgresql://botfn@127.0.0.1:<port>/<database> (trust auth on loopback, no password).
  std::string url(const std::string& database = "postgres") const;
  // CREATE DATABASE with a fresh name; returns its URL.
  std::string createDatabase();
  // Outage tests: stop (immediate, as a crash) and start again on the same port and data.
  void stop();
  void start();
  std::string log() const;

 private:
  // Runs a PostgreSQL tool as the data dir's owner, its output appended to commands.log; throws
  // on failure.
  void run(const std::vector<std::string>& argv) const;

  PostgresOptions options_;
  std::filesystem::path dir_;
  uint16_t port_ = 0;
  bool running_ = false;
  int databases_ = 0;
};

class RedisServer {
 public:
  // redis-server on a free loopback port; persistent: appendonly with an fsync per write (what
  // docs/operations.md asks of production), so a kill and a start keep what it acknowledged.
  explicit RedisServer(bool persistent = false);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:<port>
  // A key prefix no other test used in this server.
  std::string freshPrefix();
  void stop();  // SIGKILL: as a crash (the data is gone, as after a restart without persistence)
  void start();
  std::string log() const;

 private:
  std::filesystem::path dir_;
  uint16_t port_ = 0;
  int pid_ = -1;
  int prefixes_ = 0;
  bool persistent_ = false;
};

// psql -tA on url: the rows as text, one per line, trailing newline removed ("" on error).
std::string psql(const std::string& url, const std::string& query);

PostgresServer& sharedPostgres();
RedisServer& sharedRedis();

}  // namespace botfn::testing
