// RedisBus (redis_bus.hpp): keys, the push/ack pipeline of the writer thread, and the reads of
// the consumer group that lease() makes (own pending entries first, then reclaimed ones, then new).
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
constexpr size_t kIdsPerScript = 500;  // acks and renewals: bounds how long one script runs
constexpr milliseconds kSlice{100};    // longest BLOCK: how soon lease() sees wakeAll()
constexpr milliseconds kAckRetry{500};

size_t entryBytes(const QueueEntry& e) {
  return sizeof(QueueEntry) + e.bot.size() + e.lane.size() + e.kind.size() + e.body.size();
}

std::string streamId(int64_t id) { return std::to_string(id) + "-0"; }

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

RedisBus::RedisBus(RedisBusOptions options, ConnectionOptions connection, Metrics& metrics)
    : options_(std::move(options)),
      metrics_(metrics),
      stream_(options_.prefix + "stream"),
      seq_(options_.prefix + "seq"),
      poll_(options_.prefix + "poll"),
      seen_prefix_(options_.prefix + "seen:"),
      push_script_{scripts::kPush, {}},
      ack_script_{scripts::kAck, {}},
      renew_script_{scripts::kRenew, {}},
      reader_(connection),
      leaser_(connection),
      writer_(connection) {
  options_.window.max_updates = std::max<size_t>(options_.window.max_updates, 1);
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
}

