// Process-wide counters, gauges and histograms rendered as Prometheus text for GET /metrics.
// Every outcome in every stage has a counter; tests assert on these, not on log lines.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace botfn {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  void render(std::string& out, const std::string& name, const std::string& labels) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // Approximate quantile from the buckets (upper bound of the bucket holding q).
  double quantile(double q) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

class Metrics {
 public:
  // labels are written exactly as they appear inside {}: bot="demo",status="200".
  std::atomic<uint64_t>& counter(const std::string& name, const std::string& labels = "");
  std::atomic<int64_t>& gauge(const std::string& name, const std::string& labels = "");
  Histogram& histogram(const std::string& name, const std::string& labels = "",
                       std::vector<double> bounds = {});
  void help(const std::string& name, const std::string& text, const std::string& type);

  uint64_t counterValue(const std::string& name, const std::string& labels = "") const;
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, std::atomic<uint64_t>>> counters_;
  std::map<std::string, std::map<std::string, std::atomic<int64_t>>> gauges_;
  std::map<std::string, std::map<std::string, std::unique_ptr<Histogram>>> histograms_;
  std::map<std::string, std::pair<std::string, std::string>> help_;
};

// A label value escaped for the Prometheus text format (backslash, double quote, newline), for
// values that come from outside: "bot=\"" + labelValue(name) + "\"".
std::string labelValue(std::string_view value);

// The one registry of the process (stages receive it from the composition root, tests may build
// their own).
Metrics& globalMetrics();

}  // namespace botfn
