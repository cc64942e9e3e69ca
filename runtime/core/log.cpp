// JSON-lines formatter with redaction and a thread-local trace id (spdlog 1.10 has no per-thread
// context, so the formatter reads a thread_local). One sink (stderr) shared by all loggers.
#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <ctime>
#include <mutex>
#include <shared_mutex>
#include <vector>

namespace botfn::log {
namespace {

thread_local std::string t_trace;

std::shared_mutex g_secrets_mutex;
std::vector<std::string> g_secrets;

std::mutex g_loggers_mutex;
spdlog::sink_ptr g_sink;
spdlog::level::level_enum g_level = spdlog::level::info;
bool g_json = true;

void appendEscaped(spdlog::memory_buf_t& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        break;
      case '\\':
        out.append(std::string_view("\\\\"));
        break;
      case '\n':
        out.append(std::string_view("\\n"));
        break;
      case '\r':
        out.append(std::string_view("\\r"));
        break;
      case '\t':
        out.append(std::string_view("\\t"));
        break;
      default:
        if (c < 0x20) {
          const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          out.append(esc, esc + 6);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    const auto since = msg.time.time_since_epoch();
    const std::time_t secs = duration_cast<seconds>(since).count();
    const auto millis = duration_cast<milliseconds>(since).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(millis));
    const std::string text = redact(std::string(msg.payload.data(), msg.payload.size()));
    if (!g_json) {
      fmt::format_to(std::back_inserter(dest), "{} {} [{}]{}{} {}\n", ts,
                     spdlog::level::to_string_view(msg.level),
                     std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                     t_trace.empty() ? "" : " trace=", t_trace, text);
      return;
    }
    dest.append(std::string_view("{\"ts\":\""));
    dest.append(std::string_view(ts));
    dest.append(std::string_view("\",\"level\":\""));
    const auto lvl = spdlog::level::to_string_view(msg.level);
    dest.append(lvl.data(), lvl.data() + lvl.size());
    dest.append(std::string_view("\",\"logger\":\""));
    appendEscaped(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    dest.append(std::string_view("\""));
    if (!t_trace.empty()) {
      dest.append(std::string_view(",\"trace\":\""));
      appendEscaped(dest, t_trace);
      dest.append(std::string_view("\""));
    }
    dest.append(std::string_view(",\"msg\":\""));
    appendEscaped(dest, text);
    dest.append(std::string_view("\"}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

spdlog::sink_ptr sink() {
  if (!g_sink) {
    g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    g_sink->set_formatter(std::make_unique<JsonFormatter>());
  }
  return g_sink;
}

}  // namespace

void init(const std::string& level, bool json) {
  std::lock_guard lock(g_loggers_mutex);
  g_level = spdlog::level::from_str(level);
  g_json = json;
  sink();
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->set_level(g_level); });
}

void addSecret(const std::string& secret) {
  if (secret.size() < 4) return;  // redacting tiny strings would shred ordinary text
  std::unique_lock lock(g_secrets_mutex);
  for (const auto& s : g_secrets) {
    if (s == secret) return;
  }
  g_secrets.push_back(secret);
}

std::string redact(std::string text) {
  std::shared_lock lock(g_secrets_mutex);
  for (const auto& secret : g_secrets) {
    for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
      text.replace(pos, secret.size(), "<redacted>");
      pos += 10;
    }
  }
  return text;
}

std::shared_ptr<spdlog::logger> get(const std::string& name) {
  std::lock_guard lock(g_loggers_mutex);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(name, sink());
  logger->set_level(g_level);
  logger->flush_on(spdlog::level::info);
  spdlog::register_logger(logger);
  return logger;
}

TraceScope::TraceScope(std::string trace) : previous_(std::move(t_trace)) {
  t_trace = std::move(trace);
}
TraceScope::~TraceScope() { t_trace = std::move(previous_); }
const std::string& currentTrace() { return t_trace; }

}  // namespace botfn::log