std::string RedisBus::seenKey(const std::string& bot, int64_t update_id) const {
  // The update id is last and numeric, so a ':' in a bot name cannot make two keys meet.
  return seen_prefix_ + bot + ':' + std::to_string(update_id);
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

Result<void> RedisBus::ensureGroup(RedisConnection& c) {
  // From id 0: entries pushed before the group existed are read too.
  auto r = c.call({"XGROUP", "CREATE", stream_, group_, "0", "MKSTREAM"});
  if (!r && !mentions(r.error(), "BUSYGROUP")) return tl::unexpected(r.error());
  return {};
}

Result<void> RedisBus::open() {
  {
    std::lock_guard lock(reader_mutex_);
    if (auto r = reader_.connect(); !r) return r;
    if (auto r = ensureGroup(reader_); !r) return r;
    for (Script* s : {&push_script_, &ack_script_, &renew_script_}) {
      auto sha = reader_.call({"SCRIPT", "LOAD", s->source});
      if (!sha) return tl::unexpected(sha.error());
      s->sha = sha->str;
    }
  }
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
    Command c{"EVALSHA",
              push_script_.sha,
              arena.emplace_back(std::to_string(3 + p.items.size())),
              stream_,
              seq_,
              poll_};
    for (const auto& item : p.items)
      c.emplace_back(arena.emplace_back(seenKey(item.bot, item.update_id)));
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

Result<void> RedisBus::writeAcks(const std::vector<int64_t>& ids) {
  const std::string window = std::to_string(options_.dedupe_window_s);
  for (size_t from = 0; from < ids.size(); from += kIdsPerScript) {
    const size_t to = std::min(ids.size(), from + kIdsPerScript);
    std::vector<std::string> keys{stream_};
    std::vector<std::string> stream_ids;
    {
      std::lock_guard lock(mutex_);
      for (size_t i = from; i < to; ++i) {
        auto it = held_.find(ids[i]);
        // An id this process does not hold (acked twice): a key that does not exist.
        keys.push_back(it == held_.end() ? seen_prefix_ + "?" : it->second.seen_key);
      }
    }
    for (size_t i = from; i < to; ++i) stream_ids.push_back(streamId(ids[i]));
    std::vector<std::string_view> args{group_, window};
    args.insert(args.end(), stream_ids.begin(), stream_ids.end());
    if (auto r = runScript(writer_, ack_script_, keys, args); !r) return tl::unexpected(r.error());
    size_t freed = 0;
    {
      std::lock_guard lock(mutex_);
      for (size_t i = from; i < to; ++i) {
        auto it = held_.find(ids[i]);
        if (it == held_.end()) continue;
        held_bytes_ -= std::min(held_bytes_.load(), it->second.bytes);
        held_updates_ -= 1;
        held_.erase(it);
        ++freed;
      }
    }
    if (freed) lease_cv_.notify_all();
  }
  return {};
}

// ---- lease

size_t RedisBus::roomFor(size_t max) const {
  const size_t held = held_updates_.load();
  if (held >= options_.window.max_updates) return 0;
  if (held > 0 && held_bytes_.load() >= options_.window.max_bytes) return 0;
  return std::min(max, options_.window.max_updates - held);
}

std::vector<QueueEntry> RedisBus::lease(size_t max, milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  const uint64_t generation = wake_generation_.load();
  std::lock_guard lease_lock(lease_mutex_);  // one reader of the group per process at a time
  while (wake_generation_.load() == generation) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    // Renewed here, not in leaseOnce: a full window still renews what it holds.
    if (const auto now = Clock::now(); now >= next_renew_) {
      auto renewed = renew();
      noteLeaseResult(renewed ? Result<std::vector<QueueEntry>>()
                              : tl::unexpected(renewed.error()));
      if (renewed) next_renew_ = now + std::max(options_.lease_timeout / 3, milliseconds(1));
    }
    const size_t room = roomFor(max);
    if (room > 0) {
      auto got = leaseOnce(room, std::clamp(left, milliseconds(0), kSlice));
      noteLeaseResult(got);
      if (got && !got->empty()) return take(std::move(*got));
      if (!got) {
        // Redis is down: the connection's backoff makes the next tries cheap; pause a slice.
        std::unique_lock lock(mutex_);
        lease_cv_.wait_for(lock, std::clamp(left, milliseconds(0), kSlice),
                           [&] { return wake_generation_.load() != generation; });
      }
    } else {
      std::unique_lock lock(mutex_);  // the window is full: wait for an ack
      lease_cv_.wait_for(lock, std::clamp(left, milliseconds(0), kSlice),
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
  if (!own_pending_done_) {
    // What this consumer held when it stopped: delivered again before anything new.
    auto r = readGroup(pending_cursor_, room, milliseconds(0), true);
    if (!r) return r;
    if (!r->empty()) {
      pending_cursor_ = streamId(r->back().id);
      return r;
    }
    own_pending_done_ = true;
  }
  if (now >= next_claim_) {
    auto r = reclaim(room);
    if (!r) return r;
    if (claim_cursor_ == "0-0")
      next_claim_ = now + std::max(options_.lease_timeout / 4, milliseconds(1));
    if (!r->empty()) return r;
  }
  return readGroup(">", room, block, false);
}

Result<std::vector<QueueEntry>> RedisBus::readGroup(const std::string& from, size_t room,
                                                    milliseconds block, bool redelivered) {
  const std::string count = std::to_string(room);
  const std::string block_ms = std::to_string(block.count());
  Command c{"XREADGROUP", "GROUP", group_, options_.consumer, "COUNT", count};
  // BLOCK 0 would wait forever; a reply of our own pending entries never blocks anyway.
  if (block.count() > 0 && from == ">") {
    c.emplace_back("BLOCK");
    c.emplace_back(block_ms);
  }
  c.insert(c.end(), {"STREAMS", stream_, from});
  auto r = leaser_.call(c, block);
  if (!r && mentions(r.error(), "NOGROUP")) {
    // Redis lost its data (restarted without persistence): the group starts again.
    if (auto g = ensureGroup(leaser_); !g) return tl::unexpected(g.error());
    r = leaser_.call(c, block);
  }
  if (!r) return tl::unexpected(r.error());
  std::vector<QueueEntry> out;
  if (r->type != Reply::Type::Array || r->elements.empty()) return out;  // nil: nothing came
  const Reply& stream = r->elements[0];
  if (stream.elements.size() < 2) return out;
  for (const auto& item : stream.elements[1].elements) {
    QueueEntry e;
    if (parseEntry(item, e)) {
      e.redelivered = redelivered;
      out.push_back(std::move(e));
    } else if (!item.elements.empty()) {
      // Deleted while pending (acked by another consumer): clear it from our pending list, and
      // keep reading past it.
      if (redelivered) pending_cursor_ = item.elements[0].str;
      (void)leaser_.call({"XACK", stream_, group_, item.elements[0].str});
    }
  }
  if (out.empty() && redelivered && !stream.elements[1].elements.empty())
    return readGroup(pending_cursor_, room, block, redelivered);
  return out;
}

Result<std::vector<QueueEntry>> RedisBus::reclaim(size_t room) {
  const std::string idle = std::to_string(options_.lease_timeout.count());
  const std::string count = std::to_string(room);
  auto r = leaser_.call(
      {"XAUTOCLAIM", stream_, group_, options_.consumer, idle, claim_cursor_, "COUNT", count});
  if (!r && mentions(r.error(), "NOGROUP")) {
    if (auto g = ensureGroup(leaser_); !g) return tl::unexpected(g.error());
    return std::vector<QueueEntry>{};
  }
  if (!r) return tl::unexpected(r.error());
  std::vector<QueueEntry> out;
  if (r->type != Reply::Type::Array || r->elements.size() < 2) return out;
  claim_cursor_ = r->elements[0].str;
  for (const auto& item : r->elements[1].elements) {
    QueueEntry e;
    if (!parseEntry(item, e)) continue;
    e.redelivered = true;  // its consumer stopped renewing it: it may have run
    out.push_back(std::move(e));
  }
  if (!out.empty())
    log::get("storage")->warn("bus: reclaimed {} entries idle for over {} ms", out.size(),
                              options_.lease_timeout.count());
  return out;
}

Result<void> RedisBus::renew() {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    ids.reserve(held_.size());
    for (const auto& [id, held] : held_) ids.push_back(streamId(id));
  }
  for (size_t from = 0; from < ids.size(); from += kIdsPerScript) {
    std::vector<std::string_view> args{group_, options_.consumer};
    for (size_t i = from; i < std::min(ids.size(), from + kIdsPerScript); ++i)
      args.emplace_back(ids[i]);
    if (auto r = runScript(leaser_, renew_script_, {stream_}, args); !r)
      return tl::unexpected(r.error());
  }
  return {};
}

std::vector<QueueEntry> RedisBus::take(std::vector<QueueEntry> entries) {
  std::vector<QueueEntry> out;
  out.reserve(entries.size());
  std::lock_guard lock(mutex_);
  for (auto& e : entries) {
    const size_t bytes = entryBytes(e);
    if (!held_.emplace(e.id, Held{seenKey(e.bot, e.update_id), bytes}).second) continue;
    held_updates_ += 1;
    held_bytes_ += bytes;
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

// ---- reads

QueueLoad RedisBus::queueLoad() const {
  const size_t updates = held_updates_.load(std::memory_order_relaxed);
  const size_t bytes = held_bytes_.load(std::memory_order_relaxed);
  return QueueLoad{updates, bytes,
                   updates >= options_.window.max_updates || bytes >= options_.window.max_bytes};
}

size_t RedisBus::depth() const {
  std::lock_guard lock(reader_mutex_);
  // XDEL at each ack keeps the stream to what is pushed and not acked (by every instance).
  if (auto r = reader_.call({"XLEN", stream_}); r && r->type == Reply::Type::Integer)
    last_depth_ = static_cast<size_t>(r->integer);
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
