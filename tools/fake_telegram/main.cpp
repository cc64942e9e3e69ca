// fake-telegram entry point: parses the CLI, wires store, scheduler, Bot API, control API,
// webhook delivery and the HTTP server, publishes the bound port and waits for SIGTERM/SIGINT.
#include <curl/curl.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <regex>

#include "bot_api.hpp"
#include "cli_options.hpp"
#include "control_api.hpp"
#include "http_server.hpp"
#include "scheduler.hpp"
#include "webhook_delivery.hpp"

namespace {

using namespace botfn::fake_telegram;

// Writes to a temporary name and renames, so readers never see a partial file.
bool writePortFile(const std::string& path, uint16_t port) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << port << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Block termination signals before any thread starts; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string error;
  auto options = parseCli(argc, argv, error);
  if (!options) {
    std::cerr << "fake-telegram: " << error << "\n" << usageText();
    return 2;
  }
  if (options->help) {
    std::cout << usageText();
    return 0;
  }
  static const std::regex kToken("^[0-9]+:[A-Za-z0-9_-]+$");
  for (const auto& token : options->tokens) {
    if (!std::regex_match(token, kToken)) {
      std::cerr << "fake-telegram: invalid token: " << token << "\n";
      return 2;
    }
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  {
    Store store(
        RuntimeConfig{.latencyMs = options->latencyMs,
                      .strictLimits = options->strictLimits,
                      .maxMessagesPerChat = static_cast<size_t>(options->maxMessagesPerChat),
                      .maxCalls = static_cast<size_t>(options->maxCalls)});
    {
      auto lock = store.lock();
      for (const auto& token : options->tokens) store.registerBot(token, "", "");
    }
    Scheduler scheduler;
    ServerContext ctx{store, scheduler, {}};
    BotApi botApi(ctx);
    ControlApi controlApi(ctx);
    WebhookDelivery delivery(store, [&botApi](const std::string& token, const Json& body) {
      botApi.handleWebhookReply(token, body);
    });
    ctx.wakeDelivery = [&delivery] { delivery.wake(); };
    HttpServer server(botApi, controlApi);

    uint16_t port = 0;
    try {
      port = server.start(options->host, static_cast<uint16_t>(options->port), options->threads);
    } catch (const std::exception& e) {
      std::cerr << "fake-telegram: cannot listen on " << options->host << ":" << options->port
                << ": " << e.what() << "\n";
      return 1;
    }
    delivery.start();
    if (!options->portFile.empty() && !writePortFile(options->portFile, port)) {
      std::cerr << "fake-telegram: cannot write port file " << options->portFile << "\n";
      return 1;
    }
    std::printf("fake-telegram listening on %s:%u\n", options->host.c_str(), port);
    std::fflush(stdout);

    int received = 0;
    sigwait(&signals, &received);
    // Timers first (joins the thread, so no callback is mid-send), then delivery, then the
    // endpoint; responders still held by the store become no-ops once the server stops.
    scheduler.stop();
    delivery.stop();
    server.stop();
  }
  curl_global_cleanup();
  return 0;
}
