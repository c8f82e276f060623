#include "net/metrics.h"

#include <thread>

#include <gtest/gtest.h>

namespace gmpki::net {
namespace {

TEST(MetricsTest, CounterExposition) {
  MetricsRegistry reg;
  Counter& c = reg.AddCounter("jobs_total", "Jobs done", {"kind"});
  c.Inc({"a"});
  c.Inc({"a"}, 2);
  c.Inc({"we\"ird\\\n"});
  c.Inc({"a"}, -5);          // counters never go down
  c.Inc({"too", "many"});    // label count mismatch: ignored
  EXPECT_EQ(c.Value({"a"}), 3);
  std::string text = reg.Expose();
  EXPECT_NE(text.find("# HELP jobs_total Jobs done\n# TYPE jobs_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find("jobs_total{kind=\"a\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("jobs_total{kind=\"we\\\"ird\\\\\\n\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("too"), std::string::npos);
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  MetricsRegistry reg;
  Histogram& h = reg.AddHistogram("latency_seconds", "Latency", {"op"}, {0.1, 1, 0.5});
  h.Observe(0.05, {"x"});
  h.Observe(0.1, {"x"});  // le is inclusive
  h.Observe(0.7, {"x"});
  h.Observe(3, {"x"});
  EXPECT_EQ(h.Count({"x"}), 4u);
  EXPECT_DOUBLE_EQ(h.Sum({"x"}), 3.85);
  std::string text = reg.Expose();
  EXPECT_NE(text.find("# TYPE latency_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{op=\"x\",le=\"0.1\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("latency_seconds_bucket{op=\"x\",le=\"0.5\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{op=\"x\",le=\"1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{op=\"x\",le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_count{op=\"x\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_sum{op=\"x\"} 3.85"), std::string::npos);
}

TEST(MetricsTest, ReRegistrationReturnsSameMetricAndConflictsAreDetached) {
  MetricsRegistry reg;
  Counter& a = reg.AddCounter("things_total", "Things");
  Counter& b = reg.AddCounter("things_total", "Things again");
  EXPECT_EQ(&a, &b);
  Gauge& g = reg.AddGauge("things_total", "conflicting kind");
  g.Set(42);
  Counter& bad = reg.AddCounter("bad name", "x");
  bad.Inc();
  a.Inc();
  std::string text = reg.Expose();
  EXPECT_EQ(text.find("42"), std::string::npos);
  EXPECT_EQ(text.find("bad name"), std::string::npos);
  EXPECT_NE(text.find("things_total 1\n"), std::string::npos);
}

TEST(MetricsTest, GaugeAndSortedOutput) {
  MetricsRegistry reg;
  Gauge& g = reg.AddGauge("z_queue_depth", "Queue depth");
  reg.AddCounter("a_total", "A").Inc();
  g.Set(5);
  g.Add(-2);
  EXPECT_EQ(g.Value(), 3);
  std::string text = reg.Expose();
  EXPECT_LT(text.find("a_total"), text.find("z_queue_depth"));
  EXPECT_NE(text.find("z_queue_depth 3\n"), std::string::npos);
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  MetricsRegistry reg;
  Counter& c = reg.AddCounter("hits_total", "Hits", {"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 1000; ++i) c.Inc({"x"});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value({"x"}), 8000);
}

}  // namespace
}  // namespace gmpki::net
