// Implementation of cli_options.hpp: hand-rolled flag parsing with range checks and the
// loopback-only host rule.
#include "cli_options.hpp"

#include "text_utils.hpp"

namespace botfn::fake_telegram {

std::string usageText() {
  return "usage: fake-telegram [--host 127.0.0.1] [--port 0] [--port-file PATH]\n"
         "                     [--token TOKEN]... [--latency-ms N] [--strict-limits]\n"
         "                     [--threads N] [--max-messages-per-chat N] [--max-calls N]\n";
}

bool isLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::optional<CliOptions> parseCli(int argc, char** argv, std::string& error) {
  CliOptions opts;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool hasInline = false;
    if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      hasInline = true;
    }
    auto next = [&]() -> std::optional<std::string> {
      if (hasInline) return value;
      if (i + 1 >= argc) {
        error = arg + " needs a value";
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    auto nextInt = [&](int low, int high) -> std::optional<int> {
      auto text = next();
      if (!text) return std::nullopt;
      auto n = parseInt64(*text);
      if (!n || *n < low || *n > high) {
        error = arg + " expects a number in " + std::to_string(low) + ".." + std::to_string(high);
        return std::nullopt;
      }
      return static_cast<int>(*n);
    };
    if (arg == "--help" || arg == "-h") {
      opts.help = true;
    } else if (arg == "--strict-limits") {
      opts.strictLimits = true;
    } else if (arg == "--host") {
      auto v = next();
      if (!v) return std::nullopt;
      opts.host = *v;
    } else if (arg == "--port-file") {
      auto v = next();
      if (!v) return std::nullopt;
      opts.portFile = *v;
    } else if (arg == "--token") {
      auto v = next();
      if (!v) return std::nullopt;
      opts.tokens.push_back(*v);
    } else if (arg == "--port") {
      auto v = nextInt(0, 65535);
      if (!v) return std::nullopt;
      opts.port = *v;
    } else if (arg == "--latency-ms") {
      auto v = nextInt(0, 600000);
      if (!v) return std::nullopt;
      opts.latencyMs = *v;
    } else if (arg == "--threads") {
      auto v = nextInt(1, 64);
      if (!v) return std::nullopt;
      opts.threads = *v;
    } else if (arg == "--max-messages-per-chat") {
      auto v = nextInt(1, 10000000);
      if (!v) return std::nullopt;
      opts.maxMessagesPerChat = *v;
    } else if (arg == "--max-calls") {
      auto v = nextInt(1, 10000000);
      if (!v) return std::nullopt;
      opts.maxCalls = *v;
    } else {
      error = "unknown argument: " + arg;
      return std::nullopt;
    }
  }
  if (!isLoopbackHost(opts.host)) {
    error = "--host must be a loopback address (127.0.0.0/8, localhost or ::1)";
    return std::nullopt;
  }
  return opts;
}

}  // namespace botfn::fake_telegram
