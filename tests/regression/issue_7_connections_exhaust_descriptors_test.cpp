// Issue 7, item 16: the HTTP server accepted connections without limit, so a flood of idle
// connections used up the process's file descriptors (and Pistache's listener fails once accept()
// does). Now connections past server.max_connections are answered 503 and closed, and the server
// keeps serving the others — and new ones once some close.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "ingress/http_server.hpp"

namespace botfn::ingress {
namespace {

using namespace std::chrono_literals;

int connectTo(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{10, 0};  // a bound on every read below
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Sends one keep-alive GET and returns the status line ("" when the connection was closed).
std::string get(int fd) {
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) return "";
  std::string in;
  char buf[1024];
  while (in.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  const auto eol = in.find("\r\n");
  return eol == std::string::npos ? in : in.substr(0, eol);
}

// What a connection receives until the server closes it (no request sent); closed is false when
// the read timed out instead.
struct Received {
  std::string bytes;
  bool closed = false;
};
Received readUntilClosed(int fd) {
  Received r;
  char buf[1024];
  while (true) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      r.bytes.append(buf, static_cast<size_t>(n));
      continue;
    }
    r.closed = n == 0 || errno == ECONNRESET;
    return r;
  }
}

TEST(ConnectionCapTest, ConnectionsPastTheCapAreRefusedAndTheServerKeepsServing) {
  Metrics metrics;
  auto router = std::make_shared<Router>();
  router->add("GET", "/healthz", [](HttpRequest&, Responder r) { r.send(200, R"({"ok":true})"); });
  HttpServerOptions o;
  o.port = 0;
  o.threads = 1;
  o.max_connections = 3;
  o.header_timeout = 60s;  // idle connections are closed by the cap, not by a timeout
  HttpServer server(o, router, metrics);
  server.start();
  const uint16_t port = server.port();

  std::vector<int> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(connectTo(port));
    ASSERT_GE(open.back(), 0);
    ASSERT_EQ(get(open.back()), "HTTP/1.1 200 OK") << i;
  }
  const int extra = connectTo(port);  // the kernel accepts it; the server must not keep it
  ASSERT_GE(extra, 0);
  const Received refused = readUntilClosed(extra);
  EXPECT_TRUE(refused.closed) << "the connection past the cap stayed open";
  EXPECT_TRUE(refused.bytes.empty() || refused.bytes.rfind("HTTP/1.1 503", 0) == 0)
      << refused.bytes;
  close(extra);
  EXPECT_EQ(metrics.counterValue("botfn_http_rejected_total", "reason=\"too_many_connections\""),
            1u);

  // The connections within the cap still work.
  EXPECT_EQ(get(open[0]), "HTTP/1.1 200 OK");
  // Once two close, a new connection is served (the count drops as the server sees them go).
  close(open[1]);
  close(open[2]);
  bool served = false;
  const auto end = std::chrono::steady_clock::now() + 20s;
  while (!served && std::chrono::steady_clock::now() < end) {
    const int fd = connectTo(port);
    served = fd >= 0 && get(fd) == "HTTP/1.1 200 OK";
    if (fd >= 0) close(fd);
    if (!served) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(served);
  close(open[0]);
  server.shutdown();
}

}  // namespace
}  // namespace botfn::ingress
