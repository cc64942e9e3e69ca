// The dispatcher: leases queued updates, keeps one update in flight per ordering lane (chat, else
// user, else bot), spreads lanes over the workers, and turns each run's outcome into its commit.
// A failed run follows the retry class of its error code (flow/retry_policy.hpp, from errors.def):
// run again while its lane waits, wait for the storage, or dead-letter. A queue entry is acked only
// after its update's commit. Uses storage/ and effects/; built by app/server_app.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/metrics.hpp"
#include "effects/run.hpp"
#include "flow/retry_policy.hpp"
#include "flow/timer_queue.hpp"
#include "flow/worker.hpp"
#include "storage/conversations.hpp"
#include "storage/update_commits.hpp"
#include "storage/work_queue.hpp"

namespace botfn::flow {

struct DispatcherOptions {
  int workers = 2;
  size_t worker_stack_bytes = 8 << 20;
  std::vector<std::chrono::milliseconds> retry_delays{
      std::chrono::seconds(1), std::chrono::seconds(5), std::chrono::seconds(25)};
  bool paused = false;  // test-only: lease nothing until unpaused
  // Backoff of an update whose commit failed because of the storage: doubles up to the max.
  std::chrono::milliseconds storage_retry_min{500};
  std::chrono::milliseconds storage_retry_max{30000};
};

using BotLookup = std::function<std::shared_ptr<const effects::BotProfile>(const std::string&)>;

class Dispatcher {
 public:
  Dispatcher(DispatcherOptions options, storage::WorkQueue& queue, storage::UpdateCommits& commits,
             storage::Conversations& conversations, effects::ExecutorFactory factory,
             BotLookup bots, Metrics& metrics);
  // Waits for every run in flight: their completions use this object.
  ~Dispatcher();

  void start();
  // Stops leasing and ends the waits of updates in backoff at once (they stay queued); lets runs
  // in flight finish until deadline. Queued entries stay durable. Returns true when nothing is in
  // flight any more.
  bool stop(std::chrono::steady_clock::time_point deadline);
  size_t inFlight() const;

 private:
  struct Lane {
    std::deque<storage::QueueEntry> entries;
    bool running = false;
  };
  struct Job;
  using Step = void (Dispatcher::*)(std::shared_ptr<Job>);

  void leaseLoop();
  void accept(storage::QueueEntry entry);
  void scheduleLane(const std::string& key);
  // Runs step on the job's worker; an exception fails the update through onOutcome.
  void post(const std::shared_ptr<Job>& job, Step step);
  void after(const std::shared_ptr<Job>& job, std::chrono::milliseconds delay, Step step);
  void startJob(std::shared_ptr<Job> job);
  void loadAndRun(std::shared_ptr<Job> job);
  void runJob(std::shared_ptr<Job> job);
  void onOutcome(std::shared_ptr<Job> job, effects::RunOutcome outcome);
  void commitAndFinish(std::shared_ptr<Job> job, storage::Commit commit, const char* outcome);
  void recommit(std::shared_ptr<Job> job);
  void ackAndFinish(const std::shared_ptr<Job>& job, const std::string& outcome);
  void finishJob(const std::shared_ptr<Job>& job);
  // The lane's partition moved to another instance: gives this and the lane's queued entries up
  // unacked (their new owner claims them) and frees the lane.
  void leaveLane(const std::shared_ptr<Job>& job);
  Worker& pickWorker();

  DispatcherOptions options_;
  RetryOptions retry_;
  storage::WorkQueue& queue_;
  storage::UpdateCommits& commits_;
  storage::Conversations& conversations_;
  effects::ExecutorFactory factory_;
  BotLookup bots_;
  Metrics& metrics_;
  std::vector<std::unique_ptr<Worker>> workers_;
  TimerQueue timers_;

  mutable std::mutex mutex_;
  std::condition_variable idle_cv_;
  std::map<std::string, Lane> lanes_;  // key: bot + '/' + lane
  size_t in_flight_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread lease_thread_;
};

}  // namespace botfn::flow
