// Pistache adapter. Pistache parses requests; answers are written raw (core/http_wire.hpp). Two
// Pistache 0.0.5 behaviours are worked around:
// - its ResponseWriter answers "Connection: Close" by default while keeping the socket open (3x
//   slower for keep-alive clients) and drops untyped headers, so every answer states keep-alive
//   explicitly unless the client asked to close;
// - after its own 413 it keeps parsing the rest of the oversized body as new requests, so bodies
//   are measured before Pistache sees them and an oversized request gets one 413 and a closed
//   socket;
// - it accepts connections without limit (and its listener fails once accept() runs out of file
//   descriptors), so open connections are counted here and those past the cap are closed.
#include "ingress/http_server.hpp"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>

#include "core/http_wire.hpp"
#include "core/log.hpp"

namespace botfn::ingress {
namespace {

using namespace Pistache;

// Tcp::Handler::associateTransport is private; the inner HTTP handler needs the outer one's
// transport. Explicit instantiation may name private members: this is the standard-blessed way.
using AssociateFn = void (Tcp::Handler::*)(Tcp::Transport*);
struct AssociateTag {
  friend AssociateFn robbedAssociate(AssociateTag);
};
template <AssociateFn Fn>
struct AssociateRobber {
  friend AssociateFn robbedAssociate(AssociateTag) { return Fn; }
};
template struct AssociateRobber<&Tcp::Handler::associateTransport>;
AssociateFn robbedAssociate(AssociateTag);

struct Shared {
  std::shared_ptr<const Router> router;
  Metrics* metrics;
  size_t max_body;
  size_t max_connections;
  std::atomic<int64_t>* open_connections;  // botfn_http_connections gauge
  std::atomic<uint64_t>* refused_connections;
};

// Counts one open connection for as long as its peer lives: Pistache drops the peer on every
// path that closes the socket (EOF, reset, timeouts, shutdown), so the count cannot drift.
struct ConnectionSlot {
  explicit ConnectionSlot(std::atomic<int64_t>& open) : open_(open) { count_ = ++open_; }
  ~ConnectionSlot() { --open_; }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  int64_t count() const { return count_; }

 private:
  std::atomic<int64_t>& open_;
  int64_t count_;
};

// Pistache queues writes to the reactor loop, so the socket may only be half-closed once the
// write completed (closing at once would drop the response).
void halfCloseAfter(Async::Promise<ssize_t>& sent, std::shared_ptr<Tcp::Peer> peer) {
  sent.then([peer](ssize_t) { ::shutdown(peer->fd(), SHUT_WR); },
            [peer](std::exception_ptr) { ::shutdown(peer->fd(), SHUT_RDWR); });
}

class PistacheSink final : public Responder::Sink {
 public:
  PistacheSink(std::weak_ptr<Tcp::Peer> peer, Http::Version version, bool keep_alive)
      : peer_(std::move(peer)), version_(version), keep_alive_(keep_alive) {}
  void send(HttpResponse r) override {
    if (sent_.exchange(true)) return;
    auto peer = peer_.lock();
    if (!peer) return;  // the client went away before its answer was ready
    try {
      const bool close = r.close || !keep_alive_;
      std::string bytes =
          serializeResponse(WireResponse{Http::versionString(version_), r.status,
                                         Http::codeString(static_cast<Http::Code>(r.status)), close,
                                         r.content_type, &r.headers, r.body});
      const size_t size = bytes.size();
      auto sent = peer->send(RawBuffer(std::move(bytes), size));
      // Pistache marks a peer busy when a request arrives and idle again in its own send path;
      // without this an idle keep-alive connection is closed with a spurious 408.
      peer->setIdle(true);
      if (close) halfCloseAfter(sent, peer);
    } catch (const std::exception& e) {
      log::get("ingress")->warn("response not delivered: {}", e.what());
    }
  }

 private:
  std::weak_ptr<Tcp::Peer> peer_;
  Http::Version version_;
  bool keep_alive_;
  std::atomic<bool> sent_{false};
};

struct PeerGuard {
  size_t pending = 0;  // bytes of the current request seen so far
  std::string head;    // first bytes of the request, to read Content-Length early
  bool head_done = false;
  bool rejected = false;
  size_t discarded = 0;
};

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != static_cast<unsigned char>(b[i]))
      return false;
  }
  return true;
}

std::optional<std::string> rawHeader(const void* native, std::string_view lowercase_name) {
  const auto& raw = *static_cast<const std::unordered_map<std::string, Http::Header::Raw>*>(native);
  for (const auto& [name, value] : raw) {
    if (equalsIgnoreCase(name, lowercase_name)) return value.value();
  }
  return std::nullopt;
}

