// Structured logging: JSON lines through spdlog, one named logger per stage, the update id as
// trace id on every line of that update's work, and secrets (bot tokens) redacted before output.
// Used by every stage; configured once by app/.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <memory>
#include <string>

namespace botfn::log {

// Installs the JSON formatter on every logger created through get(); level as in spdlog ("info").
void init(const std::string& level, bool json = true);
// Registers a string that must never appear in logs (a bot token, a secret). Thread-safe.
void addSecret(const std::string& secret);
// Replaces every registered secret in text by "<redacted>".
std::string redact(std::string text);
// The named stage logger ("ingress", "flow", "lua", "sender", ...), created on first use.
std::shared_ptr<spdlog::logger> get(const std::string& name);

// The trace id (update id) carried by every log line of the current thread while a scope lives.
class TraceScope {
 public:
  explicit TraceScope(std::string trace);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  std::string previous_;
};
const std::string& currentTrace();

}  // namespace botfn::log
