// RedisBus (redis_bus.hpp), the lease side: what a newly taken partition's last owner left
// pending is claimed first, in id order; then new entries are read from every partition this
// instance reads, in short BLOCK slices.
#include <algorithm>
#include <charconv>

#include "core/log.hpp"
#include "storage/redis/redis_bus.hpp"

namespace botfn::storage::redis {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kSlice{100};  // longest BLOCK: how soon lease() sees wakeAll()

size_t entryBytes(const QueueEntry& e) {
  return sizeof(QueueEntry) + e.bot.size() + e.lane.size() + e.kind.size() + e.body.size();
}

bool parseInt64(std::string_view s, int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p != s.data();
}

bool mentions(const Error& e, std::string_view code) {
  return e.detail.find(code) != std::string::npos;
}

// One [id, [field, value, ...]] of a stream reply; false when the entry is gone (nil fields: it
// was deleted while pending) or not botfn's.
bool parseEntry(const Reply& r, QueueEntry& e) {
  if (r.elements.size() != 2 || r.elements[1].type != Reply::Type::Array) return false;
  if (!parseInt64(r.elements[0].str, e.id)) return false;
  const auto& f = r.elements[1].elements;
  bool has_update = false;
  for (size_t i = 0; i + 1 < f.size(); i += 2) {
    const std::string& name = f[i].str;
    const std::string& value = f[i + 1].str;
    if (name == "b")
      e.bot = value;
    else if (name == "u")
      has_update = parseInt64(value, e.update_id);
    else if (name == "l")
      e.lane = value;
    else if (name == "k")
      e.kind = value;
    else if (name == "d")
      e.body = value;
  }
  return has_update;
}

}  // namespace

size_t RedisBus::roomFor(size_t max) const {
  const size_t held = held_updates_.load();
  if (held >= options_.window.max_updates) return 0;
  if (held > 0 && held_bytes_.load() >= options_.window.max_bytes) return 0;
  return std::min(max, options_.window.max_updates - held);
}

std::vector<QueueEntry> RedisBus::lease(size_t max, milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  const uint64_t generation = wake_generation_.load();
  std::lock_guard lease_lock(lease_mutex_);  // one reader of the streams per process at a time
  while (wake_generation_.load() == generation) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    const auto slice = std::clamp(left, milliseconds(0), kSlice);
    const size_t room = roomFor(max);
    if (room > 0) {
      auto got = leaseOnce(room, slice);
      noteLeaseResult(got);
      if (got && !got->empty()) {
        auto taken = take(std::move(*got));
        if (!taken.empty()) return taken;
      }
      if (!got) {
        // Redis is down: the connection's backoff makes the next tries cheap; pause a slice.
        std::unique_lock lock(mutex_);
        lease_cv_.wait_for(lock, slice, [&] { return wake_generation_.load() != generation; });
      }
    } else {
      std::unique_lock lock(mutex_);  // the window is full: wait for an ack
      lease_cv_.wait_for(lock, slice,
                         [&] { return wake_generation_.load() != generation || roomFor(max) > 0; });
    }
    if (Clock::now() >= deadline) break;
  }
  return {};
}

void RedisBus::noteLeaseResult(const Result<std::vector<QueueEntry>>& r) {
  if (!r) {
    metrics_.counter("botfn_bus_redis_errors_total", "op=\"lease\"")++;
    if (!lease_down_)
      log::get("storage")->warn("bus: leasing stopped, retrying: {}", r.error().describe());
    lease_down_ = true;
  } else if (lease_down_) {
    log::get("storage")->info("bus: leasing resumed");
    lease_down_ = false;
  }
}

Result<std::vector<QueueEntry>> RedisBus::leaseOnce(size_t room, milliseconds block) {
  const auto now = Clock::now();
  auto queued = [&](size_t p) {
    return std::any_of(claims_.begin(), claims_.end(),
                       [&](const Claim& c) { return c.partition == p && c.min_idle.count() == 0; });
  };
  for (size_t p : keeper_->takeAcquired()) {
    if (!queued(p)) claims_.push_back({p, milliseconds(0)});
  }
  if (now >= next_idle_claim_) {
    // Entries delivered to this consumer whose reply never arrived (a call that timed out after
    // the server ran it) wait in its pending list with no one to claim them: once a lease time,
    // what sat there longer than a lease time is taken again.
    for (size_t p = 0; p < streams_.size(); ++p) {
      if (keeper_->reading(p) && !queued(p)) claims_.push_back({p, options_.lease_timeout});
    }
    next_idle_claim_ = now + options_.lease_timeout;
  }
  while (!claims_.empty()) {
    const Claim c = claims_.front();
    if (!keeper_->owns(c.partition)) {  // lost again before its claim ended
      claims_.pop_front();
      claim_cursor_ = "0-0";
      continue;
    }
    auto r = claim(c, room);
    if (!r) return r;
    if (claim_cursor_ == "0-0") claims_.pop_front();  // the whole pending list was seen
    if (!r->empty()) return r;
  }
  return readOwned(room, block);
}