// Parses requests and runs routes: a plain Http::Handler driven by the outer guard.
class InnerHandler final : public Http::Handler {
 public:
  HTTP_PROTOTYPE(InnerHandler)
  explicit InnerHandler(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  void onRequest(const Http::Request& req, Http::ResponseWriter writer) override {
    HttpRequest request;
    request.method = Http::methodString(req.method());
    request.path = req.resource();
    request.body = req.body();
    request.native = &req.headers().rawList();
    request.native_lookup = &rawHeader;
    bool client_close = req.version() != Http::Version::Http11;
    // Typed headers (Connection...) are not in rawList in Pistache 0.0.5.
    if (auto conn = req.headers().tryGet<Http::Header::Connection>()) {
      client_close = conn->control() == Http::ConnectionControl::Close;
    }
    if (auto peer = writer.getPeer()) {  // request boundary: the guard starts counting afresh
      if (auto g = std::static_pointer_cast<PeerGuard>(peer->tryGetData("botfn.guard"))) {
        g->pending = 0;
        g->head.clear();
        g->head_done = false;
      }
    }
    Responder responder(
        std::make_shared<PistacheSink>(writer.getPeer(), req.version(), !client_close));
    if (request.body.size() > shared_->max_body) {
      HttpResponse r;
      r.status = 413;
      r.body = R"({"ok":false,"error":"BodyTooLarge"})";
      r.close = true;
      responder.send(std::move(r));
      return;
    }
    const RouteHandler* handler = nullptr;
    switch (shared_->router->find(request, &handler)) {
      case Router::Match::Found:
        try {
          (*handler)(request, responder);
        } catch (const std::exception& e) {
          log::get("ingress")->error("handler threw: {}", e.what());
          responder.send(500, R"({"ok":false,"error":"Internal"})");
        }
        return;
      case Router::Match::WrongMethod:
        responder.send(405, R"({"ok":false,"error":"MethodNotAllowed"})");
        return;
      case Router::Match::NotFound:
        responder.send(404, R"({"ok":false,"error":"NotFound"})");
        return;
    }
  }

  void adopt(Tcp::Transport* transport) { (this->*robbedAssociate(AssociateTag{}))(transport); }

 private:
  std::shared_ptr<Shared> shared_;
};

// Registered with the endpoint: measures each request before the inner handler parses it.
class GuardHandler final : public Http::Handler {
 public:
  HTTP_PROTOTYPE(GuardHandler)
  explicit GuardHandler(std::shared_ptr<Shared> shared)
      : shared_(shared), inner_(std::make_shared<InnerHandler>(shared)) {}
  GuardHandler(const GuardHandler& other)
      : Http::Handler(other),
        shared_(other.shared_),
        inner_(std::make_shared<InnerHandler>(other.shared_)) {}

  void onRequest(const Http::Request&, Http::ResponseWriter) override {}  // never reached

