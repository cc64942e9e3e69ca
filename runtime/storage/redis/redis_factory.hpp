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
  // This instance's name: its consumer in the groups and its partition leases. A restarted
  // instance with the same name takes its partitions back at once; "" means the host name.
  // Several instances on one host need names of their own (the app uses host:port).
  std::string consumer;
  // The lanes are hashed into this many partitions (streams); every instance must agree.
  size_t partitions = 16;
  // A partition lease not renewed for this long (the instance died or lost Redis) passes to
  // another instance, which claims what it left pending and delivers it with redelivered = true.
  std::chrono::milliseconds lease_timeout{15000};
  bool hand_back_on_stop = true;  // test-only false: stop as a killed process does
  std::chrono::milliseconds call_timeout{2000};
  std::chrono::milliseconds connect_timeout{2000};
  int64_t dedupe_window_s = 3600;
  QueueWindow window;  // caps what lease() hands out and holds (queueLoad)
};

// Connects (a clear StorageUnavailable naming the URL, without its password, when Redis cannot
// be reached), creates the consumer group and loads the scripts.
Result<std::unique_ptr<Bus>> openRedisBus(const RedisBusOptions& options, Metrics& metrics);

}  // namespace botfn::storage::redis
