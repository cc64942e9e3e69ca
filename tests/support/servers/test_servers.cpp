// Starts and stops the private servers of test_servers.hpp with the packages' own tools
// (initdb, pg_ctl, psql, redis-server).
#include "test_servers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace botfn::testing {
namespace {

std::filesystem::path tempDir(const std::string& kind) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             ("botfn_" + kind + "_" + std::to_string(getpid()) + "_" + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  return dir;
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The newest installed PostgreSQL's server binaries (Debian keeps them out of PATH).
std::filesystem::path postgresBin() {
  std::filesystem::path best;
  if (std::filesystem::is_directory("/usr/lib/postgresql")) {
    for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
      if (std::filesystem::exists(e.path() / "bin" / "initdb") && e.path() > best) best = e.path();
    }
  }
  if (best.empty()) throw std::runtime_error("PostgreSQL is not installed (run tools/setup.sh)");
  return best / "bin";
}

bool canConnect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// In a forked child before exec: a server must not keep the test's descriptors open (a build
// lock held by the test runner would stay held for as long as the server lives).
void closeInheritedDescriptors() {
  for (int fd = 3; fd < 1024; ++fd) close(fd);
}

}  // namespace

uint16_t freeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("no free loopback port");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// ---- PostgreSQL

PostgresServer::PostgresServer(PostgresOptions options) : options_(options) {
  dir_ = tempDir("pg");
  if (getuid() == 0) {
    // initdb refuses to run as root: the data dir belongs to the packages' postgres user.
    const passwd* pw = getpwnam("postgres");
    if (!pw) throw std::runtime_error("no 'postgres' user (run tools/setup.sh)");
    if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown");
  }
  run({(postgresBin() / "initdb").string(), "-D", (dir_ / "data").string(), "-U", "botfn", "-A",
       "trust", "-E", "UTF8", "--no-locale", "--no-sync"});
  port_ = freeLoopbackPort();
  start();
}

PostgresServer::~PostgresServer() {
  try {
    stop();
  } catch (...) {
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void PostgresServer::run(const std::vector<std::string>& argv) const {
  const std::string out = (dir_ / "commands.log").string();
  const pid_t pid = fork();
  if (pid == 0) {
    if (getuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (!pw || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) _exit(126);
    }
    closeInheritedDescriptors();
    const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("postgres test server: " + argv[0] + " failed\n" + log());
  }
}

void PostgresServer::start() {
  const std::string settings =
      "-p " + std::to_string(port_) + " -c listen_addresses=127.0.0.1 -k " + dir_.string() +
      " -c fsync=" + (options_.fsync ? "on" : "off") + " -c max_connections=200";
  run({(postgresBin() / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-l",
       (dir_ / "server.log").string(), "-w", "-t", "60", "-o", settings, "start"});
  running_ = true;
}

void PostgresServer::stop() {
  if (!running_) return;
  running_ = false;
  run({(postgresBin() / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-m", "immediate", "-w",
       "stop"});
}

std::string PostgresServer::url(const std::string& database) const {
  return "postgresql://botfn@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::createDatabase() {
  const std::string name = "t" + std::to_string(++databases_);
  run({"psql", "-q", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "botfn", "-d",
       "postgres", "-c", "CREATE DATABASE " + name});
  return url(name);
}

std::string PostgresServer::log() const {
  return readFile(dir_ / "commands.log") + readFile(dir_ / "server.log");
}

// ---- Redis

RedisServer::RedisServer(bool persistent) : persistent_(persistent) {
  dir_ = tempDir("redis");
  port_ = freeLoopbackPort();
  start();
}

RedisServer::~RedisServer() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void RedisServer::start() {
  // TCP on the picked port (Redis's `port 0` would turn TCP off, not pick one).
  const std::string port = std::to_string(port_);
  const char* appendonly = persistent_ ? "yes" : "no";
  const std::string dir = dir_.string();
  const std::string logfile = (dir_ / "redis.log").string();
  pid_ = fork();
  if (pid_ == 0) {
    closeInheritedDescriptors();
    execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--dir",
           dir.c_str(), "--save", "", "--appendonly", appendonly, "--appendfsync", "always",
           "--logfile", logfile.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 500; ++i) {
    if (canConnect(port_)) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) break;  // exited: the port was taken, or worse
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("redis test server did not start\n" + log());
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

std::string RedisServer::freshPrefix() { return "t" + std::to_string(++prefixes_) + ":"; }

std::string RedisServer::log() const { return readFile(dir_ / "redis.log"); }

std::string psql(const std::string& url, const std::string& query) {
  std::string quoted = "'";
  for (char c : query) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  FILE* out = popen(("psql -tA -q -d '" + url + "' -c " + quoted + " 2>/dev/null").c_str(), "r");
  if (!out) return "";
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, out)) > 0) text.append(buffer, n);
  pclose(out);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// Started on first use, stopped when the test binary exits (static destruction).
PostgresServer& sharedPostgres() {
  static PostgresServer server;
  return server;
}

RedisServer& sharedRedis() {
  static RedisServer server;
  return server;
}

}  // namespace botfn::testing
