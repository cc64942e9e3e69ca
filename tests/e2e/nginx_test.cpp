// Webhooks through a real nginx (infra/nginx/botfn-test.conf + the production locations) to two
// botfn instances on a private PostgreSQL and Redis: each update handled once, both instances
// used, every reply delivered; a dead or 503-answering instance's webhooks go to the other; the
// public site forwards the client's address, hides /metrics and refuses bodies over botfn's limit.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "loopback_listener.hpp"
#include "stack.hpp"
#include "test_servers.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

std::string nginxBinary() {
  for (const char* p : {"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "nginx";
}

// nginx in front of the given instance ports, from the test template, on a free loopback port.
// One process (master_process off), so killing it leaves no workers behind.
class Nginx {
 public:
  Nginx(const std::filesystem::path& dir, const std::vector<int>& upstream_ports) : dir_(dir) {
    const std::filesystem::path infra = std::filesystem::path(BOTFN_SOURCE_DIR) / "infra/nginx";
    std::filesystem::create_directories(dir_ / "snippets");
    std::filesystem::copy_file(infra / "botfn-locations.conf",
                               dir_ / "snippets/botfn-locations.conf");
    std::string servers;
    for (int p : upstream_ports)
      servers +=
          "        server 127.0.0.1:" + std::to_string(p) + " max_fails=2 fail_timeout=5s;\n";
    port_ = testing::freeLoopbackPort();
    std::string conf = readFile(infra / "botfn-test.conf");
    conf = replaceAll(conf, "\n@SERVERS@\n", "\n" + servers);
    conf = replaceAll(conf, "@LISTEN@", "127.0.0.1:" + std::to_string(port_));
    conf = replaceAll(conf, "@DIR@", dir_.string());
    std::ofstream(dir_ / "nginx.conf") << conf;
    process_ =
        std::make_unique<Process>(std::vector<std::string>{nginxBinary(), "-p", dir_.string(), "-c",
                                                           (dir_ / "nginx.conf").string(), "-g",
                                                           "daemon off; master_process off;"},
                                  std::map<std::string, std::string>{}, dir_, "nginx");
  }
  ~Nginx() {
    process_->signal(SIGTERM);
    process_->wait(seconds(10));
  }
  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string log() const { return process_->stderrText() + readFile(dir_ / "error.log"); }

 private:
  std::filesystem::path dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

// An upstream that answers every request 503 after reading all of it, as a stopping (or full)
// instance does; counts the requests and keeps the last one's headers.
class Refuser {
 public:
  Refuser() {
    fd_ = testing::listenOnLoopback(port_);
    thread_ = std::thread([this] {
      for (int c; (c = accept(fd_, nullptr, nullptr)) >= 0; close(c)) {
        std::string in;
        char buf[4096];
        size_t need = std::string::npos;
        for (ssize_t n; (n = read(c, buf, sizeof buf)) > 0;) {
          in.append(buf, static_cast<size_t>(n));
          const size_t end = in.find("\r\n\r\n");
          if (end == std::string::npos) continue;
          if (need == std::string::npos) {
            const size_t at = in.find("Content-Length: ");
            need = end + 4 + (at < end ? std::stoul(in.substr(at + 16)) : 0);
          }
          if (in.size() >= need) break;
        }
        {
          std::lock_guard<std::mutex> lock(mutex_);
          head_ = in.substr(0, in.find("\r\n\r\n"));
        }
        ++requests;
        const std::string reply =
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n";
        (void)!write(c, reply.data(), reply.size());
      }
    });
  }
  ~Refuser() {
    shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  std::string lastHead() {
    std::lock_guard<std::mutex> lock(mutex_);
    return head_;
  }
  std::atomic<int> requests{0};

 private:
  std::mutex mutex_;
  std::string head_;  // of the last request
  uint16_t port_ = 0;
  int fd_ = -1;
  std::thread thread_;
};

const std::string kAccepted = "botfn_ingress_requests_total{bot=\"demo\",status=\"200\"}";

TEST(NginxE2E, WebhooksThroughNginxReachTwoInstancesAndEachIsHandledOnce) {
  const std::string db = testing::sharedPostgres().createDatabase();
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;  // the fake's webhook goes to nginx, set below
  o.env["DATABASE_URL"] = db;
  o.env["REDIS_URL"] = testing::sharedRedis().url();
  o.env["BOTFN_STORAGE_REDIS_PREFIX"] = testing::sharedRedis().freshPrefix();
  Stack s(o);
  const int second = s.startInstance();
  Nginx nginx(s.dir() / "nginx", {s.port(), second});
  ASSERT_TRUE(
      waitUntil([&] { return s.request("GET", nginx.url("/healthz")).status == 200; }, seconds(20)))
      << nginx.log();
  auto set = s.request("POST", s.fakeUrl() + "/bot" + s.token() + "/setWebhook",
                       nlohmann::json{{"url", nginx.url("/tg/demo/webhook")},
                                      {"secret_token", "e2e_Secret-123"},
                                      {"max_connections", 40}}
                           .dump(),
                       {{"Content-Type", "application/json"}});
  ASSERT_EQ(set.status, 200) << set.body;

  constexpr int kChats = 20, kPerChat = 10;
  for (int i = 0; i < kPerChat; ++i) {
    for (int c = 0; c < kChats; ++c) s.say(5000 + c, "m" + std::to_string(i));
  }
  const std::string total = std::to_string(kChats * kPerChat);
  EXPECT_TRUE(
      waitUntil([&] { return testing::psql(db, "SELECT count(*) FROM botfn.processed") == total; },
                seconds(120)))
      << testing::psql(db, "SELECT count(*) FROM botfn.processed") << "\n"
      << s.logs() << nginx.log();
  // Each update's handler committed once: one reply row each.
  EXPECT_EQ(testing::psql(db, "SELECT count(*) FROM botfn.outbox"), total);
  // Until instances take chats by partition and each sender drains its own lanes (issue 8 §4),
  // two instances may handle one chat's updates side by side and both may send an outbox row:
  // today each chat gets every reply, possibly out of order and more than once. Flip this when
  // that lands; the assertions below then hold exactly.
  constexpr bool kInstancesOwnTheirChats = true;  // partitioned lanes (issue 8 §4)
  for (int c = 0; c < kChats; ++c) {
    const int64_t chat = 5000 + c;
    std::vector<std::string> want;
    for (int i = 0; i < kPerChat; ++i) want.push_back("echo m" + std::to_string(i));
    std::vector<std::string> got, firsts;
    waitUntil(
        [&] {
          got.clear();
          firsts.clear();
          for (const auto& m : s.messages(chat)) {
            got.push_back(m.value("text", ""));
            if (std::find(firsts.begin(), firsts.end(), got.back()) == firsts.end())
              firsts.push_back(got.back());
          }
          return firsts.size() >= kPerChat;
        },
        seconds(60));
    auto sorted = firsts;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, want) << "chat " << chat << ": every reply arrives";
    if (kInstancesOwnTheirChats) {
      EXPECT_EQ(got, want) << "chat " << chat << ": each reply once, in order";
      // The order the handlers committed in (outbox ids), apart from the sending.
      EXPECT_EQ(testing::psql(db,
                              "SELECT string_agg(substring(params from 'echo m[0-9]+'), ' ' "
                              "ORDER BY id) FROM botfn.outbox WHERE chat_id = " +
                                  std::to_string(chat)),
                "echo m0 echo m1 echo m2 echo m3 echo m4 echo m5 echo m6 echo m7 echo m8 echo m9")
          << "chat " << chat;
    }
  }
  const double first_got = s.metric(kAccepted), second_got = s.metric(kAccepted, second);
  EXPECT_GT(first_got, 0) << "nginx sent nothing to the first instance";
  EXPECT_GT(second_got, 0) << "nginx sent nothing to the second instance";
  EXPECT_GE(first_got + second_got, kChats * kPerChat);
  EXPECT_EQ(testing::psql(db, "SELECT count(*) FROM botfn.dead_letters"), "0");
}

// A dead instance refuses connections: nginx passes each webhook to the live one, so the sender
// (Telegram) sees only 200s. Then the public site's limits.
TEST(NginxE2E, ADeadInstanceIsSkippedAndThePublicSiteKeepsItsLimits) {
  const std::string db = testing::sharedPostgres().createDatabase();
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  o.env["DATABASE_URL"] = db;
  o.env["REDIS_URL"] = testing::sharedRedis().url();
  o.env["BOTFN_STORAGE_REDIS_PREFIX"] = testing::sharedRedis().freshPrefix();
  Stack s(o);
  const int second = s.startInstance();
  Nginx nginx(s.dir() / "nginx", {s.port(), second});
  ASSERT_TRUE(
      waitUntil([&] { return s.request("GET", nginx.url("/healthz")).status == 200; }, seconds(20)))
      << nginx.log();
  s.knowChat(6000);  // so the replies can be sent
  s.instance(0).kill9();
  const net::Headers headers{{"Content-Type", "application/json"},
                             {"X-Telegram-Bot-Api-Secret-Token", "e2e_Secret-123"}};
  for (int i = 0; i < 20; ++i) {
    auto r = s.request("POST", nginx.url("/tg/demo/webhook"),
                       userMessage(7000 + i, 6000, "m" + std::to_string(i)).dump(), headers);
    EXPECT_EQ(r.status, 200) << i << " " << r.body << r.error;
  }
  EXPECT_TRUE(
      waitUntil([&] { return testing::psql(db, "SELECT count(*) FROM botfn.processed") == "20"; },
                seconds(120)))
      << s.logs() << nginx.log();

  // botfn's body limit (server.max_body_bytes, 1 MiB) is nginx's: a larger body stops there.
  auto big =
      s.request("POST", nginx.url("/tg/demo/webhook"), std::string((1 << 20) + 1, 'x'), headers);
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(s.metric("botfn_http_rejected_total{reason=\"body_too_large\"}"), 0);
  EXPECT_EQ(s.request("GET", nginx.url("/metrics")).status, 403);
  EXPECT_EQ(s.request("GET", nginx.url("/admin/x")).status, 403);
  EXPECT_EQ(s.request("GET", nginx.url("/tg/demo/webhook")).status, 403);  // POST only
  EXPECT_EQ(s.request("GET", nginx.url("/elsewhere")).status, 404);
  EXPECT_EQ(s.request("GET", nginx.url("/readyz")).status, 200);
}

// An instance that answers 503 (stopping, or its queue full) has not stored the update: nginx
// sends the webhook on to another instance (proxy_next_upstream http_503 non_idempotent: a POST
// already sent is not retried otherwise), so Telegram sees 200s and nothing waits for its retry.
TEST(NginxE2E, A503FromOneInstanceIsRetriedOnTheOther) {
  StackOptions o;
  o.app = "testbot";
  o.webhook = false;
  Stack s(o);
  Refuser refuser;
  Nginx nginx(s.dir() / "nginx", {refuser.port(), s.port()});
  ASSERT_TRUE(
      waitUntil([&] { return s.request("GET", nginx.url("/healthz")).status == 200; }, seconds(20)))
      << nginx.log();
  s.knowChat(6100);
  const net::Headers headers{{"Content-Type", "application/json"},
                             {"X-Telegram-Bot-Api-Secret-Token", "e2e_Secret-123"}};
  for (int i = 0; i < 10; ++i) {
    auto r = s.request("POST", nginx.url("/tg/demo/webhook"),
                       userMessage(8000 + i, 6100, "m" + std::to_string(i)).dump(), headers);
    EXPECT_EQ(r.status, 200) << i << " " << r.body << r.error;
  }
  EXPECT_GE(refuser.requests.load(), 1) << "nginx never tried the refusing instance";
  // What an instance sees: the client's address, and a request that keeps the connection open.
  const std::string head = refuser.lastHead();
  EXPECT_NE(head.find("\r\nX-Real-IP: 127.0.0.1\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nX-Forwarded-For: 127.0.0.1\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("POST /tg/demo/webhook HTTP/1.1\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("Connection:"), std::string::npos) << head;
  EXPECT_TRUE(
      waitUntil([&] { return s.sql("SELECT count(*) FROM processed") == "10"; }, seconds(60)))
      << s.sql("SELECT count(*) FROM processed") << s.logs();
}

}  // namespace
}  // namespace botfn::e2e
