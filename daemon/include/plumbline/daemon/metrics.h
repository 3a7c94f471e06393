// Metrics: a small Prometheus registry (counters, gauges, fixed-bucket histograms, each with a
// label set) and its text exposition format 0.0.4, served as GET /metrics.
//
// Values are binary floating point (MetricValue): they are observability, never money, prices or
// anything signed, and Prometheus itself stores float64. Counts up to 2^53 are exact.
//
//   Registry registry;
//   auto requests = registry.AddCounter("plumbline_http_requests_total", "HTTP requests answered.",
//                                       {"route", "code"});
//   Counter& ok = (*requests)->Labels({"/v1/marks", "200"});   // keep the handle ...
//   ok.Inc();                                                  // ... and the hot path is one atomic add
//   std::string body = registry.Expose();                      // Content-Type: kContentType
//
// Bounded memory: each family holds at most `max_series` label combinations (default
// kDefaultMaxSeries). Once full, every new combination is counted in one overflow series whose
// label values are all kOverflowLabelValue, so a client sending random URL paths or method names
// cannot grow memory, and the overflow is visible in /metrics instead of silently lost. Callers
// should still pass bounded values (a route template, not the raw path).
//
// Ownership and lifetime: the Registry owns every family and series; the pointers and references
// it hands out stay valid until the Registry is destroyed. Series are never removed.
//
// Thread safety: everything may be called from any thread. Counter/Gauge/Histogram updates are
// lock-free atomics; Labels() takes the family's mutex (a map lookup, no allocation when the
// series exists); Add*() and Expose() take the registry's mutex. A scrape concurrent with
// updates sees each value atomically, but a histogram's _sum may lag its buckets by the
// observations in flight. _count always equals the +Inf bucket.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plumbline/status.h"

namespace plumbline::daemon {

using MetricValue = double;  // allowed: metrics are observability, not money (see above)

// Monotonically increasing; Prometheus reads a decrease as a process restart.
class Counter {
 public:
  // Negative and NaN deltas are ignored: a counter never goes down.
  void Inc(MetricValue delta = 1) {
    if (delta >= 0) value_.fetch_add(delta, std::memory_order_relaxed);
  }
  MetricValue Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<MetricValue> value_{0};
};

class Gauge {
 public:
  void Set(MetricValue v) { value_.store(v, std::memory_order_relaxed); }
  void Add(MetricValue delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  MetricValue Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<MetricValue> value_{0};
};

// Counts observations into fixed buckets chosen at registration: bucket i counts values
// <= bounds[i] (Prometheus "le"), and an implicit +Inf bucket takes the rest.
class Histogram {
 public:
  // `bounds` is the family's (strictly increasing, finite); borrowed, must outlive this.
  explicit Histogram(std::span<const MetricValue> bounds);
  // NaN is dropped (it would poison _sum for ever).
  void Observe(MetricValue v);

  struct Counts {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    MetricValue sum = 0;
  };
  Counts Read() const;

 private:
  std::span<const MetricValue> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // not cumulative; bounds_.size() + 1
  std::atomic<MetricValue> sum_{0};
};

namespace metrics_internal {

// What the registry needs from a family of any type.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  virtual void AppendText(std::string* out) const = 0;
};

// Orders label-value tuples so a lookup can use string_views (no allocation on a hit).
struct LabelsLess {
  using is_transparent = void;
  bool operator()(std::span<const std::string> a, std::span<const std::string> b) const;
  bool operator()(std::span<const std::string> a, std::span<const std::string_view> b) const;
  bool operator()(std::span<const std::string_view> a, std::span<const std::string> b) const;
};

}  // namespace metrics_internal

// All series of one metric name: one per combination of label values.
template <typename Metric>
class Family final : public metrics_internal::FamilyBase {
 public:
  // The series for `values`, one per label name in registration order, created on first use.
  // A new combination beyond max_series, or a wrong number of values (a bug of the caller, which
  // should not crash the daemon), returns the overflow series; a family without labels has just
  // one series and returns it whatever the values.
  Metric& Labels(std::span<const std::string_view> values);
  Metric& Labels(std::initializer_list<std::string_view> values) {
    return Labels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  // Ordinary series created so far (the overflow series is not counted).
  size_t series_count() const;

  // Use Registry::Add*; public for std::make_unique.
  Family(std::string name, std::string help, std::vector<std::string> label_names, size_t max_series,
         std::vector<MetricValue> bounds);
  void AppendText(std::string* out) const override;

 private:
  std::unique_ptr<Metric> NewSeries() const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const size_t max_series_;
  const std::vector<MetricValue> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>, metrics_internal::LabelsLess> series_;
  std::unique_ptr<Metric> overflow_;  // created (and exposed) once first needed
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Latency buckets in seconds, 0.5 ms to 10 s: the API answers in tens of microseconds to a few
// milliseconds, venues in tens to hundreds of milliseconds.
std::vector<MetricValue> LatencyBucketsSeconds();

class Registry {
 public:
  static constexpr size_t kDefaultMaxSeries = 256;
  static constexpr std::string_view kOverflowLabelValue = "__overflow__";
  // The Content-Type of Expose()'s text.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers a family. InvalidArgument for a name that is not a Prometheus metric name
  // ([a-zA-Z_:][a-zA-Z0-9_:]*) or is already taken (a histogram also takes NAME_bucket, NAME_sum
  // and NAME_count); a label name that is invalid ([a-zA-Z_][a-zA-Z0-9_]*), reserved ("__"
  // prefix; "le" on a histogram) or repeated; max_series of 0; histogram bounds that are empty,
  // not finite or not strictly increasing.
  Result<CounterFamily*> AddCounter(std::string name, std::string help, std::vector<std::string> label_names = {},
                                    size_t max_series = kDefaultMaxSeries);
  Result<GaugeFamily*> AddGauge(std::string name, std::string help, std::vector<std::string> label_names = {},
                                size_t max_series = kDefaultMaxSeries);
  Result<HistogramFamily*> AddHistogram(std::string name, std::string help, std::vector<std::string> label_names,
                                        std::vector<MetricValue> bounds, size_t max_series = kDefaultMaxSeries);

  // Every family in registration order, series sorted by label values, overflow series last:
  // "# HELP", "# TYPE", then one sample line per series (histograms: _bucket{...,le="..."} per
  // bound and +Inf, _sum, _count). Families without a series yet print only HELP and TYPE.
  std::string Expose() const;

  // The hook for modules whose numbers live elsewhere (tree size in the store, source health in
  // the poller, reserve statuses): `collect` runs at the start of every Expose(), in registration
  // order, on the scraping thread, and should Set() its gauges from the current state. It must
  // not call Expose() or AddCollector(). Borrowed state it reads must outlive the Registry.
  void AddCollector(std::function<void()> collect);

 private:
  template <typename Metric>
  Result<Family<Metric>*> Add(std::string name, std::string help, std::vector<std::string> label_names,
                              std::vector<MetricValue> bounds, size_t max_series);
  Status Reserve(const std::string& name, const std::vector<std::string>& label_names, bool histogram,
                 size_t max_series);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<metrics_internal::FamilyBase>> families_;
  std::vector<std::string> taken_names_;
  mutable std::mutex collect_mu_;  // one scrape's collectors at a time; never held with mu_ by collectors
  std::vector<std::function<void()>> collectors_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

}  // namespace plumbline::daemon
