#include "net/metrics.h"

#include <algorithm>
#include <cmath>
#include <charconv>

#include "base/log.h"

namespace gmpki::net {
namespace {

bool ValidName(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Exposition format 0.0.4: label values escape backslash, double-quote and line feed.
std::string EscapeLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// HELP text escapes backslash and line feed only.
std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Shortest representation that reads back exactly: "0.1", not "0.10000000000000001".
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

std::string LabelSet(const std::vector<std::string>& names, const LabelValues& values,
                     std::string_view extra_name = {}, std::string_view extra_value = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + EscapeLabel(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

void Header(std::string* out, const std::string& name, const std::string& help,
            std::string_view type) {
  *out += "# HELP " + name + " " + EscapeHelp(help) + "\n";
  *out += "# TYPE " + name + " " + std::string(type) + "\n";
}

bool LabelsMatch(const std::string& metric, const std::vector<std::string>& names,
                 const LabelValues& values) {
  if (names.size() == values.size()) return true;
  log::Error("metric {}: {} label values for {} label names", metric, values.size(),
             names.size());
  return false;
}

}  // namespace

// ---- Counter ----
Counter::Counter(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void Counter::Inc(const LabelValues& labels, double amount) {
  if (!LabelsMatch(name_, label_names_, labels) || !(amount >= 0)) return;  // counters only rise
  std::lock_guard lock(mu_);
  values_[labels] += amount;
}

double Counter::Value(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(labels);
  return it == values_.end() ? 0.0 : it->second;
}

void Counter::Expose(std::string* out) const {
  std::lock_guard lock(mu_);
  Header(out, name_, help_, "counter");
  for (const auto& [labels, v] : values_) {
    *out += name_ + LabelSet(label_names_, labels) + " " + FormatValue(v) + "\n";
  }
}

// ---- Gauge ----
Gauge::Gauge(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void Gauge::Set(double value, const LabelValues& labels) {
  if (!LabelsMatch(name_, label_names_, labels)) return;
  std::lock_guard lock(mu_);
  values_[labels] = value;
}

void Gauge::Add(double delta, const LabelValues& labels) {
  if (!LabelsMatch(name_, label_names_, labels)) return;
  std::lock_guard lock(mu_);
  values_[labels] += delta;
}

double Gauge::Value(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(labels);
  return it == values_.end() ? 0.0 : it->second;
}

void Gauge::Expose(std::string* out) const {
  std::lock_guard lock(mu_);
  Header(out, name_, help_, "gauge");
  for (const auto& [labels, v] : values_) {
    *out += name_ + LabelSet(label_names_, labels) + " " + FormatValue(v) + "\n";
  }
}

// ---- Histogram ----
std::vector<double> Histogram::DefaultBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Histogram::Histogram(std::string name, std::string help, std::vector<std::string> label_names,
                     std::vector<double> buckets)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)),
      bounds_(std::move(buckets)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  bounds_.erase(std::remove_if(bounds_.begin(), bounds_.end(),
                               [](double b) { return !std::isfinite(b); }),
                bounds_.end());
}

void Histogram::Observe(double value, const LabelValues& labels) {
  if (!LabelsMatch(name_, label_names_, labels)) return;
  std::lock_guard lock(mu_);
  Series& s = series_[labels];
  if (s.bucket_counts.empty()) s.bucket_counts.assign(bounds_.size(), 0);
  // Bucket "le" is inclusive: the first bound >= value.
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  if (it != bounds_.end()) ++s.bucket_counts[static_cast<std::size_t>(it - bounds_.begin())];
  ++s.count;
  s.sum += value;
}

std::uint64_t Histogram::Count(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second.count;
}

double Histogram::Sum(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0.0 : it->second.sum;
}

void Histogram::Expose(std::string* out) const {
  std::lock_guard lock(mu_);
  Header(out, name_, help_, "histogram");
  for (const auto& [labels, s] : series_) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += s.bucket_counts[i];
      *out += name_ + "_bucket" + LabelSet(label_names_, labels, "le", FormatValue(bounds_[i])) +
              " " + std::to_string(cumulative) + "\n";
    }
    *out += name_ + "_bucket" + LabelSet(label_names_, labels, "le", "+Inf") + " " +
            std::to_string(s.count) + "\n";
    *out += name_ + "_sum" + LabelSet(label_names_, labels) + " " + FormatValue(s.sum) + "\n";
    *out += name_ + "_count" + LabelSet(label_names_, labels) + " " + std::to_string(s.count) +
            "\n";
  }
}

// ---- Registry ----
struct MetricsRegistry::Entry {
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  void Expose(std::string* out) const {
    if (counter) counter->Expose(out);
    if (gauge) gauge->Expose(out);
    if (histogram) histogram->Expose(out);
  }
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

Counter& MetricsRegistry::AddCounter(std::string_view name, std::string_view help,
                                     std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it != entries_.end() && it->second->counter) return *it->second->counter;
  auto e = std::make_unique<Entry>();
  e->counter.reset(new Counter(std::string(name), std::string(help), std::move(label_names)));
  Counter& c = *e->counter;
  if (it != entries_.end() || !ValidName(name)) {
    log::Error("metric name '{}' is invalid or used by another kind; not exported", name);
    detached_.push_back(std::move(e));
  } else {
    entries_.emplace(std::string(name), std::move(e));
  }
  return c;
}

Gauge& MetricsRegistry::AddGauge(std::string_view name, std::string_view help,
                                 std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it != entries_.end() && it->second->gauge) return *it->second->gauge;
  auto e = std::make_unique<Entry>();
  e->gauge.reset(new Gauge(std::string(name), std::string(help), std::move(label_names)));
  Gauge& g = *e->gauge;
  if (it != entries_.end() || !ValidName(name)) {
    log::Error("metric name '{}' is invalid or used by another kind; not exported", name);
    detached_.push_back(std::move(e));
  } else {
    entries_.emplace(std::string(name), std::move(e));
  }
  return g;
}

Histogram& MetricsRegistry::AddHistogram(std::string_view name, std::string_view help,
                                         std::vector<std::string> label_names,
                                         std::vector<double> buckets) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it != entries_.end() && it->second->histogram) return *it->second->histogram;
  auto e = std::make_unique<Entry>();
  e->histogram.reset(new Histogram(std::string(name), std::string(help), std::move(label_names),
                                   std::move(buckets)));
  Histogram& h = *e->histogram;
  if (it != entries_.end() || !ValidName(name)) {
    log::Error("metric name '{}' is invalid or used by another kind; not exported", name);
    detached_.push_back(std::move(e));
  } else {
    entries_.emplace(std::string(name), std::move(e));
  }
  return h;
}

std::string MetricsRegistry::Expose() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, e] : entries_) e->Expose(&out);
  return out;
}

}  // namespace gmpki::net
