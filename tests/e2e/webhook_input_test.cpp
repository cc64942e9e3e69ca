// What the webhook accepts and refuses: secrets, malformed bodies, oversized bodies (one 413,
// connection closed, server still serving), unknown bots, duplicates, the largest legal update,
// and every captured real update of the corpus.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "stack.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

StackOptions quiet() {
  StackOptions o;
  o.webhook = false;  // the test posts updates itself
  o.app = "testbot";
  return o;
}

TEST(WebhookInputTest, SecretIsRequiredAndChecked) {
  Stack s(quiet());
  const auto body = userMessage(1, 10, "hi").dump();
  EXPECT_EQ(s.postUpdate(body, std::string("wrong_secret")).status, 401);
  EXPECT_EQ(s.postUpdate(body, std::string("")).status, 401);
  EXPECT_EQ(s.postUpdate(body).status, 200);
  EXPECT_EQ(s.metric("botfn_ingress_requests_total{bot=\"demo\",status=\"401\"}"), 2);
  EXPECT_EQ(s.sql("SELECT count(*) FROM seen_updates"), "1");
}

TEST(WebhookInputTest, MalformedBodiesGet400AndChangeNothing) {
  Stack s(quiet());
  EXPECT_EQ(s.postUpdate("{\"update_id\": 1,").status, 400);
  EXPECT_EQ(s.postUpdate("[1,2,3]").status, 400);
  EXPECT_EQ(s.postUpdate("{\"message\":{}}").status, 400);
  EXPECT_EQ(s.postUpdate("{\"update_id\":\"12\"}").status, 400);
  EXPECT_EQ(s.postUpdate("{\"update_id\":1.5}").status, 400);
  auto deep = s.postUpdate(std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_EQ(deep.status, 400);
  EXPECT_NE(deep.body.find("TooDeep"), std::string::npos);
  EXPECT_EQ(s.sql("SELECT count(*) FROM inbound") + s.sql("SELECT count(*) FROM seen_updates"),
            "00");
  EXPECT_EQ(s.postUpdate(userMessage(2, 10, "still alive").dump()).status, 200);
}

TEST(WebhookInputTest, UnknownBotIs404) {
  Stack s(quiet());
  EXPECT_EQ(s.postUpdate(userMessage(1, 10, "x").dump(), std::nullopt, "nobody").status, 404);
}

TEST(WebhookInputTest, DuplicateUpdateIsAnsweredAndProcessedOnce) {
  Stack s(quiet());
  s.knowChat(11);
  const auto body = userMessage(77, 11, "once").dump();
  EXPECT_EQ(s.postUpdate(body).status, 200);
  EXPECT_EQ(s.postUpdate(body).status, 200);
  ASSERT_TRUE(s.waitMetric("botfn_ingress_duplicates_total{bot=\"demo\"}", 1));
  ASSERT_TRUE(
      s.waitMetric("botfn_sends_total{bot=\"demo\",method=\"sendMessage\",result=\"ok\"}", 1));
  EXPECT_EQ(s.sql("SELECT count(*) FROM processed"), "1");
  EXPECT_EQ(s.calls("sendMessage").size(), 1u);
}

TEST(WebhookInputTest, UnknownKindsAndEmptyUpdatesAreAcceptedAndMarked) {
  Stack s(quiet());
  EXPECT_EQ(s.postUpdate(R"({"update_id":5,"brand_new_kind":{"x":1}})").status, 200);
  EXPECT_EQ(s.postUpdate(R"({"update_id":6})").status, 200);
  ASSERT_TRUE(
      waitUntil([&] { return s.sql("SELECT count(*) FROM processed") == "2"; }, seconds(10)));
  EXPECT_EQ(s.sql("SELECT count(*) FROM processed WHERE handled = 0"), "2");
  // A kind the Bot API does not define counts as "other": made-up keys cannot grow the series.
  EXPECT_EQ(s.metric("botfn_updates_unhandled_total{bot=\"demo\",kind=\"other\"}"), 1);
  EXPECT_EQ(s.metric("botfn_updates_unhandled_total{bot=\"demo\",kind=\"none\"}"), 1);
}

TEST(WebhookInputTest, LargestLegalUpdateIsAccepted) {
  Stack s(quiet());
  s.knowChat(12);
  // 4096 Cyrillic characters arrive \u-escaped (~25 KB); pad the update to ~200 KB with entities.
  std::string text;
  for (int i = 0; i < 4096; ++i) text += "\u0416";
  auto update = userMessage(9, 12, text);
  auto& entities = update["message"]["entities"] = nlohmann::json::array();
  for (int i = 0; i < 2000; ++i)
    entities.push_back({{"type", "bold"}, {"offset", i}, {"length", 1}});
  const std::string body = update.dump(-1, ' ', true);  // ensure_ascii: \u escapes like Telegram
  ASSERT_GT(body.size(), 100000u);
  auto r = s.postUpdate(body);
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  ASSERT_TRUE(waitUntil([&] { return s.lastText(12) == "echo long 8192"; }, seconds(15)))
      << s.lastText(12);
}

int connectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  return fd;
}

