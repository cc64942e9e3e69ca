// Lane bookkeeping, run scheduling, and the outcome of each run: commit, retry per the error's
// retry class, wait for the storage, or dead-letter.
#include "flow/dispatcher.hpp"

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "effects/commit_builder.hpp"

namespace botfn::flow {

struct Dispatcher::Job {
  std::string lane_key;
  storage::QueueEntry entry;
  Worker* worker = nullptr;
  int attempt = 1;        // runs of the handler so far; storage waits are not runs
  int storage_waits = 0;  // storage faults in a row: sets the backoff
  bool prepared = false;  // input holds the parsed update
  bool loaded = false;    // input holds the conversation: a retry may go straight to runJob
  // The current worker step delivered its outcome (worker thread only): an exception thrown after
  // that must not fail the update a second time.
  bool settled = false;
  std::shared_ptr<effects::RunInput> input = std::make_shared<effects::RunInput>();
  // A commit made without a run (a dead letter, an unroutable update), kept to commit it again
  // when it fails.
  std::shared_ptr<storage::Commit> retained;
  const char* retained_outcome = "";
};

namespace {
std::string updateLabels(const std::string& bot, const char* outcome) {
  return "bot=\"" + bot + "\",outcome=\"" + outcome + "\"";
}
}  // namespace

Dispatcher::Dispatcher(DispatcherOptions options, storage::WorkQueue& queue,
                       storage::UpdateCommits& commits, storage::Conversations& conversations,
                       effects::ExecutorFactory factory, BotLookup bots, Metrics& metrics)
    : options_(std::move(options)),
      retry_{options_.retry_delays, options_.storage_retry_min, options_.storage_retry_max},
      queue_(queue),
      commits_(commits),
      conversations_(conversations),
      factory_(std::move(factory)),
      bots_(std::move(bots)),
      metrics_(metrics) {}

Dispatcher::~Dispatcher() {
  if (stop(std::chrono::steady_clock::now())) return;
  // Runs still in flight call back into this object: wait for them (each ends within its
  // deadline), or a completion would run on a destroyed dispatcher.
  {
    std::unique_lock lock(mutex_);
    idle_cv_.wait(lock, [&] { return in_flight_ == 0; });
  }
  workers_.clear();
}

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
  queue_.wakeAll();
  if (lease_thread_.joinable()) lease_thread_.join();
  // An update waiting in backoff (a retry, the storage) ends now and stays queued: its timer must
  // not hold the drain until the deadline.
  timers_.close();
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
    auto entries = queue_.lease(256, std::chrono::milliseconds(200));
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
  post(job, &Dispatcher::startJob);
}

void Dispatcher::post(const std::shared_ptr<Job>& job, Step step) {
  job->worker->post([this, job, step] {
    job->settled = false;
    try {
      (this->*step)(job);
      return;
    } catch (const std::exception& e) {
      if (job->settled) {
        log::get("flow")->error("update {}: worker task threw after its outcome: {}",
                                job->entry.update_id, e.what());
        return;
      }
      // A reader connection that cannot open, a VM that cannot be built: the update fails like
      // any run, so its lane moves on instead of staying busy forever.
      log::get("flow")->error("update {}: worker task threw: {}", job->entry.update_id, e.what());
      onOutcome(job, effects::RunOutcome{false, {}, Error{ErrorCode::Internal, e.what()}, ""});
    }
  });
}

void Dispatcher::after(const std::shared_ptr<Job>& job, std::chrono::milliseconds delay,
                       Step step) {
  timers_.after(
      delay, [this, job, step] { post(job, step); },
      [this, job] { finishJob(job); });  // stop(): the entry stays queued for the next start
}

void Dispatcher::startJob(std::shared_ptr<Job> job) {
  const auto& e = job->entry;
  log::TraceScope trace(std::to_string(e.update_id));
  if (!queue_.holds(e)) return leaveLane(job);
  // What a dead letter needs, set first: any step below may fail the update.
  auto bot = bots_(e.bot);
  job->input->entry = e;
  job->input->bot =
      bot ? bot : std::make_shared<effects::BotProfile>(effects::BotProfile{e.bot, "", "", {}, ""});
  job->input->update.lane = e.lane;
  job->input->update.kind = e.kind;
  if (e.redelivered) {
    auto processed = commits_.isProcessed(e.bot, e.update_id);
    if (processed && *processed) {
      // A redelivery after a crash between commit and ack: effects are already applied.
      job->settled = true;
      return ackAndFinish(job, "redelivered");
    }
    // Unknown: run it; the commit applies nothing when the marker turns out to exist.
    if (!processed)
      log::get("flow")->warn("marker of update {} not read: {}", e.update_id,
                             processed.error().describe());
  }
  auto doc = telegram::UpdateDocument::parse(e.body);
  if (!doc || !bot) {
    log::get("flow")->error("update {} of bot '{}' cannot run: {}", e.update_id, e.bot,
                            !bot ? "bot is not configured" : doc.error().describe());
    job->settled = true;
    return commitAndFinish(job, effects::buildSkipCommit(*job->input), "unroutable");
  }
  job->input->update = telegram::parseUpdate(**doc, bot->username);
  job->input->update_doc = std::move(*doc);
  job->prepared = true;
  loadAndRun(job);
}

