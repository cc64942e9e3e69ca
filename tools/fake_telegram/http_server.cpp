// Pistache glue for http_server.hpp: the request handler and the Responder that answers from any
// thread (the answer is serialized by core/http_wire.hpp and queued raw on the peer's reactor).
#include "http_server.hpp"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>
#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <sstream>

#include "bot_api.hpp"
#include "control_api.hpp"
#include "core/http_wire.hpp"

namespace botfn::fake_telegram {
namespace {

using namespace Pistache;

// Set once the endpoint shuts down: responders still held by waiters or timers must not touch
// Pistache's transport any more.
std::atomic<bool> gServerStopped{false};

class PistacheResponder : public Responder {
 public:
  PistacheResponder(std::weak_ptr<Tcp::Peer> peer, Http::Version version)
      : peer_(std::move(peer)), version_(version) {}
  ~PistacheResponder() override {
    // Never leave a client hanging if a code path forgot to answer.
    send(apiError(500, "Internal Server Error"));
  }

  void send(HttpReply reply) override {
    std::lock_guard lock(mutex_);
    if (sent_ || gServerStopped) return;
    sent_ = true;
    auto peer = peer_.lock();
    if (!peer) return;  // the client went away
    try {
      if (reply.dropConnection) {
        ::shutdown(peer->fd(), SHUT_RDWR);
        return;
      }
      std::string bytes =
          serializeResponse(WireResponse{Http::versionString(version_), reply.status,
                                         Http::codeString(static_cast<Http::Code>(reply.status)),
                                         false, reply.contentType, &reply.headers, reply.body});
      const size_t size = bytes.size();
      peer->send(RawBuffer(std::move(bytes), size));
      peer->setIdle(true);  // as Pistache's own send path does: else idle peers get a 408
    } catch (const std::exception&) {
      // The client went away; nothing to do.
    }
  }

 private:
  std::mutex mutex_;
  std::weak_ptr<Tcp::Peer> peer_;
  Http::Version version_;
  bool sent_ = false;
};

std::string methodName(Http::Method method) {
  switch (method) {
    case Http::Method::Get:
      return "GET";
    case Http::Method::Post:
      return "POST";
    case Http::Method::Put:
      return "PUT";
    case Http::Method::Delete:
      return "DELETE";
    case Http::Method::Head:
      return "HEAD";
    default:
      return "OTHER";
  }
}

// Pistache keeps query values as sent (percent-encoded); rebuild the raw string for our parser.
std::string rawQuery(const Http::Request& request) {
  const auto& query = request.query();
  std::string out;
  for (auto it = query.parameters_begin(); it != query.parameters_end(); ++it) {
    if (!out.empty()) out += '&';
    out += it->first + "=" + it->second;
  }
  return out;
}

std::string contentType(const Http::Request& request) {
  auto header = request.headers().tryGet<Http::Header::ContentType>();
  if (!header) return "";
  std::ostringstream os;
  header->write(os);
  return os.str();
}

class RequestHandler : public Http::Handler {
 public:
  HTTP_PROTOTYPE(RequestHandler)

  RequestHandler(BotApi* botApi, ControlApi* controlApi)
      : botApi_(botApi), controlApi_(controlApi) {}

  void onRequest(const Http::Request& request, Http::ResponseWriter writer) override {
    auto responder = std::make_shared<PistacheResponder>(writer.getPeer(), request.version());
    const std::string& path = request.resource();
    ParsedParams params =
        parseRequestParams(rawQuery(request), contentType(request), request.body());
    if (path.rfind("/bot", 0) == 0) {
      size_t slash = path.find('/', 4);
      if (slash == std::string::npos || slash + 1 >= path.size()) {
        responder->send(apiError(404, "Not Found"));
        return;
      }
      botApi_->handle(path.substr(4, slash - 4), path.substr(slash + 1), params, responder);
    } else if (path == "/control" || path.rfind("/control/", 0) == 0) {
      controlApi_->handle(methodName(request.method()), path, params, responder);
    } else {
      responder->send(apiError(404, "Not Found"));
    }
  }

 private:
  BotApi* botApi_;
  ControlApi* controlApi_;
};

}  // namespace

HttpServer::HttpServer(BotApi& botApi, ControlApi& controlApi)
    : botApi_(botApi), controlApi_(controlApi) {}

HttpServer::~HttpServer() { stop(); }

uint16_t HttpServer::start(const std::string& host, uint16_t port, int threads) {
  Address address(host, Port(port));
  endpoint_ = std::make_unique<Http::Endpoint>(address);
  auto options = Http::Endpoint::options()
                     .threads(threads)
                     .flags(Tcp::Options::ReuseAddr)
                     .maxRequestSize(kMaxRequestBytes)
                     .maxResponseSize(64u << 20);
  endpoint_->init(options);
  endpoint_->setHandler(Http::make_handler<RequestHandler>(&botApi_, &controlApi_));
  endpoint_->serveThreaded();
  return static_cast<uint16_t>(endpoint_->getPort());
}

void HttpServer::stop() {
  if (endpoint_) {
    gServerStopped = true;
    endpoint_->shutdown();
    endpoint_.reset();
  }
}

}  // namespace botfn::fake_telegram
