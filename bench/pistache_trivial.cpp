// The peer for bench/run.sh: a trivial Pistache handler answering 200 {"ok":true}, with the same
// keep-alive fix as botfn (Pistache 0.0.5 pre-sets "Connection: Close"), same thread count.
// Usage: pistache_trivial PORT THREADS [--no-keepalive]
#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <signal.h>

#include <cstdlib>
#include <cstring>

using namespace Pistache;

static bool g_keep_alive = true;

class Trivial final : public Http::Handler {
 public:
  HTTP_PROTOTYPE(Trivial)
  void onRequest(const Http::Request&, Http::ResponseWriter w) override {
    if (g_keep_alive) {
      w.headers().remove<Http::Header::Connection>();
      w.headers().add<Http::Header::Connection>(Http::ConnectionControl::KeepAlive);
    }
    w.send(Http::Code::Ok, "{\"ok\":true}", MIME(Application, Json));
  }
};

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  g_keep_alive = !(argc > 3 && std::strcmp(argv[3], "--no-keepalive") == 0);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Http::Endpoint endpoint(Address("127.0.0.1", Port(static_cast<uint16_t>(std::atoi(argv[1])))));
  endpoint.init(Http::Endpoint::options()
                    .threads(std::atoi(argv[2]))
                    .maxRequestSize(1 << 20)
                    .flags(Tcp::Options::ReuseAddr));
  endpoint.setHandler(std::make_shared<Trivial>());
  endpoint.serveThreaded();
  int sig = 0;
  sigwait(&set, &sig);
  endpoint.shutdown();
  return 0;
}
