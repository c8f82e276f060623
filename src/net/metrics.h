// A small Prometheus metrics registry: counters, gauges and histograms with labels, exposed in
// the text exposition format 0.0.4. Every HttpServer owns or shares one (ServerConfig::metrics);
// other components register their own metrics on the same registry.
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace gmpki::net {

// Label values, in the order of the label names given at registration.
using LabelValues = std::vector<std::string>;

class Counter {
 public:
  // REQUIRES: labels.size() equals the number of label names; a mismatch is ignored (logged).
  void Inc(const LabelValues& labels = {}, double amount = 1.0);
  double Value(const LabelValues& labels = {}) const;

 private:
  friend class MetricsRegistry;
  Counter(std::string name, std::string help, std::vector<std::string> label_names);
  void Expose(std::string* out) const;
  std::string name_, help_;
  std::vector<std::string> label_names_;
  mutable std::mutex mu_;
  std::map<LabelValues, double> values_;
};

class Gauge {
 public:
  void Set(double value, const LabelValues& labels = {});
  void Add(double delta, const LabelValues& labels = {});
  double Value(const LabelValues& labels = {}) const;

 private:
  friend class MetricsRegistry;
  Gauge(std::string name, std::string help, std::vector<std::string> label_names);
  void Expose(std::string* out) const;
  std::string name_, help_;
  std::vector<std::string> label_names_;
  mutable std::mutex mu_;
  std::map<LabelValues, double> values_;
};

class Histogram {
 public:
  void Observe(double value, const LabelValues& labels = {});
  std::uint64_t Count(const LabelValues& labels = {}) const;
  double Sum(const LabelValues& labels = {}) const;

  // 5 ms .. 10 s, the Prometheus client default.
  static std::vector<double> DefaultBuckets();

 private:
  friend class MetricsRegistry;
  Histogram(std::string name, std::string help, std::vector<std::string> label_names,
            std::vector<double> buckets);
  void Expose(std::string* out) const;
  struct Series {
    std::vector<std::uint64_t> bucket_counts;  // non-cumulative, one per bound
    std::uint64_t count = 0;
    double sum = 0;
  };
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;  // ascending; +Inf is implicit
  mutable std::mutex mu_;
  std::map<LabelValues, Series> series_;
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Returns the metric named `name`, creating it on first use. Registering the same name again
  // with the same kind returns the existing metric (its help/labels unchanged). A name already
  // used by another kind, or not matching [a-zA-Z_:][a-zA-Z0-9_:]*, is a programming error: it
  // is logged and a detached metric that is never exposed is returned. References stay valid
  // for the registry's lifetime.
  Counter& AddCounter(std::string_view name, std::string_view help,
                      std::vector<std::string> label_names = {});
  Gauge& AddGauge(std::string_view name, std::string_view help,
                  std::vector<std::string> label_names = {});
  Histogram& AddHistogram(std::string_view name, std::string_view help,
                          std::vector<std::string> label_names = {},
                          std::vector<double> buckets = Histogram::DefaultBuckets());

  // All metrics in text exposition format 0.0.4, sorted by name.
  std::string Expose() const;
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Entry;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
  std::vector<std::unique_ptr<Entry>> detached_;
};

}  // namespace gmpki::net
