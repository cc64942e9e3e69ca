// botfn entry point: global initialisation that must precede any thread, then the CLI.
#include "app/cli.hpp"
#include "app/signals.hpp"
#include "net/http_client_curl.hpp"

int main(int argc, char** argv) {
  botfn::net::globalInitCurl();    // before any thread: curl_global_init is not thread-safe
  botfn::app::blockStopSignals();  // every thread inherits the mask; one thread sigwaits
  return botfn::app::runCli(argc, argv);
}
