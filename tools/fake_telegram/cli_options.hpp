// Command-line parsing for fake-telegram (--host, --port, --port-file, --token, --latency-ms,
// --strict-limits, --threads, --max-messages-per-chat, --max-calls). Used by main.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace botfn::fake_telegram {

struct CliOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string portFile;
  std::vector<std::string> tokens;
  int latencyMs = 0;
  bool strictLimits = false;
  int threads = 2;
  int maxMessagesPerChat = 10000;  // older messages of a chat are evicted
  int maxCalls = 20000;            // older entries of a bot's call log are evicted
  bool help = false;
};

// Returns nullopt and sets error on invalid input. Accepts "--flag value" and "--flag=value".
std::optional<CliOptions> parseCli(int argc, char** argv, std::string& error);
std::string usageText();
// 127.0.0.0/8, "localhost" or "::1".
bool isLoopbackHost(const std::string& host);

}  // namespace botfn::fake_telegram
