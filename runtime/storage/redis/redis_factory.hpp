// openRedisBus: the Bus on Redis streams (redis_bus.cpp), for storage/backend.cpp and tests. No
// hiredis types here: the factory is the door into this folder.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "storage/backend_options.hpp"
#include "storage/bus.hpp"

namespace botfn::storage::redis {

struct RedisBusOptions {
  std::string url;                // redis://[:password@]host[:port][/db]
  std::string prefix = "botfn:";  // every key starts with it (a cluster needs a {hash tag} in it)
  // This process's name in the consumer group. A restarted process with the same name takes its
  // own unacked entries back at once; "" means the host name.
  std::string consumer;
  // An entry leased by a consumer that has not renewed it for this long is reclaimed by another
  // (XAUTOCLAIM) and delivered again with redelivered = true.
  std::chrono::milliseconds lease_timeout{60000};
  std::chrono::milliseconds call_timeout{2000};
  std::chrono::milliseconds connect_timeout{2000};
  int64_t dedupe_window_s = 3600;
  QueueWindow window;  // caps what lease() hands out and holds (queueLoad)
};

// Connects (a clear StorageUnavailable naming the URL, without its password, when Redis cannot
// be reached), creates the consumer group and loads the scripts.
Result<std::unique_ptr<Bus>> openRedisBus(const RedisBusOptions& options, Metrics& metrics);

}  // namespace botfn::storage::redis
