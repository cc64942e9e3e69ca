// RedisBus (redis_bus.hpp): keys, opening, the push/ack pipeline of the writer thread, and the
// reads (depth, poll offsets, ownership). The lease side is in redis_bus_lease.cpp.
#include "storage/redis/redis_bus.hpp"

#include <algorithm>
#include <charconv>

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "storage/redis/redis_scripts.hpp"

namespace botfn::storage::redis {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kPushesPerRoundTrip = 256;
constexpr size_t kIdsPerScript = 500;  // acks: bounds how long one script runs
constexpr milliseconds kAckRetry{500};

std::string streamId(int64_t id) { return std::to_string(id) + "-0"; }

bool parseInt64(std::string_view s, int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p != s.data();
}

bool mentions(const Error& e, std::string_view code) {
  return e.detail.find(code) != std::string::npos;
}

}  // namespace

RedisBus::RedisBus(RedisBusOptions options, ConnectionOptions connection, Metrics& metrics)
    : options_(std::move(options)),
      connection_(connection),
      metrics_(metrics),
      seq_(options_.prefix + "seq"),
      poll_(options_.prefix + "poll"),
      seen_prefix_(options_.prefix + "seen:"),
      push_script_{scripts::kPush, {}},
      ack_script_{scripts::kAck, {}},
      reader_(connection),
      leaser_(connection),
      writer_(connection) {
  options_.window.max_updates = std::max<size_t>(options_.window.max_updates, 1);
  options_.partitions = std::clamp<size_t>(options_.partitions, 1, 1024);
  for (size_t p = 0; p < options_.partitions; ++p)
    streams_.push_back(options_.prefix + "stream:" + std::to_string(p));
  held_per_partition_.assign(options_.partitions, 0);
  metrics_.help("botfn_bus_redis_errors_total", "Redis calls of the bus that failed, by operation.",
                "counter");
}

RedisBus::~RedisBus() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  writer_cv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
  // After the last acks: what this process leased and did not finish is claimed by the
  // partition's next owner.
  if (keeper_) keeper_->stop(options_.hand_back_on_stop);
}

std::string RedisBus::seenKey(const std::string& bot, int64_t update_id) const {
  // The update id is last and numeric, so a ':' in a bot name cannot make two keys meet.
  return seen_prefix_ + bot + ':' + std::to_string(update_id);
}

size_t RedisBus::partitionOf(const std::string& bot, const std::string& lane) const {
  std::string key;
  key.reserve(bot.size() + 1 + lane.size());
  key.append(bot).push_back('/');
  key.append(lane);
  return lanePartition(key, options_.partitions);
}

Result<Reply> RedisBus::runScript(RedisConnection& c, const Script& s,
                                  const std::vector<std::string>& keys,
                                  const std::vector<std::string_view>& args) {
  const std::string numkeys = std::to_string(keys.size());
  Command command{"EVALSHA", s.sha, numkeys};
  command.reserve(3 + keys.size() + args.size());
  for (const auto& k : keys) command.emplace_back(k);
  command.insert(command.end(), args.begin(), args.end());
  auto r = c.call(command);
  if (r || !mentions(r.error(), "NOSCRIPT")) return r;
  command[0] = "EVAL";  // a restarted server: EVAL also caches it for the next EVALSHA
  command[1] = s.source;
  return c.call(command);
}

Result<void> RedisBus::ensureGroups(RedisConnection& c) {
  // From id 0: entries pushed before a group existed are read too.
  std::vector<Command> commands;
  for (const auto& s : streams_)
    commands.push_back({"XGROUP", "CREATE", s, group_, "0", "MKSTREAM"});
  auto replies = c.pipeline(commands);
  if (!replies) return tl::unexpected(replies.error());
  for (const auto& r : *replies) {
    if (r.isError() && r.str.find("BUSYGROUP") == std::string::npos)
      return tl::unexpected(replyError(r.str));
  }
  return {};
}

Result<void> RedisBus::open() {
  {
    std::lock_guard lock(reader_mutex_);
    if (auto r = reader_.connect(); !r) return r;
    if (auto r = ensureGroups(reader_); !r) return r;
    for (Script* s : {&push_script_, &ack_script_}) {
      auto sha = reader_.call({"SCRIPT", "LOAD", s->source});
      if (!sha) return tl::unexpected(sha.error());
      s->sha = sha->str;
    }
  }
  keeper_ = std::make_unique<PartitionKeeper>(
      PartitionOptions{options_.prefix, options_.consumer, options_.partitions,
                       options_.lease_timeout},
      connection_, metrics_, [this](size_t p) -> size_t {
        {
          std::lock_guard lock(mutex_);
          if (held_per_partition_[p] > 0) return held_per_partition_[p];
        }
        std::lock_guard lock(busy_mutex_);
        if (!busy_lanes_) return 0;
        const size_t partitions = options_.partitions;
        return busy_lanes_([p, partitions](std::string_view key) {
          return lanePartition(key, partitions) == p;
        })
                   ? 1
                   : 0;
      });
  if (auto r = keeper_->open(); !r) return r;
  writer_thread_ = std::thread([this] { writerLoop(); });
  return {};
}