TEST(WebhookInputTest, FiveMegabyteBodyGetsOne413AndTheConnectionCloses) {
  Stack s(quiet());
  int fd = connectTo(s.port());
  ASSERT_GE(fd, 0);
  const std::string body(5 << 20, 'x');
  const std::string head =
      "POST /tg/demo/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "X-Telegram-Bot-Api-Secret-Token: e2e_Secret-123\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  size_t sent = 0;
  while (sent < body.size()) {
    const ssize_t n =
        send(fd, body.data() + sent, std::min<size_t>(65536, body.size() - sent), MSG_NOSIGNAL);
    if (n <= 0) break;  // the server stopped reading: fine
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[4096];
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (true) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;  // EOF: the server closed the connection
    response.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  size_t count = 0;
  for (size_t pos = response.find("HTTP/1.1 "); pos != std::string::npos;
       pos = response.find("HTTP/1.1 ", pos + 1))
    ++count;
  EXPECT_EQ(count, 1u) << response.substr(0, 500);
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response.substr(0, 200);
  EXPECT_EQ(s.postUpdate(userMessage(3, 10, "after").dump()).status, 200);  // still serving
  EXPECT_EQ(s.metric("botfn_http_rejected_total{reason=\"body_too_large\"}"), 1);
}

std::string readSome(int fd, std::chrono::seconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[4096];
  const ssize_t n = recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

TEST(WebhookInputTest, Http11ClientsGetKeepAlive) {
  Stack s(quiet());
  int fd = connectTo(s.port());
  ASSERT_GE(fd, 0);
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  for (int i = 0; i < 2; ++i) {  // the same connection serves a second request
    ASSERT_EQ(send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    const std::string response = readSome(fd, seconds(5));
    EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
    EXPECT_NE(response.find("Connection: Keep-Alive"), std::string::npos) << response;
  }
  close(fd);
  fd = connectTo(s.port());
  const std::string closing =
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  send(fd, closing.data(), closing.size(), MSG_NOSIGNAL);
  EXPECT_NE(readSome(fd, seconds(5)).find("Connection: Close"), std::string::npos);
  close(fd);
}

StackOptions withOneSecondTimeouts() {
  StackOptions o = quiet();
  o.toml_extra = "[server]\nheader_timeout_s = 1\nbody_timeout_s = 1\n";
  return o;
}

// Review finding: answers written raw left the peer marked busy, so an idle keep-alive connection
// (Telegram keeps its webhook connections) got a spurious 408 once the header timeout passed.
TEST(WebhookInputTest, AnIdleKeepAliveConnectionGetsNoSpurious408) {
  Stack s(withOneSecondTimeouts());
  int fd = connectTo(s.port());
  ASSERT_GE(fd, 0);
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  ASSERT_EQ(send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  EXPECT_EQ(readSome(fd, seconds(5)).rfind("HTTP/1.1 200", 0), 0u);
  // Idle for well past the header timeout: nothing may arrive on the connection.
  const std::string unsolicited = readSome(fd, seconds(3));
  EXPECT_EQ(unsolicited.find("408"), std::string::npos) << unsolicited;
  ASSERT_EQ(send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  EXPECT_EQ(readSome(fd, seconds(5)).rfind("HTTP/1.1 200", 0), 0u);  // still the same connection
  close(fd);
}

TEST(WebhookInputTest, SlowHeadersTimeOut) {
  Stack s(withOneSecondTimeouts());
  int fd = connectTo(s.port());
  ASSERT_GE(fd, 0);
  const std::string partial = "POST /tg/demo/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
  const auto started = std::chrono::steady_clock::now();
  const std::string response = readSome(fd, seconds(10));  // 408, or the connection closed
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(8)) << response;
  if (!response.empty()) EXPECT_EQ(response.rfind("HTTP/1.1 408", 0), 0u) << response;
  close(fd);
  EXPECT_EQ(s.postUpdate(userMessage(4, 10, "still serving").dump()).status, 200);
}

TEST(WebhookInputTest, EveryCorpusUpdateIsHandledWithoutDeadLetters) {
  StackOptions o = quiet();
  o.app = "demo";
  Stack s(o);
  int64_t next_id = 5000000;
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(BOTFN_TEST_DATA_DIR) +
                                                           "/telegram-updates")) {
    if (e.path().extension() != ".json") continue;
    auto j = nlohmann::json::parse(readFile(e.path()));
    j["update_id"] = ++next_id;
    auto r = s.postUpdate(j.dump());
    ASSERT_EQ(r.status, 200) << e.path() << " " << r.body << r.error;
    ++files;
  }
  ASSERT_EQ(files, 66);
  ASSERT_TRUE(
      waitUntil([&] { return s.sql("SELECT count(*) FROM processed") == "66"; }, seconds(60)))
      << s.sql("SELECT count(*) FROM processed") << s.logs();
  EXPECT_EQ(s.sql("SELECT count(*) FROM dead_letters"), "0")
      << s.sql("SELECT error FROM dead_letters");
  EXPECT_TRUE(s.botfn().running());
  EXPECT_GT(std::stoi(s.sql("SELECT count(*) FROM processed WHERE handled = 0")), 0);
}

}  // namespace
}  // namespace botfn::e2e
