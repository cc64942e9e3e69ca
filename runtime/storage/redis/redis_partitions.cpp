// PartitionKeeper (redis_partitions.hpp): the heartbeat script's call and reply, the trust
// window of each lease, and the choice of which partitions to hand back.
#include "storage/redis/redis_partitions.hpp"

#include <unistd.h>

#include <algorithm>

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "storage/lane_ownership.hpp"
#include "storage/redis/redis_scripts.hpp"

namespace botfn::storage::redis {
namespace {

using std::chrono::milliseconds;

int64_t nanosOf(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Often enough that a lease is renewed several times within its time, and that a new instance
// gets its share within about a second.
milliseconds beatInterval(milliseconds lease) {
  return std::clamp(lease / 6, milliseconds(20), milliseconds(1000));
}

}  // namespace

PartitionKeeper::PartitionKeeper(PartitionOptions options, ConnectionOptions connection,
                                 Metrics& metrics, std::function<size_t(size_t)> held)
    : options_(std::move(options)),
      metrics_(metrics),
      held_(std::move(held)),
      conn_(std::move(connection)),
      owned_until_(new std::atomic<int64_t>[options_.partitions]),
      releasing_(new std::atomic<bool>[options_.partitions]) {
  for (size_t p = 0; p < options_.partitions; ++p) {
    owned_until_[p] = 0;
    releasing_[p] = false;
  }
  keys_ = {options_.prefix + "instances", options_.prefix + "lease-token",
           options_.prefix + "instance:" + options_.instance};
  for (size_t p = 0; p < options_.partitions; ++p)
    keys_.push_back(options_.prefix + "lease:" + std::to_string(p));
  metrics_.help("botfn_bus_partitions_owned",
                "Partitions of the Redis Bus this instance holds (its lanes).", "gauge");
  metrics_.help("botfn_bus_instances_live", "Instances sharing the Redis Bus (heartbeats).",
                "gauge");
  metrics_.help("botfn_bus_partitions_moved_total",
                "Partitions this instance took or gave up, by how.", "counter");
}

PartitionKeeper::~PartitionKeeper() { stop(); }

Result<void> PartitionKeeper::open() {
  const std::string count = std::to_string(options_.partitions);
  const std::string key = options_.prefix + "partitions";
  if (auto r = conn_.call({"SET", key, count, "NX"}); !r) return tl::unexpected(r.error());
  auto stored = conn_.call({"GET", key});
  if (!stored) return tl::unexpected(stored.error());
  if (stored->str != count) {
    return fail(ErrorCode::ConfigInvalid,
                "storage.redis_partitions is " + count + " but the Bus under prefix '" +
                    options_.prefix + "' was set up with " + stored->str +
                    "; every instance must use the same number (or a new prefix)");
  }
  auto sha = conn_.call({"SCRIPT", "LOAD", scripts::kHeartbeat});
  if (!sha) return tl::unexpected(sha.error());
  sha_ = sha->str;
  if (auto r = beat(false); !r) return r;
  thread_ = std::thread([this] { loop(); });
  return {};
}

void PartitionKeeper::stop(bool hand_back) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (sha_.empty() || !hand_back) return;  // never opened, or as a killed process
  if (auto r = beat(true); !r)
    log::get("storage")->warn("bus: partitions not handed back ({}); others take them after {} ms",
                              r.error().describe(), options_.lease.count());
  for (size_t p = 0; p < options_.partitions; ++p) owned_until_[p] = 0;
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

bool PartitionKeeper::owns(size_t p) const {
  return p < options_.partitions &&
         owned_until_[p].load(std::memory_order_acquire) > nanosOf(Clock::now());
}

bool PartitionKeeper::reading(size_t p) const {
  return owns(p) && !releasing_[p].load(std::memory_order_acquire);
}

std::vector<size_t> PartitionKeeper::takeAcquired() {
  std::lock_guard lock(mutex_);
  return std::exchange(acquired_, {});
}

void PartitionKeeper::loop() {
  nameThisThread("bus-partitions");
  const auto interval = beatInterval(options_.lease);
  std::unique_lock lock(mutex_);
  while (!cv_.wait_for(lock, interval, [&] { return stopping_; })) {
    lock.unlock();
    auto r = beat(false);
    if (!r) {
      metrics_.counter("botfn_bus_redis_errors_total", "op=\"heartbeat\"")++;
      if (!down_)
        log::get("storage")->warn("bus: heartbeat failed, leases run out in {} ms: {}",
                                  options_.lease.count(), r.error().describe());
      down_ = true;
    } else if (down_) {
      log::get("storage")->info("bus: heartbeat resumed");
      down_ = false;
    }
    expire(Clock::now());
    lock.lock();
  }
}

void PartitionKeeper::expire(Clock::time_point now) {
  bool changed = false;
  for (size_t p = 0; p < options_.partitions; ++p) {
    const int64_t until = owned_until_[p].load();
    if (until == 0 || until > nanosOf(now)) continue;
    owned_until_[p] = 0;
    releasing_[p] = false;
    changed = true;
    metrics_.counter("botfn_bus_partitions_moved_total", "how=\"expired\"")++;
    log::get("storage")->warn(
        "bus: lease of partition {} ran out without a renewal; its lanes "
        "stop here",
        p);
  }
  if (changed) generation_.fetch_add(1, std::memory_order_acq_rel);
}

Result<void> PartitionKeeper::beat(bool stopping) {
  const auto sent = Clock::now();
  std::vector<std::string> releases;
  if (!stopping) {
    for (size_t p = 0; p < options_.partitions; ++p) {
      // Marked on an earlier beat: a read of its stream that began before is over by now.
      if (releasing_[p] && owns(p) && held_(p) == 0) releases.push_back(std::to_string(p));
    }
  }
  const std::string lease_ms = std::to_string(options_.lease.count());
  // Each instance starts its search elsewhere, so new instances rarely race for one partition.
  const std::string first = std::to_string(lanePartition(options_.instance, options_.partitions));
  const std::string pid = std::to_string(getpid());
  const std::string numkeys = std::to_string(keys_.size());
  Command c{"EVALSHA", sha_, numkeys};
  for (const auto& k : keys_) c.emplace_back(k);
  c.insert(c.end(), {options_.instance, lease_ms, first, stopping ? "stop" : "", pid});
  for (const auto& p : releases) c.emplace_back(p);
  auto r = conn_.call(c);
  if (!r && r.error().detail.find("NOSCRIPT") != std::string::npos) {
    c[0] = "EVAL";  // a restarted server without the script cache
    c[1] = scripts::kHeartbeat;
    r = conn_.call(c);
  }
  if (!r) return tl::unexpected(r.error());
  if (stopping) return {};
  if (r->type != Reply::Type::Array || r->elements.size() < 2)
    return fail(ErrorCode::StorageIo, "redis: unexpected reply to the heartbeat");
  const auto& e = r->elements;
  const int64_t live = e[0].integer, fair = e[1].integer;
  std::vector<bool> held_now(options_.partitions, false);
  for (size_t i = 2; i + 1 < e.size(); i += 2) {
    const auto p = static_cast<size_t>(e[i].integer);
    if (p < options_.partitions) held_now[p] = true;
  }
  // Trusted for the lease time from before the call, less a margin for the clocks' rates.
  const int64_t until = nanosOf(sent + options_.lease - options_.lease / 4);
  const int64_t now = nanosOf(Clock::now());
  bool changed = false;
  std::vector<size_t> acquired;
  size_t owned = 0, releasing = 0;
  for (size_t p = 0; p < options_.partitions; ++p) {
    const bool was = owned_until_[p].load() > now;
    if (held_now[p]) {
      owned_until_[p] = until;
      ++owned;
      if (!was) {
        acquired.push_back(p);
        releasing_[p] = false;
        changed = true;
        metrics_.counter("botfn_bus_partitions_moved_total", "how=\"acquired\"")++;
      }
      if (releasing_[p]) ++releasing;
    } else {
      if (was) {
        changed = true;
        const bool released =
            std::find(releases.begin(), releases.end(), std::to_string(p)) != releases.end();
        metrics_.counter("botfn_bus_partitions_moved_total",
                         released ? "how=\"released\"" : "how=\"lost\"")++;
        if (!released) log::get("storage")->warn("bus: partition {} was taken over", p);
      }
      owned_until_[p] = 0;
      releasing_[p] = false;
    }
  }
  // Above the fair share: hand back the highest partitions, each once it is drained. At or below
  // it (an instance went away): keep everything.
  const int64_t extra = static_cast<int64_t>(owned) - std::max<int64_t>(fair, 1);
  for (size_t p = options_.partitions; p-- > 0;) {
    if (!held_now[p]) continue;
    if (extra <= 0) {
      releasing_[p] = false;
    } else if (!releasing_[p] && static_cast<int64_t>(releasing) < extra) {
      releasing_[p] = true;
      ++releasing;
    }
  }
  metrics_.gauge("botfn_bus_partitions_owned").store(static_cast<int64_t>(owned));
  metrics_.gauge("botfn_bus_instances_live").store(live);
  // The generation first: whoever sees entries of a partition taken also sees it changed.
  if (changed) generation_.fetch_add(1, std::memory_order_acq_rel);
  if (!acquired.empty()) {
    std::lock_guard lock(mutex_);
    acquired_.insert(acquired_.end(), acquired.begin(), acquired.end());
  }
  return {};
}

}  // namespace botfn::storage::redis
