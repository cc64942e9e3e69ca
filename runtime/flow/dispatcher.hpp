// The dispatcher: leases queued updates, keeps one update in flight per ordering lane (chat, else
// user, else bot), spreads lanes over the workers, and turns each run's outcome into its commit —
// retrying a failed handler after 1, 5, 25 s while its lane waits, then dead-lettering it.
// A queue entry is acked only after its update's commit.
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
#include "flow/timer_queue.hpp"
#include "flow/worker.hpp"
#include "storage/bus.hpp"
#include "storage/store.hpp"

namespace botfn::flow {

struct DispatcherOptions {
  int workers = 2;
  size_t worker_stack_bytes = 8 << 20;
  std::vector<std::chrono::milliseconds> retry_delays{
      std::chrono::seconds(1), std::chrono::seconds(5), std::chrono::seconds(25)};
  bool paused = false;  // test-only: lease nothing until unpaused
};

using BotLookup = std::function<std::shared_ptr<const effects::BotProfile>(const std::string&)>;

class Dispatcher {
 public:
  Dispatcher(DispatcherOptions options, storage::Bus& bus, storage::Store& store,
             effects::ExecutorFactory factory, BotLookup bots, Metrics& metrics);
  ~Dispatcher();

  void start();
  // Stops leasing, lets in-flight runs finish until deadline; queued entries stay durable.
  // Returns true when everything in flight finished.
  bool stop(std::chrono::steady_clock::time_point deadline);
  size_t inFlight() const;

 private:
  struct Lane {
    std::deque<storage::QueueEntry> entries;
    bool running = false;
  };
  struct Job;

  void leaseLoop();
  void accept(storage::QueueEntry entry);
  void scheduleLane(const std::string& key);
  void startJob(std::shared_ptr<Job> job);
  void runJob(std::shared_ptr<Job> job);
  void onOutcome(std::shared_ptr<Job> job, effects::RunOutcome outcome);
  void commitAndFinish(std::shared_ptr<Job> job, storage::Commit commit, const char* outcome);
  void finishJob(const std::shared_ptr<Job>& job);
  Worker& pickWorker();

  DispatcherOptions options_;
  storage::Bus& bus_;
  storage::Store& store_;
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
