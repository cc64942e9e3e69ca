// RedisConnection: one hiredis connection with a timeout on every call, reconnects with capped
// backoff, pipelined batches, and Redis failures mapped to botfn's storage error codes. Not
// thread-safe: RedisBus gives each of its threads (writer, leaser, reader) its own connection.
// Also parses redis:// URLs (the password never leaves this file except into log::addSecret).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

struct redisContext;  // hiredis, only in redis_client.cpp

namespace botfn::storage::redis {

struct RedisUrl {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string password;
  std::string display;  // the URL with the password replaced: the only form errors and logs show
};

// redis://[:password@]host[:port][/db]; ConfigInvalid (naming the URL without its password) when
// malformed.
Result<RedisUrl> parseRedisUrl(std::string_view url);

// A reply, copied out of hiredis's tree so no hiredis type leaves this folder's .cpp files.
struct Reply {
  enum class Type { Nil, String, Integer, Array, Status, Error };
  Type type = Type::Nil;
  std::string str;  // String, Status and Error
  int64_t integer = 0;
  std::vector<Reply> elements;

  bool isError() const { return type == Type::Error; }
  bool isNil() const { return type == Type::Nil; }
};

struct ConnectionOptions {
  RedisUrl url;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds call_timeout{2000};
  // After a failed connect, calls fail fast until the backoff has passed; it doubles up to max.
  std::chrono::milliseconds backoff_min{50};
  std::chrono::milliseconds backoff_max{2000};
};

using Command = std::vector<std::string_view>;

class RedisConnection {
 public:
  explicit RedisConnection(ConnectionOptions options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // One command. An error reply fails with the mapped code and the server's message as detail
  // (callers look for NOSCRIPT / NOGROUP there). extra_timeout widens this call's socket timeout
  // (a blocking XREADGROUP).
  Result<Reply> call(const Command& command,
                     std::chrono::milliseconds extra_timeout = std::chrono::milliseconds(0));
  // Commands written together and their replies read together: one round trip. Error replies
  // come back in place; only a broken connection fails the whole batch (some of it may have run).
  Result<std::vector<Reply>> pipeline(const std::vector<Command>& commands);
  // Connects now if not connected (ignoring the backoff): a start-up check.
  Result<void> connect();
  const std::string& display() const { return options_.url.display; }

 private:
  Result<void> ensureConnected();
  Result<void> open();
  Error broken(std::string_view what);  // drops the connection and names the failure

  ConnectionOptions options_;
  redisContext* context_ = nullptr;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
};

// The botfn error for an error reply ("OOM ..." is StorageFull, "LOADING"/"BUSY"/"READONLY"/
// "MASTERDOWN"/"TRYAGAIN" are StorageBusy, anything else StorageIo).
Error replyError(std::string_view message);

}  // namespace botfn::storage::redis