// ---- push and ack: the writer thread

void RedisBus::push(std::vector<InboundUpdate> items, std::optional<PollCursor> cursor,
                    std::function<void(Result<std::vector<PushOutcome>>)> done) {
  backlog_.fetch_add(items.size(), std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    pushes_.push_back(Push{std::move(items), std::move(cursor), std::move(done)});
  }
  writer_cv_.notify_one();
}

void RedisBus::ack(int64_t entry_id, std::function<void(Result<void>)> done) {
  {
    std::lock_guard lock(mutex_);
    acks_.push_back(Ack{entry_id, std::move(done)});
  }
  writer_cv_.notify_one();
}

void RedisBus::writerLoop() {
  nameThisThread("bus-redis");
  while (true) {
    std::vector<Push> pushes;
    std::vector<Ack> acks;
    std::vector<int64_t> retries;
    {
      std::unique_lock lock(mutex_);
      auto ready = [&] {
        return stopping_ || !pushes_.empty() || !acks_.empty() ||
               (!retry_acks_.empty() && Clock::now() >= retry_acks_at_);
      };
      if (retry_acks_.empty())
        writer_cv_.wait(lock, ready);
      else
        writer_cv_.wait_until(lock, retry_acks_at_, ready);
      if (stopping_ && pushes_.empty() && acks_.empty()) return;  // unacked ones are redelivered
      while (!pushes_.empty() && pushes.size() < kPushesPerRoundTrip) {
        pushes.push_back(std::move(pushes_.front()));
        pushes_.pop_front();
      }
      acks.assign(std::make_move_iterator(acks_.begin()), std::make_move_iterator(acks_.end()));
      acks_.clear();
      if (!retry_acks_.empty() && Clock::now() >= retry_acks_at_) retries.swap(retry_acks_);
    }
    if (!pushes.empty()) writePushes(pushes);
    if (acks.empty() && retries.empty()) continue;
    std::vector<int64_t> ids = std::move(retries);
    for (const auto& a : acks) ids.push_back(a.id);
    auto r = writeAcks(ids);
    if (!r) {
      metrics_.counter("botfn_bus_redis_errors_total", "op=\"ack\"")++;
      std::lock_guard lock(mutex_);
      retry_acks_.insert(retry_acks_.end(), ids.begin(), ids.end());
      retry_acks_at_ = Clock::now() + kAckRetry;
    }
    for (auto& a : acks) {
      if (!a.done) continue;
      try {
        a.done(r);
      } catch (const std::exception& e) {
        log::get("storage")->error("ack completion threw: {}", e.what());
      }
    }
  }
}

void RedisBus::writePushes(std::vector<Push>& pushes) {
  // Owned strings the commands point into; a deque never moves what it holds.
  std::deque<std::string> arena;
  std::vector<Command> commands;
  commands.reserve(pushes.size());
  for (const auto& p : pushes) {
    Command c{"EVALSHA", push_script_.sha,
              arena.emplace_back(std::to_string(2 + 2 * p.items.size())), seq_, poll_};
    for (const auto& item : p.items) {
      c.emplace_back(streams_[partitionOf(item.bot, item.lane)]);
      c.emplace_back(arena.emplace_back(seenKey(item.bot, item.update_id)));
    }
    c.emplace_back(p.cursor ? std::string_view(p.cursor->bot) : std::string_view(""));
    c.emplace_back(arena.emplace_back(p.cursor ? std::to_string(p.cursor->next_offset) : "0"));
    for (const auto& item : p.items) {
      c.emplace_back(item.bot);
      c.emplace_back(arena.emplace_back(std::to_string(item.update_id)));
      c.emplace_back(item.lane);
      c.emplace_back(item.kind);
      c.emplace_back(item.body);
    }
    commands.push_back(std::move(c));
  }
  auto replies = writer_.pipeline(commands);
  for (size_t i = 0; i < pushes.size(); ++i) {
    Result<std::vector<PushOutcome>> result = fail(ErrorCode::Internal);
    Result<Reply> reply = replies ? Result<Reply>((*replies)[i]) : tl::unexpected(replies.error());
    if (reply && reply->isError()) {
      if (reply->str.rfind("NOSCRIPT", 0) == 0) {
        commands[i][0] = "EVAL";  // a restarted server; EVAL caches it for the next batch
        commands[i][1] = push_script_.source;
        reply = writer_.call(commands[i]);
      } else {
        reply = tl::unexpected(replyError(reply->str));
      }
    }
    if (!reply) {
      metrics_.counter("botfn_bus_redis_errors_total", "op=\"push\"")++;
      result = tl::unexpected(reply.error());
    } else if (reply->type != Reply::Type::Array ||
               reply->elements.size() != pushes[i].items.size()) {
      result = fail(ErrorCode::StorageIo, "redis: unexpected reply to the push script");
    } else {
      std::vector<PushOutcome> outcomes;
      outcomes.reserve(reply->elements.size());
      for (const auto& e : reply->elements)
        outcomes.push_back(e.integer > 0 ? PushOutcome::Enqueued : PushOutcome::Duplicate);
      result = std::move(outcomes);
    }
    backlog_.fetch_sub(pushes[i].items.size(), std::memory_order_relaxed);
    if (!pushes[i].done) continue;
    try {
      pushes[i].done(std::move(result));
    } catch (const std::exception& e) {
      log::get("storage")->error("push completion threw: {}", e.what());
    }
  }
}

