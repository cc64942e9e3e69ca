// openRedisBus: parses the URL, picks the consumer name and opens a RedisBus.
#include "storage/redis/redis_factory.hpp"

#include <unistd.h>

#include "core/log.hpp"
#include "storage/redis/redis_bus.hpp"

namespace botfn::storage::redis {

Result<std::unique_ptr<Bus>> openRedisBus(const RedisBusOptions& options, Metrics& metrics) {
  auto url = parseRedisUrl(options.url);
  if (!url) return tl::unexpected(url.error());
  RedisBusOptions o = options;
  if (o.consumer.empty()) {
    char host[256] = {};
    // Stable across restarts of this host's one instance; several on one host need names.
    o.consumer = gethostname(host, sizeof host - 1) == 0 && host[0] ? host : "botfn";
  }
  const std::string consumer = o.consumer;
  ConnectionOptions c;
  c.url = *url;
  c.connect_timeout = o.connect_timeout;
  c.call_timeout = o.call_timeout;
  auto bus = std::make_unique<RedisBus>(std::move(o), std::move(c), metrics);
  if (auto r = bus->open(); !r) return tl::unexpected(r.error());
  log::get("storage")->info("bus: redis at {}, prefix '{}', consumer '{}'", url->display,
                            options.prefix, consumer);
  return std::unique_ptr<Bus>(std::move(bus));
}

}  // namespace botfn::storage::redis
