// Lane bookkeeping, run scheduling, retry and dead-letter policy.
#include "flow/dispatcher.hpp"

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "effects/commit_builder.hpp"

namespace botfn::flow {

struct Dispatcher::Job {
  std::string lane_key;
  storage::QueueEntry entry;
  Worker* worker = nullptr;
  int attempt = 1;
  std::shared_ptr<effects::RunInput> input = std::make_shared<effects::RunInput>();
};

Dispatcher::Dispatcher(DispatcherOptions options, storage::Bus& bus, storage::Store& store,
                       effects::ExecutorFactory factory, BotLookup bots, Metrics& metrics)
    : options_(std::move(options)),
      bus_(bus),
      store_(store),
      factory_(std::move(factory)),
      bots_(std::move(bots)),
      metrics_(metrics) {}

Dispatcher::~Dispatcher() { stop(std::chrono::steady_clock::now()); }

void Dispatcher::start() {
  for (int i = 0; i < options_.workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, factory_, options_.worker_stack_bytes));
  }
  if (!options_.paused)
    lease_thread_ = std::thread([this] {
      nameThisThread("botfn-lease");
      leaseLoop();
    });
}

bool Dispatcher::stop(std::chrono::steady_clock::time_point deadline) {
  stopping_ = true;
  bus_.wakeAll();
  if (lease_thread_.joinable()) lease_thread_.join();
  timers_.clear();
  bool drained;
  {
    std::unique_lock lock(mutex_);
    drained = idle_cv_.wait_until(lock, deadline, [&] { return in_flight_ == 0; });
  }
  if (drained) workers_.clear();  // else leave them: their runs still hold references
  return drained;
}

size_t Dispatcher::inFlight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

void Dispatcher::leaseLoop() {
  while (!stopping_) {
    auto entries = bus_.lease(256, std::chrono::milliseconds(200));
    for (auto& e : entries) accept(std::move(e));
  }
}

void Dispatcher::accept(storage::QueueEntry entry) {
  std::string key = entry.bot + '/' + entry.lane;
  bool idle;
  {
    std::lock_guard lock(mutex_);
    Lane& lane = lanes_[key];
    lane.entries.push_back(std::move(entry));
    idle = !lane.running;
  }
  if (idle) scheduleLane(key);
}

Worker& Dispatcher::pickWorker() {
  Worker* best = workers_.front().get();
  for (auto& w : workers_) {
    if (w->load.load() < best->load.load()) best = w.get();
  }
  return *best;
}

void Dispatcher::scheduleLane(const std::string& key) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    auto it = lanes_.find(key);
    if (it == lanes_.end() || it->second.running || it->second.entries.empty()) return;
    it->second.running = true;
    job = std::make_shared<Job>();
    job->lane_key = key;
    job->entry = std::move(it->second.entries.front());
    it->second.entries.pop_front();
    ++in_flight_;
  }
  Worker& worker = pickWorker();
  job->worker = &worker;
  worker.load++;
  worker.post([this, job] { startJob(job); });
}

void Dispatcher::startJob(std::shared_ptr<Job> job) {
  const auto& e = job->entry;
  log::TraceScope trace(std::to_string(e.update_id));
  auto bot = bots_(e.bot);
  if (e.redelivered && store_.isProcessed(e.bot, e.update_id).value_or(false)) {
    // A redelivery after a crash between commit and ack: effects are already applied.
    metrics_.counter("botfn_updates_total", "bot=\"" + e.bot + "\",outcome=\"redelivered\"")++;
    bus_.ack(e.id, nullptr);
    return finishJob(job);
  }
  auto doc = telegram::UpdateDocument::parse(e.body);
  if (!doc || !bot) {
    log::get("flow")->error("update {} of bot '{}' cannot run: {}", e.update_id, e.bot,
                            !bot ? "bot is not configured" : doc.error().describe());
    effects::RunInput input;
    input.bot =
        bot ? bot
            : std::make_shared<effects::BotProfile>(effects::BotProfile{e.bot, "", "", {}, ""});
    input.entry = e;
    *job->input = std::move(input);
    return commitAndFinish(job, effects::buildSkipCommit(*job->input), "unroutable");
  }
  job->input->bot = bot;
  job->input->entry = e;
  job->input->update = telegram::parseUpdate(**doc, bot->username);
  job->input->update_doc = std::move(*doc);
  auto conversation =
      store_.loadConversation(effects::conversationKeyOf(bot->name, job->input->update));
  if (!conversation) {
    log::get("flow")->error("conversation not loaded: {}", conversation.error().describe());
    return onOutcome(job, effects::RunOutcome{false, {}, conversation.error(), ""});
  }
  job->input->conversation = std::move(*conversation);
  runJob(job);
}