void Dispatcher::loadAndRun(std::shared_ptr<Job> job) {
  if (!job->prepared) return startJob(job);
  job->loaded = false;
  auto conversation = conversations_.loadConversation(
      effects::conversationKeyOf(job->input->bot->name, job->input->update));
  if (!conversation) {
    log::get("flow")->error("conversation not loaded: {}", conversation.error().describe());
    return onOutcome(job, effects::RunOutcome{false, {}, conversation.error(), ""});
  }
  job->input->conversation = std::move(*conversation);
  job->loaded = true;
  runJob(job);
}

void Dispatcher::runJob(std::shared_ptr<Job> job) {
  if (!job->loaded) return loadAndRun(job);
  job->input->attempt = job->attempt;
  job->worker->executor().run(
      job->input, [this, job](effects::RunOutcome outcome) { onOutcome(job, std::move(outcome)); });
}

void Dispatcher::onOutcome(std::shared_ptr<Job> job, effects::RunOutcome outcome) {
  job->settled = true;
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
  if (stopping_) return finishJob(job);  // stays queued: redelivered after the restart
  const auto decision = decideRetry(outcome.error, job->attempt, job->storage_waits, retry_);
  switch (decision.action) {
    case RetryAction::WaitForStorage:
      ++job->storage_waits;
      metrics_.counter("botfn_update_storage_waits_total", "bot=\"" + bot + "\"")++;
      log::get("flow")->warn("update {} waits {} ms for the storage: {}", job->entry.update_id,
                             decision.delay.count(), outcome.error.describe());
      return after(job, decision.delay, &Dispatcher::loadAndRun);
    case RetryAction::RunAgain:
      job->storage_waits = 0;
      log::get("flow")->warn("update {} failed (run {}), running again in {} ms: {}",
                             job->entry.update_id, job->attempt, decision.delay.count(),
                             outcome.error.describe());
      ++job->attempt;
      return after(job, decision.delay, &Dispatcher::runJob);
    case RetryAction::DeadLetter:
      log::get("flow")->error("update {} dead-lettered after {} run(s) (retry class {}): {}",
                              job->entry.update_id, job->attempt,
                              retryClassName(outcome.error.retryClass()), outcome.error.describe());
      return commitAndFinish(job,
                             effects::buildDeadLetterCommit(*job->input, outcome.error,
                                                            outcome.traceback, job->attempt),
                             "dead_letter");
  }
}

void Dispatcher::commitAndFinish(std::shared_ptr<Job> job, storage::Commit commit,
                                 const char* outcome) {
  // A run's commit that fails is a failed run (the handler runs again); a commit made without a
  // run is kept and committed again.
  const bool from_run = !commit.dead_letter && job->prepared;
  // Several instances: the lane's partition may have moved while this ran. Its new owner runs it
  // again (the lane's order holds there); committing here could overtake that.
  if (!queue_.holds(job->entry)) return leaveLane(job);
  if (!from_run) {
    job->retained = std::make_shared<storage::Commit>(commit);
    job->retained_outcome = outcome;
  }
  commits_.commit(std::move(commit), [this, job, outcome, from_run](Result<void> r) {
    if (r) return ackAndFinish(job, outcome);
    if (r.error().code == ErrorCode::AlreadyProcessed) {
      // The marker exists (a redelivery whose marker read failed): nothing was applied again.
      return ackAndFinish(job, "redelivered");
    }
    log::get("flow")->error("commit of update {} failed: {}", job->entry.update_id,
                            r.error().describe());
    if (from_run) {
      // Nothing was applied: a failed run, handled by its error's retry class (a storage fault
      // waits for the storage; an app statement that broke a constraint is retried).
      job->worker->post([this, job, error = r.error()] {
        onOutcome(job, effects::RunOutcome{false, {}, error, ""});
      });
      return;
    }
    if (stopping_) return finishJob(job);
    // The storage refused the dead letter itself: keep the lane and commit it again later.
    const auto delay = r.error().isStorageFault()
                           ? decideRetry(r.error(), job->attempt, job->storage_waits, retry_).delay
                           : retry_.storage_max;
    ++job->storage_waits;
    after(job, delay, &Dispatcher::recommit);
  });
}

void Dispatcher::recommit(std::shared_ptr<Job> job) {
  job->settled = true;  // a throw from here on must not turn the dead letter into a run
  commitAndFinish(job, *job->retained, job->retained_outcome);
}

void Dispatcher::ackAndFinish(const std::shared_ptr<Job>& job, const std::string& outcome) {
  metrics_.counter("botfn_updates_total", updateLabels(job->entry.bot, outcome.c_str()))++;
  {
    log::TraceScope trace(std::to_string(job->entry.update_id));
    log::get("flow")->debug("update {} committed ({})", job->entry.update_id, outcome);
  }
  queue_.ack(job->entry.id, nullptr);
  finishJob(job);
}

void Dispatcher::leaveLane(const std::shared_ptr<Job>& job) {
  job->settled = true;
  std::vector<int64_t> left{job->entry.id};
  {
    std::lock_guard lock(mutex_);
    if (auto it = lanes_.find(job->lane_key); it != lanes_.end()) {
      for (const auto& e : it->second.entries) left.push_back(e.id);
      it->second.entries.clear();
    }
  }
  log::get("flow")->warn("lane {} moved to another instance; leaving it {} update(s)",
                         job->lane_key, left.size());
  metrics_.counter("botfn_updates_left_to_another_instance_total").fetch_add(left.size());
  for (int64_t id : left) queue_.abandon(id);
  finishJob(job);
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