Result<std::vector<QueueEntry>> RedisBus::claim(const Claim& c, size_t room) {
  // After a take-over (min_idle 0): the partition's lease makes this instance its only reader and
  // its last owner is gone (its lease ran out or was handed back), so everything pending is taken
  // at once, in id order.
  const std::string count = std::to_string(room);
  const std::string idle = std::to_string(c.min_idle.count());
  const std::string& stream = streams_[c.partition];
  auto r = leaser_.call(
      {"XAUTOCLAIM", stream, group_, options_.consumer, idle, claim_cursor_, "COUNT", count});
  if (!r && mentions(r.error(), "NOGROUP")) {
    // Redis lost its data (restarted without persistence): the groups start again.
    if (auto g = ensureGroups(leaser_); !g) return tl::unexpected(g.error());
    claim_cursor_ = "0-0";
    return std::vector<QueueEntry>{};
  }
  if (!r) return tl::unexpected(r.error());
  std::vector<QueueEntry> out;
  if (r->type != Reply::Type::Array || r->elements.size() < 2) {
    claim_cursor_ = "0-0";
    return out;
  }
  claim_cursor_ = r->elements[0].str;
  for (const auto& item : r->elements[1].elements) {
    QueueEntry e;
    if (!parseEntry(item, e)) continue;
    e.redelivered = true;  // its last holder may have run it: the dispatcher checks the marker
    out.push_back(std::move(e));
  }
  if (!out.empty())
    log::get("storage")->info("bus: partition {}: claimed {} entries left pending", c.partition,
                              out.size());
  return out;
}

Result<std::vector<QueueEntry>> RedisBus::readOwned(size_t room, milliseconds block) {
  std::vector<std::string_view> streams;
  for (size_t p = 0; p < streams_.size(); ++p) {
    const bool taking_over = std::any_of(claims_.begin(), claims_.end(), [&](const Claim& c) {
      return c.partition == p && c.min_idle.count() == 0;
    });
    if (keeper_->reading(p) && !taking_over) streams.push_back(streams_[p]);
  }
  if (streams.empty()) {
    // Nothing to read yet (another instance holds every partition): wait a slice.
    std::unique_lock lock(mutex_);
    lease_cv_.wait_for(lock, block);
    return std::vector<QueueEntry>{};
  }
  // COUNT is per stream, so one read may pass the window by up to (streams - 1) x room: a bounded
  // overshoot, where splitting the room would starve a busy lane of a sparse read.
  const std::string count = std::to_string(room);
  const std::string block_ms = std::to_string(block.count());
  Command c{"XREADGROUP", "GROUP", group_, options_.consumer, "COUNT", count};
  // BLOCK 0 would wait forever.
  if (block.count() > 0) c.insert(c.end(), {"BLOCK", block_ms});
  c.emplace_back("STREAMS");
  c.insert(c.end(), streams.begin(), streams.end());
  for (size_t i = 0; i < streams.size(); ++i) c.emplace_back(">");
  auto r = leaser_.call(c, block);
  if (!r && mentions(r.error(), "NOGROUP")) {
    if (auto g = ensureGroups(leaser_); !g) return tl::unexpected(g.error());
    r = leaser_.call(c, block);
  }
  if (!r) return tl::unexpected(r.error());
  std::vector<QueueEntry> out;
  if (r->type != Reply::Type::Array) return out;  // nil: nothing came
  for (const Reply& stream : r->elements) {
    if (stream.elements.size() < 2) continue;
    for (const auto& item : stream.elements[1].elements) {
      QueueEntry e;
      if (parseEntry(item, e)) out.push_back(std::move(e));
    }
  }
  // COUNT applies per stream: keep push order within each lane (each lane is in one stream),
  // and the whole reply in id order, which is push order.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::vector<QueueEntry> RedisBus::take(std::vector<QueueEntry> entries) {
  std::vector<QueueEntry> out;
  out.reserve(entries.size());
  std::lock_guard lock(mutex_);
  for (auto& e : entries) {
    const size_t p = partitionOf(e.bot, e.lane);
    // A partition lost while the read was on its way: its new owner claims the entry.
    if (!keeper_->owns(p)) continue;
    const size_t bytes = entryBytes(e);
    if (!held_.emplace(e.id, Held{p, seenKey(e.bot, e.update_id), bytes}).second) continue;
    held_updates_ += 1;
    held_bytes_ += bytes;
    held_per_partition_[p] += 1;
    out.push_back(std::move(e));
  }
  return out;
}

void RedisBus::wakeAll() {
  {
    std::lock_guard lock(mutex_);
    wake_generation_ += 1;
  }
  lease_cv_.notify_all();
}

}  // namespace botfn::storage::redis