void Dispatcher::runJob(std::shared_ptr<Job> job) {
  job->input->attempt = job->attempt;
  job->worker->executor().run(
      job->input, [this, job](effects::RunOutcome outcome) { onOutcome(job, std::move(outcome)); });
}

void Dispatcher::onOutcome(std::shared_ptr<Job> job, effects::RunOutcome outcome) {
  log::TraceScope trace(std::to_string(job->entry.update_id));
  const std::string& bot = job->entry.bot;
  if (outcome.ok) {
    if (!outcome.effects.handled) {
      metrics_.counter("botfn_updates_unhandled_total",
                       "bot=\"" + bot + "\",kind=\"" +
                           labelValue(telegram::kindLabel(job->input->update.kind)) + "\"")++;
    }
    const char* label = outcome.effects.handled ? "handled" : "unhandled";
    return commitAndFinish(job, effects::buildCommit(*job->input, std::move(outcome.effects)),
                           label);
  }
  metrics_.counter("botfn_update_failures_total",
                   "bot=\"" + bot + "\",code=\"" + std::string(outcome.error.name()) + "\"")++;
  const auto retries = options_.retry_delays.size();
  if (static_cast<size_t>(job->attempt) <= retries && !stopping_) {
    const auto delay = options_.retry_delays[static_cast<size_t>(job->attempt) - 1];
    log::get("flow")->warn("update {} failed (attempt {}), retrying in {} ms: {}",
                           job->entry.update_id, job->attempt, delay.count(),
                           outcome.error.describe());
    ++job->attempt;
    timers_.after(delay, [this, job] { job->worker->post([this, job] { runJob(job); }); });
    return;
  }
  if (stopping_) return finishJob(job);  // stays queued: redelivered after the restart
  log::get("flow")->error("update {} dead-lettered after {} attempts: {}", job->entry.update_id,
                          job->attempt, outcome.error.describe());
  commitAndFinish(
      job,
      effects::buildDeadLetterCommit(*job->input, outcome.error, outcome.traceback, job->attempt),
      "dead_letter");
}

void Dispatcher::commitAndFinish(std::shared_ptr<Job> job, storage::Commit commit,
                                 const char* outcome) {
  const std::string labels =
      "bot=\"" + job->entry.bot + "\",outcome=\"" + std::string(outcome) + "\"";
  const bool dead_letter = commit.dead_letter.has_value();
  auto retained = dead_letter ? std::make_shared<storage::Commit>(commit) : nullptr;
  store_.commit(std::move(commit), [this, job, labels, retained](Result<void> r) {
    if (!r) {
      log::get("flow")->error("commit of update {} failed: {}", job->entry.update_id,
                              r.error().describe());
      if (retained) {
        // The dead letter itself did not commit (disk full): keep the lane and try again later.
        if (stopping_) return finishJob(job);
        timers_.after(options_.retry_delays.empty() ? std::chrono::milliseconds(1000)
                                                    : options_.retry_delays.back(),
                      [this, job, retained] { commitAndFinish(job, *retained, "dead_letter"); });
        return;
      }
      // Nothing was applied (disk full, a failing app write): treat it as a failed run.
      job->worker->post([this, job, error = r.error()] {
        onOutcome(job, effects::RunOutcome{false, {}, error, ""});
      });
      return;
    }
    metrics_.counter("botfn_updates_total", labels)++;
    {
      log::TraceScope trace(std::to_string(job->entry.update_id));
      log::get("flow")->debug("update {} committed ({})", job->entry.update_id, labels);
    }
    bus_.ack(job->entry.id, nullptr);
    finishJob(job);
  });
}

void Dispatcher::finishJob(const std::shared_ptr<Job>& job) {
  job->worker->load--;
  {
    std::lock_guard lock(mutex_);
    auto it = lanes_.find(job->lane_key);
    if (it != lanes_.end()) {
      it->second.running = false;
      if (it->second.entries.empty()) lanes_.erase(it);
    }
  }
  // The lane's next update is scheduled before this one stops counting as in flight, so stop()
  // cannot return (and the dispatcher be destroyed) while this function still runs.
  scheduleLane(job->lane_key);
  std::lock_guard lock(mutex_);
  --in_flight_;
  idle_cv_.notify_all();  // under the lock: the waiter resumes only after we are done
}

}  // namespace botfn::flow