  void onConnection(const std::shared_ptr<Tcp::Peer>& peer) override {
    // What Http::Handler::onConnection (private) does: the peer's request parser.
    peer->putData(ParserData, std::make_shared<Http::RequestParser>(getMaxRequestSize()));
    auto slot = std::make_shared<ConnectionSlot>(*shared_->open_connections);
    peer->putData("botfn.slot", slot);
    if (static_cast<size_t>(slot->count()) <= shared_->max_connections) return;
    // Past the cap: one 503 written straight to the socket (it was just accepted, so its buffer
    // is empty), then both directions shut; Pistache sees EOF and closes the descriptor.
    shared_->refused_connections->fetch_add(1, std::memory_order_relaxed);
    auto guard = std::make_shared<PeerGuard>();
    guard->rejected = true;
    peer->putData("botfn.guard", guard);
    static constexpr std::string_view kRefusal =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Content-Length: 41\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        R"({"ok":false,"error":"TooManyConnections"})";
    (void)::send(peer->fd(), kRefusal.data(), kRefusal.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(peer->fd(), SHUT_RDWR);
  }

  void onInput(const char* buffer, size_t len, const std::shared_ptr<Tcp::Peer>& peer) override {
    auto guard = std::static_pointer_cast<PeerGuard>(peer->tryGetData("botfn.guard"));
    if (!guard) {
      guard = std::make_shared<PeerGuard>();
      peer->putData("botfn.guard", guard);
    }
    if (guard->rejected) {
      guard->discarded += len;
      if (guard->discarded > (64u << 20)) ::shutdown(peer->fd(), SHUT_RDWR);
      return;
    }
    if (!adopted_) {
      inner_->adopt(transport());
      adopted_ = true;
    }
    guard->pending += len;
    if (!guard->head_done) {
      std::string_view chunk(buffer, len);
      if (guard->head.empty() && chunk.find("\r\n\r\n") != std::string_view::npos) {
        // The usual case: all headers arrived in this read; no copy needed.
        guard->head_done = true;
        if (contentLength(chunk.substr(0, chunk.find("\r\n\r\n"))) > shared_->max_body)
          return reject(peer, *guard);
      } else {
        guard->head.append(
            buffer, std::min(len, size_t{16384} - std::min(guard->head.size(), size_t{16384})));
        if (auto end = guard->head.find("\r\n\r\n"); end != std::string::npos) {
          guard->head_done = true;
          if (contentLength(std::string_view(guard->head).substr(0, end)) > shared_->max_body)
            return reject(peer, *guard);
        } else if (guard->head.size() >= 16384) {
          guard->head_done = true;  // oversized headers: let the parser's limit answer
        }
      }
    }
    if (guard->pending > shared_->max_body + 16384) return reject(peer, *guard);
    static_cast<Tcp::Handler&>(*inner_).onInput(buffer, len, peer);
  }

 private:
  static size_t contentLength(std::string_view head) {
    static constexpr std::string_view kName = "\r\ncontent-length:";
    for (size_t pos = head.find("\r\n"); pos != std::string_view::npos;
         pos = head.find("\r\n", pos + 2)) {
      if (equalsIgnoreCase(head.substr(pos, kName.size()), kName)) {
        return std::strtoull(std::string(head.substr(pos + kName.size(), 24)).c_str(), nullptr, 10);
      }
    }
    return 0;
  }

  void reject(const std::shared_ptr<Tcp::Peer>& peer, PeerGuard& guard) {
    guard.rejected = true;
    shared_->metrics->counter("botfn_http_rejected_total", "reason=\"body_too_large\"")++;
    Http::ResponseWriter writer(Http::Version::Http11, transport(), this, peer);
    writer.headers().remove<Http::Header::Connection>();
    writer.headers().add<Http::Header::Connection>(Http::ConnectionControl::Close);
    auto sent = writer.send(Http::Code::Request_Entity_Too_Large,
                            R"({"ok":false,"error":"BodyTooLarge"})", MIME(Application, Json));
    // Half-close once written: the client reads the 413, then EOF; what it still sends is
    // discarded.
    halfCloseAfter(sent, peer);
  }

  std::shared_ptr<Shared> shared_;
  std::shared_ptr<InnerHandler> inner_;
  bool adopted_ = false;
};

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  std::shared_ptr<Shared> shared;
  std::unique_ptr<Http::Endpoint> endpoint;
  std::atomic<bool> stopped{false};
};

HttpServer::HttpServer(HttpServerOptions options, std::shared_ptr<const Router> router,
                       Metrics& metrics)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  const auto& o = impl_->options;
  impl_->shared = std::make_shared<Shared>(
      Shared{std::move(router), &metrics, o.max_body_bytes, o.max_connections,
             &metrics.gauge("botfn_http_connections"),
             &metrics.counter("botfn_http_rejected_total", "reason=\"too_many_connections\"")});
}

HttpServer::~HttpServer() { shutdown(); }

namespace {
// Open connections + the process's other descriptors (SQLite, curl, epoll, logs) must fit the
// descriptor limit: raise the soft limit when the cap needs it, and say so when it cannot.
void ensureDescriptorsFor(size_t max_connections) {
  constexpr rlim_t kReserve = 256;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t needed = static_cast<rlim_t>(max_connections) + kReserve;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? needed : std::min(needed, limit.rlim_max);
    (void)setrlimit(RLIMIT_NOFILE, &limit);
    (void)getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    log::get("ingress")->warn(
        "server.max_connections = {} needs {} file descriptors, the limit is {}: lower it or "
        "raise the limit (ulimit -n, LimitNOFILE=)",
        max_connections, needed, static_cast<uint64_t>(limit.rlim_cur));
  }
}
}  // namespace

void HttpServer::start() {
  const auto& o = impl_->options;
  ensureDescriptorsFor(o.max_connections);
  Address addr(o.host, Port(o.port));
  impl_->endpoint = std::make_unique<Http::Endpoint>(addr);
  auto opts = Http::Endpoint::options()
                  .threads(o.threads)
                  .flags(Tcp::Options::ReuseAddr)
                  .maxRequestSize(o.max_body_bytes + 64 * 1024)  // Pistache's default is 4 KiB
                  .maxResponseSize(4 << 20)
                  .headerTimeout(o.header_timeout)
                  .bodyTimeout(o.body_timeout);
  impl_->endpoint->init(opts);
  impl_->endpoint->setHandler(std::make_shared<GuardHandler>(impl_->shared));
  impl_->endpoint->serveThreaded();
}

uint16_t HttpServer::port() const {
  return impl_->endpoint ? static_cast<uint16_t>(impl_->endpoint->getPort()) : 0;
}

void HttpServer::shutdown() {
  if (impl_->endpoint && !impl_->stopped.exchange(true)) impl_->endpoint->shutdown();
}

}  // namespace botfn::ingress
