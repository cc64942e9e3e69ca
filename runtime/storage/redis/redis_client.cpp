// hiredis 0.14 behind RedisConnection: blocking contexts with socket timeouts (redisSetTimeout),
// dropped and opened again after any I/O error, since hiredis leaves a failed context unusable.
#include "storage/redis/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <charconv>

#include "core/log.hpp"

namespace botfn::storage::redis {
namespace {

timeval toTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

Reply copyReply(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::String;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::Status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::Error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::Integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::Array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(copyReply(r->element[i]));
      break;
    default:
      out.type = Reply::Type::Nil;
  }
  return out;
}

// The URL with what sits between "//:" (or "//user:") and '@' replaced: also for malformed input.
std::string hidePassword(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  const size_t colon = url.find(':', start);
  const size_t from = colon != std::string_view::npos && colon < at ? colon + 1 : start;
  return std::string(url.substr(0, from)) + "<redacted>" + std::string(url.substr(at));
}

bool parseInt(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<RedisUrl> parseRedisUrl(std::string_view url) {
  RedisUrl u;
  u.display = hidePassword(url);
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::ConfigInvalid,
                "redis URL '" + u.display + "' is not valid: " + std::string(why));
  };
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) return bad("expected redis://host[:port][/db]");
  std::string_view rest = url.substr(kScheme.size());
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const size_t colon = auth.find(':');
    // A user name (Redis 6 ACLs) is not supported: AUTH with the password only.
    u.password = std::string(colon == std::string_view::npos ? auth : auth.substr(colon + 1));
  }
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty() && (!parseInt(db, u.db) || u.db < 0))
      return bad("the database is not a number");
  }
  if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (!parseInt(rest.substr(colon + 1), u.port) || u.port <= 0 || u.port > 65535)
      return bad("the port is not a number in 1..65535");
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("no host");
  u.host = std::string(rest);
  if (!u.password.empty()) log::addSecret(u.password);
  return u;
}

Error replyError(std::string_view message) {
  auto starts = [&](std::string_view p) { return message.substr(0, p.size()) == p; };
  std::string detail = "redis: " + std::string(message);
  if (starts("OOM")) return Error{ErrorCode::StorageFull, std::move(detail)};
  if (starts("LOADING") || starts("BUSY") || starts("READONLY") || starts("MASTERDOWN") ||
      starts("TRYAGAIN"))
    return Error{ErrorCode::StorageBusy, std::move(detail)};
  return Error{ErrorCode::StorageIo, std::move(detail)};
}

RedisConnection::RedisConnection(ConnectionOptions options) : options_(std::move(options)) {}

RedisConnection::~RedisConnection() {
  if (context_) redisFree(context_);
}

Error RedisConnection::broken(std::string_view what) {
  std::string detail = "redis at " + options_.url.display + ": " + std::string(what);
  if (context_) {
    if (context_->err) detail += std::string(": ") + context_->errstr;
    redisFree(context_);
    context_ = nullptr;
  }
  // The next call reconnects at once (a restarted server is back on the first try); a failed
  // connect starts the backoff.
  return Error{ErrorCode::StorageUnavailable, log::redact(std::move(detail))};
}

Result<void> RedisConnection::open() {
  const std::string& where = options_.url.display;
  redisContext* c = redisConnectWithTimeout(options_.url.host.c_str(), options_.url.port,
                                            toTimeval(options_.connect_timeout));
  if (!c || c->err) {
    std::string why = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    backoff_ = std::clamp(backoff_ * 2, options_.backoff_min, options_.backoff_max);
    next_attempt_ = std::chrono::steady_clock::now() + backoff_;
    return fail(ErrorCode::StorageUnavailable, "redis at " + where + " is unreachable: " + why);
  }
  redisSetTimeout(c, toTimeval(options_.call_timeout));
  redisEnableKeepAlive(c);
  context_ = c;
  auto setup = [&](const Command& command, const char* what) -> Result<void> {
    auto r = call(command);
    if (!r) {
      // An unauthenticated connection must not be used: drop it and back off as after a refusal.
      if (context_) redisFree(context_);
      context_ = nullptr;
      backoff_ = std::clamp(backoff_ * 2, options_.backoff_min, options_.backoff_max);
      next_attempt_ = std::chrono::steady_clock::now() + backoff_;
      return fail(r.error().code,
                  "redis at " + where + ": " + what + " failed: " + log::redact(r.error().detail));
    }
    return {};
  };
  if (!options_.url.password.empty()) {
    if (auto r = setup({"AUTH", options_.url.password}, "AUTH"); !r) return r;
  }
  if (options_.url.db != 0) {
    const std::string db = std::to_string(options_.url.db);
    if (auto r = setup({"SELECT", db}, "SELECT"); !r) return r;
  }
  backoff_ = std::chrono::milliseconds(0);
  return {};
}

Result<void> RedisConnection::connect() {
  if (context_) return {};
  return open();
}

Result<void> RedisConnection::ensureConnected() {
  if (context_) return {};
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now);
    return fail(ErrorCode::StorageUnavailable, "redis at " + options_.url.display +
                                                   " is down (next try in " +
                                                   std::to_string(left.count()) + " ms)");
  }
  return open();
}

Result<Reply> RedisConnection::call(const Command& command,
                                    std::chrono::milliseconds extra_timeout) {
  if (auto r = ensureConnected(); !r) return tl::unexpected(r.error());
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(command.size());
  lens.reserve(command.size());
  for (auto arg : command) {
    argv.push_back(arg.data());
    lens.push_back(arg.size());
  }
  if (extra_timeout.count() > 0)
    redisSetTimeout(context_, toTimeval(options_.call_timeout + extra_timeout));
  auto* raw = static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (!raw) return tl::unexpected(broken(std::string(command.front()) + " got no reply"));
  Reply reply = copyReply(raw);
  freeReplyObject(raw);
  if (extra_timeout.count() > 0) redisSetTimeout(context_, toTimeval(options_.call_timeout));
  if (reply.isError()) return tl::unexpected(replyError(reply.str));
  return reply;
}

Result<std::vector<Reply>> RedisConnection::pipeline(const std::vector<Command>& commands) {
  if (auto r = ensureConnected(); !r) return tl::unexpected(r.error());
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& command : commands) {
    argv.clear();
    lens.clear();
    for (auto arg : command) {
      argv.push_back(arg.data());
      lens.push_back(arg.size());
    }
    // Appending only buffers (no I/O): it fails on out of memory alone.
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK)
      return tl::unexpected(broken("pipeline append failed"));
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || !raw)
      return tl::unexpected(broken("pipeline of " + std::to_string(commands.size()) +
                                   " commands broke after " + std::to_string(i) + " replies"));
    replies.push_back(copyReply(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return replies;
}

}  // namespace botfn::storage::redis
