#include "plumbline/daemon/metrics.h"

#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace plumbline::daemon {
namespace {

TEST(MetricsTest, ExpositionTextIsExact) {
  Registry r;
  auto requests = r.AddCounter("plumbline_http_requests_total", "HTTP requests answered.", {"route", "code"});
  auto up = r.AddGauge("plumbline_up", "1 while the daemon runs.");
  auto round = r.AddHistogram("plumbline_round_seconds", "Publish round duration.", {"result"}, {0.1, 0.5, 1});
  auto unused = r.AddCounter("plumbline_unused_total", "Never incremented.", {"x"});
  ASSERT_TRUE(requests.ok() && up.ok() && round.ok() && unused.ok());

  (*requests)->Labels({"/v1/marks", "200"}).Inc();
  (*requests)->Labels({"/v1/marks", "200"}).Inc(2);
  (*requests)->Labels({"/healthz", "503"}).Inc();
  (*up)->Labels({}).Set(1);
  HistogramFamily& h = **round;
  h.Labels({"ok"}).Observe(0.0625);
  h.Labels({"ok"}).Observe(0.5);  // on a bound: counted in le="0.5"
  h.Labels({"ok"}).Observe(3);

  EXPECT_EQ(r.Expose(),
            "# HELP plumbline_http_requests_total HTTP requests answered.\n"
            "# TYPE plumbline_http_requests_total counter\n"
            "plumbline_http_requests_total{route=\"/healthz\",code=\"503\"} 1\n"
            "plumbline_http_requests_total{route=\"/v1/marks\",code=\"200\"} 3\n"
            "# HELP plumbline_up 1 while the daemon runs.\n"
            "# TYPE plumbline_up gauge\n"
            "plumbline_up 1\n"
            "# HELP plumbline_round_seconds Publish round duration.\n"
            "# TYPE plumbline_round_seconds histogram\n"
            "plumbline_round_seconds_bucket{result=\"ok\",le=\"0.1\"} 1\n"
            "plumbline_round_seconds_bucket{result=\"ok\",le=\"0.5\"} 2\n"
            "plumbline_round_seconds_bucket{result=\"ok\",le=\"1\"} 2\n"
            "plumbline_round_seconds_bucket{result=\"ok\",le=\"+Inf\"} 3\n"
            "plumbline_round_seconds_sum{result=\"ok\"} 3.5625\n"
            "plumbline_round_seconds_count{result=\"ok\"} 3\n"
            "# HELP plumbline_unused_total Never incremented.\n"
            "# TYPE plumbline_unused_total counter\n");
  EXPECT_EQ(Registry::kContentType, "text/plain; version=0.0.4; charset=utf-8");
}

TEST(MetricsTest, HistogramWithoutLabels) {
  Registry r;
  auto h = r.AddHistogram("lat_seconds", "Latency.", {}, {0.001, 0.01});
  ASSERT_TRUE(h.ok());
  (*h)->Labels({}).Observe(0.002);
  (*h)->Labels({}).Observe(std::numeric_limits<double>::quiet_NaN());  // dropped
  EXPECT_EQ(r.Expose(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{le=\"0.001\"} 0\n"
            "lat_seconds_bucket{le=\"0.01\"} 1\n"
            "lat_seconds_bucket{le=\"+Inf\"} 1\n"
            "lat_seconds_sum 0.002\n"
            "lat_seconds_count 1\n");
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  Registry r;
  auto c = r.AddCounter("c_total", "Help with \\ backslash\nand newline; \"quotes\" stay.", {"path"});
  ASSERT_TRUE(c.ok());
  (*c)->Labels({"a\\b\"c\nd"}).Inc();
  EXPECT_EQ(r.Expose(),
            "# HELP c_total Help with \\\\ backslash\\nand newline; \"quotes\" stay.\n"
            "# TYPE c_total counter\n"
            "c_total{path=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsTest, ValueFormatting) {
  Registry r;
  auto g = r.AddGauge("g", "G.", {"k"});
  ASSERT_TRUE(g.ok());
  GaugeFamily& f = **g;
  f.Labels({"a_million"}).Set(1e6);
  f.Labels({"b_small"}).Set(1e-5);
  f.Labels({"c_quarter"}).Set(-0.25);
  f.Labels({"d_huge"}).Set(2.5e20);
  f.Labels({"e_inf"}).Set(std::numeric_limits<double>::infinity());
  f.Labels({"f_ninf"}).Set(-std::numeric_limits<double>::infinity());
  f.Labels({"g_nan"}).Set(std::numeric_limits<double>::quiet_NaN());
  f.Labels({"h_add"}).Add(5);
  f.Labels({"h_add"}).Add(-7);
  EXPECT_EQ(r.Expose(),
            "# HELP g G.\n# TYPE g gauge\n"
            "g{k=\"a_million\"} 1000000\n"
            "g{k=\"b_small\"} 1e-05\n"
            "g{k=\"c_quarter\"} -0.25\n"
            "g{k=\"d_huge\"} 2.5e+20\n"
            "g{k=\"e_inf\"} +Inf\n"
            "g{k=\"f_ninf\"} -Inf\n"
            "g{k=\"g_nan\"} NaN\n"
            "g{k=\"h_add\"} -2\n");
}

TEST(MetricsTest, CounterNeverDecreases) {
  Registry r;
  Counter& c = (*r.AddCounter("c_total", "C."))->Labels({});
  c.Inc(2);
  c.Inc(-1);
  c.Inc(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(c.Value(), 2);
}

TEST(MetricsTest, HandlesAreStable) {
  Registry r;
  CounterFamily& f = **r.AddCounter("c_total", "C.", {"a"});
  Counter* first = &f.Labels({"x"});
  for (int i = 0; i < 100; ++i) f.Labels({std::to_string(i)});
  EXPECT_EQ(&f.Labels({"x"}), first);
  const std::string x = "x";
  EXPECT_EQ(&f.Labels({std::string_view(x)}), first);
}

TEST(MetricsTest, ConcurrentIncrementsAreExact) {
  Registry r;
  CounterFamily& requests = **r.AddCounter("req_total", "R.", {"route"});
  HistogramFamily& latency = **r.AddHistogram("lat_seconds", "L.", {}, {0.5});
  Counter& shared = requests.Labels({"/shared"});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string mine = "/t" + std::to_string(t % 2);
      for (int i = 0; i < kPerThread; ++i) {
        shared.Inc();                           // kept handle
        requests.Labels({mine}).Inc();          // lookup every time
        latency.Labels({}).Observe(i % 2 == 0 ? 0.25 : 1.0);
        if (i % 1000 == 0) (void)r.Expose();    // scrapes concurrent with updates
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(shared.Value(), kThreads * kPerThread);
  EXPECT_EQ(requests.Labels({"/t0"}).Value() + requests.Labels({"/t1"}).Value(), kThreads * kPerThread);
  const Histogram::Counts counts = latency.Labels({}).Read();
  EXPECT_EQ(counts.cumulative, (std::vector<uint64_t>{kThreads * kPerThread / 2, kThreads * kPerThread}));
  EXPECT_EQ(counts.sum, kThreads * kPerThread / 2 * 1.25);  // exact: quarters and ones in binary
}

TEST(MetricsTest, LabelCombinationsAreCapped) {
  Registry r;
  CounterFamily& f = **r.AddCounter("req_total", "R.", {"method", "path"}, /*max_series=*/3);
  for (int i = 0; i < 1000; ++i) f.Labels({"GET", "/random/" + std::to_string(i)}).Inc();
  EXPECT_EQ(f.series_count(), 3u);
  f.Labels({"GET", "/random/1"}).Inc(10);  // an existing series keeps counting on its own
  // All-overflow values go to the overflow series: never a second series with the same labels.
  f.Labels({Registry::kOverflowLabelValue, Registry::kOverflowLabelValue}).Inc();
  EXPECT_EQ(r.Expose(),
            "# HELP req_total R.\n# TYPE req_total counter\n"
            "req_total{method=\"GET\",path=\"/random/0\"} 1\n"
            "req_total{method=\"GET\",path=\"/random/1\"} 11\n"
            "req_total{method=\"GET\",path=\"/random/2\"} 1\n"
            "req_total{method=\"__overflow__\",path=\"__overflow__\"} 998\n");
}

TEST(MetricsTest, WrongNumberOfLabelValuesGoesToOverflow) {
  Registry r;
  CounterFamily& f = **r.AddCounter("c_total", "C.", {"a", "b"});
  f.Labels({"only-one"}).Inc();
  f.Labels({"x", "y", "z"}).Inc();
  EXPECT_EQ(f.series_count(), 0u);
  EXPECT_EQ(f.Labels({"__overflow__", "__overflow__"}).Value(), 2);

  CounterFamily& plain = **r.AddCounter("plain_total", "P.");
  EXPECT_EQ(&plain.Labels({"ignored"}), &plain.Labels({}));
  EXPECT_EQ(plain.series_count(), 1u);
}

TEST(MetricsTest, RegistrationErrors) {
  Registry r;
  ASSERT_TRUE(r.AddCounter("ok_total", "ok", {"route"}).ok());
  ASSERT_TRUE(r.AddHistogram("lat", "ok", {}, {1}).ok());
  auto rejected = [](const auto& result) { return result.status().code() == Code::kInvalidArgument; };
  EXPECT_TRUE(rejected(r.AddCounter("ok_total", "duplicate")));
  EXPECT_TRUE(rejected(r.AddGauge("lat_count", "clashes with the histogram's _count")));
  EXPECT_TRUE(rejected(r.AddCounter("1starts_with_digit", "x")));
  EXPECT_TRUE(rejected(r.AddCounter("has-dash", "x")));
  EXPECT_TRUE(rejected(r.AddCounter("", "x")));
  EXPECT_TRUE(rejected(r.AddCounter("l1", "x", {"a:b"})));
  EXPECT_TRUE(rejected(r.AddCounter("l2", "x", {"__reserved"})));
  EXPECT_TRUE(rejected(r.AddCounter("l3", "x", {"a", "a"})));
  EXPECT_TRUE(rejected(r.AddCounter("l4", "x", {}, 0)));
  EXPECT_TRUE(rejected(r.AddHistogram("h1", "x", {"le"}, {1})));
  EXPECT_TRUE(rejected(r.AddHistogram("h2", "x", {}, {})));
  EXPECT_TRUE(rejected(r.AddHistogram("h3", "x", {}, {1, 1})));
  EXPECT_TRUE(rejected(r.AddHistogram("h4", "x", {}, {2, 1})));
  EXPECT_TRUE(rejected(r.AddHistogram("h5", "x", {}, {1, std::numeric_limits<double>::infinity()})));
  EXPECT_TRUE(rejected(r.AddHistogram("h6", "x", {}, {std::numeric_limits<double>::quiet_NaN()})));
  // A rejected name stays free.
  EXPECT_TRUE(r.AddHistogram("h2", "x", {}, {1}).ok());
  EXPECT_TRUE(r.AddGauge("colon:name_ok", "x", {"_under"}).ok());
}

TEST(MetricsTest, LatencyBucketsAreValid) {
  Registry r;
  EXPECT_TRUE(r.AddHistogram("lat_seconds", "x", {}, LatencyBucketsSeconds()).ok());
}

}  // namespace
}  // namespace plumbline::daemon