void RedisBus::forget(std::unordered_map<int64_t, Held>::iterator it) {
  held_bytes_ -= std::min(held_bytes_.load(), it->second.bytes);
  held_updates_ -= 1;
  held_per_partition_[it->second.partition] -= 1;
  held_.erase(it);
}

Result<void> RedisBus::writeAcks(const std::vector<int64_t>& ids) {
  const std::string window = std::to_string(options_.dedupe_window_s);
  for (size_t from = 0; from < ids.size(); from += kIdsPerScript) {
    const size_t to = std::min(ids.size(), from + kIdsPerScript);
    std::vector<std::string> keys;
    std::vector<std::string> stream_ids;
    {
      std::lock_guard lock(mutex_);
      for (size_t i = from; i < to; ++i) {
        auto it = held_.find(ids[i]);
        // Acked twice, or abandoned: nothing of ours to ack any more.
        if (it == held_.end()) continue;
        keys.push_back(streams_[it->second.partition]);
        keys.push_back(it->second.seen_key);
        stream_ids.push_back(streamId(ids[i]));
      }
    }
    if (stream_ids.empty()) continue;
    std::vector<std::string_view> args{group_, window};
    args.insert(args.end(), stream_ids.begin(), stream_ids.end());
    if (auto r = runScript(writer_, ack_script_, keys, args); !r) return tl::unexpected(r.error());
    size_t freed = 0;
    {
      std::lock_guard lock(mutex_);
      for (size_t i = from; i < to; ++i) {
        auto it = held_.find(ids[i]);
        if (it == held_.end()) continue;
        forget(it);
        ++freed;
      }
    }
    if (freed) lease_cv_.notify_all();
  }
  return {};
}

void RedisBus::abandon(int64_t entry_id) {
  {
    std::lock_guard lock(mutex_);
    auto it = held_.find(entry_id);
    if (it == held_.end()) return;
    forget(it);
  }
  lease_cv_.notify_all();
}

std::optional<Error> RedisBus::fault() const {
  // The heartbeat calls Redis at least once a second whatever the traffic, so its state is
  // current; a failed push alone (answered 503 already) is not held against a Redis that is back.
  const bool heartbeat = keeper_ && keeper_->down();
  if (!heartbeat && !lease_down_) return std::nullopt;
  return Error{ErrorCode::StorageUnavailable, "redis at " + connection_.url.display +
                                                  " does not answer (" +
                                                  (heartbeat ? "heartbeat" : "lease") + ")"};
}

void RedisBus::setBusyLanes(BusyLanes busy) {
  std::lock_guard lock(busy_mutex_);
  busy_lanes_ = std::move(busy);
}

// ---- reads

bool RedisBus::holds(const QueueEntry& entry) const {
  return keeper_->owns(partitionOf(entry.bot, entry.lane));
}

bool RedisBus::ownsLane(std::string_view lane_key) const {
  return keeper_->owns(lanePartition(lane_key, options_.partitions));
}

QueueLoad RedisBus::queueLoad() const {
  const size_t updates = held_updates_.load(std::memory_order_relaxed);
  const size_t bytes = held_bytes_.load(std::memory_order_relaxed);
  return QueueLoad{updates, bytes,
                   updates >= options_.window.max_updates || bytes >= options_.window.max_bytes};
}

size_t RedisBus::depth() const {
  std::vector<Command> commands;
  for (const auto& s : streams_) commands.push_back({"XLEN", s});
  std::lock_guard lock(reader_mutex_);
  // XDEL at each ack keeps the streams to what is pushed and not acked (by every instance).
  if (auto r = reader_.pipeline(commands)) {
    size_t total = 0;
    for (const auto& len : *r) total += len.type == Reply::Type::Integer ? len.integer : 0;
    last_depth_ = total;
  }
  return last_depth_;  // the last value read while Redis is down
}

Result<std::optional<int64_t>> RedisBus::pollOffset(const std::string& bot) {
  std::lock_guard lock(reader_mutex_);
  auto r = reader_.call({"HGET", poll_, bot});
  if (!r) return tl::unexpected(r.error());
  if (r->isNil()) return std::optional<int64_t>();
  int64_t offset = 0;
  if (!parseInt64(r->str, offset))
    return fail(ErrorCode::StorageIo, "redis: poll offset of '" + bot + "' is not a number");
  return std::optional<int64_t>(offset);
}

}  // namespace botfn::storage::redis
