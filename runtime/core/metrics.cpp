// Prometheus text rendering for the metrics registry. Creation takes a mutex; increments are
// atomic.
#include "core/metrics.hpp"

#include <cmath>
#include <cstdio>

namespace botfn {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(std::llround(value * 1e6)),
                        std::memory_order_relaxed);
}

double Histogram::quantile(double q) const {
  const uint64_t total = count();
  if (total == 0) return 0;
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  uint64_t seen = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank) return i < bounds_.size() ? bounds_[i] : INFINITY;
  }
  return INFINITY;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  char num[64];
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (i < bounds_.size()) {
      std::snprintf(num, sizeof num, "%g", bounds_[i]);
    } else {
      std::snprintf(num, sizeof num, "+Inf");
    }
    out += name + "_bucket{" + labels + sep + "le=\"" + num + "\"} " + std::to_string(cumulative) +
           "\n";
  }
  std::snprintf(num, sizeof num, "%.6f",
                static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + num + "\n";
  out += name + "_count" + braces + " " + std::to_string(count()) + "\n";
}

std::atomic<uint64_t>& Metrics::counter(const std::string& name, const std::string& labels) {
  std::lock_guard lock(mutex_);
  return counters_[name][labels];
}

std::atomic<int64_t>& Metrics::gauge(const std::string& name, const std::string& labels) {
  std::lock_guard lock(mutex_);
  return gauges_[name][labels];
}

Histogram& Metrics::histogram(const std::string& name, const std::string& labels,
                              std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  auto& slot = histograms_[name][labels];
  if (!slot) {
    if (bounds.empty()) {
      bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
    }
    slot = std::make_unique<Histogram>(std::move(bounds));
  }
  return *slot;
}

void Metrics::help(const std::string& name, const std::string& text, const std::string& type) {
  std::lock_guard lock(mutex_);
  help_[name] = {text, type};
}

uint64_t Metrics::counterValue(const std::string& name, const std::string& labels) const {
  std::lock_guard lock(mutex_);
  auto it = counters_.find(name);
  if (it == counters_.end()) return 0;
  auto jt = it->second.find(labels);
  return jt == it->second.end() ? 0 : jt->second.load(std::memory_order_relaxed);
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  auto header = [&](const std::string& name, const char* type) {
    auto it = help_.find(name);
    if (it != help_.end()) out += "# HELP " + name + " " + it->second.first + "\n";
    out += "# TYPE " + name + " " + type + "\n";
  };
  auto braces = [](const std::string& labels) {
    return labels.empty() ? std::string() : "{" + labels + "}";
  };
  for (const auto& [name, series] : counters_) {
    header(name, "counter");
    for (const auto& [labels, value] : series) {
      out += name + braces(labels) + " " + std::to_string(value.load()) + "\n";
    }
  }
  for (const auto& [name, series] : gauges_) {
    header(name, "gauge");
    for (const auto& [labels, value] : series) {
      out += name + braces(labels) + " " + std::to_string(value.load()) + "\n";
    }
  }
  for (const auto& [name, series] : histograms_) {
    header(name, "histogram");
    for (const auto& [labels, h] : series) h->render(out, name, labels);
  }
  return out;
}

std::string labelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Metrics& globalMetrics() {
  static Metrics metrics;
  return metrics;
}

}  // namespace botfn
