#include "plumbline/daemon/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <type_traits>

namespace plumbline::daemon {
namespace {

// Text format 0.0.4: HELP escapes backslash and newline; label values also the quote character.
void AppendEscaped(std::string_view text, bool label_value, std::string* out) {
  for (char c : text) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && label_value) {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

// Integral values print as integers (counts stay readable past 1e6); others in the shortest form
// that round-trips, fixed or exponent like Go's 'g', which is what Prometheus clients print.
void AppendValue(MetricValue v, std::string* out) {
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buf[64];
  std::to_chars_result r;
  if (v == std::trunc(v) && std::fabs(v) < 0x1p53) {
    r = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v));
  } else {
    r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general);
  }
  out->append(buf, r.ptr);
}

// {a="x",b="y"} plus le="..." last for histogram buckets; nothing at all without labels.
void AppendLabels(const std::vector<std::string>& names, std::span<const std::string> values,
                  std::string_view le, std::string* out) {
  if (names.empty() && le.empty()) return;
  out->push_back('{');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(names[i]).append("=\"");
    AppendEscaped(values[i], /*label_value=*/true, out);
    out->push_back('"');
  }
  if (!le.empty()) {
    if (!names.empty()) out->push_back(',');
    out->append("le=\"").append(le).push_back('"');
  }
  out->push_back('}');
}

void AppendSample(std::string_view name, std::string_view suffix, const std::vector<std::string>& label_names,
                  std::span<const std::string> values, std::string_view le, MetricValue v, std::string* out) {
  out->append(name).append(suffix);
  AppendLabels(label_names, values, le, out);
  out->push_back(' ');
  AppendValue(v, out);
  out->push_back('\n');
}

template <typename Metric>
constexpr std::string_view TypeName() {
  if constexpr (std::is_same_v<Metric, Counter>) return "counter";
  if constexpr (std::is_same_v<Metric, Gauge>) return "gauge";
  return "histogram";
}

template <typename Metric>
void AppendSeries(std::string_view name, const std::vector<std::string>& label_names,
                  std::span<const std::string> values, std::span<const MetricValue> bounds, const Metric& m,
                  std::string* out) {
  if constexpr (std::is_same_v<Metric, Histogram>) {
    const Histogram::Counts counts = m.Read();
    std::string le;
    for (size_t i = 0; i <= bounds.size(); ++i) {
      le.clear();
      if (i < bounds.size()) {
        AppendValue(bounds[i], &le);
      } else {
        le = "+Inf";
      }
      AppendSample(name, "_bucket", label_names, values, le, static_cast<MetricValue>(counts.cumulative[i]), out);
    }
    AppendSample(name, "_sum", label_names, values, "", counts.sum, out);
    AppendSample(name, "_count", label_names, values, "", static_cast<MetricValue>(counts.cumulative.back()), out);
  } else {
    AppendSample(name, "", label_names, values, "", m.Value(), out);
  }
}

bool IsMetricName(std::string_view s, bool label) {
  if (s.empty()) return false;
  auto ok = [label](char c, bool first) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':');
    return alpha || (!first && c >= '0' && c <= '9');
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (!ok(s[i], i == 0)) return false;
  }
  return true;
}

Status CheckBounds(const std::string& name, const std::vector<MetricValue>& bounds) {
  if (bounds.empty()) return Status::InvalidArgument("metric " + name + ": a histogram needs at least one bucket bound");
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
      return Status::InvalidArgument("metric " + name +
                                     ": bucket bounds must be finite and strictly increasing (+Inf is implicit)");
    }
  }
  return Status::Ok();
}

}  // namespace

namespace metrics_internal {

namespace {
template <typename A, typename B>
bool LexicographicLess(std::span<A> a, std::span<B> b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](std::string_view x, std::string_view y) { return x < y; });
}
}  // namespace

bool LabelsLess::operator()(std::span<const std::string> a, std::span<const std::string> b) const {
  return LexicographicLess(a, b);
}
bool LabelsLess::operator()(std::span<const std::string> a, std::span<const std::string_view> b) const {
  return LexicographicLess(a, b);
}
bool LabelsLess::operator()(std::span<const std::string_view> a, std::span<const std::string> b) const {
  return LexicographicLess(a, b);
}

}  // namespace metrics_internal

Histogram::Histogram(std::span<const MetricValue> bounds)
    : bounds_(bounds), buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::Observe(MetricValue v) {
  if (std::isnan(v)) return;
  // lower_bound: the first bound >= v, i.e. the smallest bucket whose "le" admits v.
  const auto i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Counts Histogram::Read() const {
  Counts c;
  c.cumulative.reserve(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    c.cumulative.push_back(total);
  }
  c.sum = sum_.load(std::memory_order_relaxed);
  return c;
}

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names, size_t max_series,
                       std::vector<MetricValue> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      max_series_(max_series),
      bounds_(std::move(bounds)) {}

template <typename Metric>
std::unique_ptr<Metric> Family<Metric>::NewSeries() const {
  if constexpr (std::is_same_v<Metric, Histogram>) {
    return std::make_unique<Histogram>(bounds_);
  } else {
    return std::make_unique<Metric>();
  }
}

template <typename Metric>
Metric& Family<Metric>::Labels(std::span<const std::string_view> values) {
  std::lock_guard<std::mutex> lock(mu_);
  if (label_names_.empty()) values = {};
  const bool is_overflow_key =
      !values.empty() && std::all_of(values.begin(), values.end(),
                                     [](std::string_view v) { return v == Registry::kOverflowLabelValue; });
  if (values.size() == label_names_.size() && !is_overflow_key) {
    if (auto it = series_.find(values); it != series_.end()) return *it->second;
    if (series_.size() < max_series_) {
      return *series_.emplace(std::vector<std::string>(values.begin(), values.end()), NewSeries()).first->second;
    }
  }
  if (!overflow_) overflow_ = NewSeries();
  return *overflow_;
}

template <typename Metric>
size_t Family<Metric>::series_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return series_.size();
}

template <typename Metric>
void Family<Metric>::AppendText(std::string* out) const {
  out->append("# HELP ").append(name_).push_back(' ');
  AppendEscaped(help_, /*label_value=*/false, out);
  out->append("\n# TYPE ").append(name_).push_back(' ');
  out->append(TypeName<Metric>()).push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, metric] : series_) AppendSeries(name_, label_names_, values, bounds_, *metric, out);
  if (overflow_) {
    const std::vector<std::string> values(label_names_.size(), std::string(Registry::kOverflowLabelValue));
    AppendSeries(name_, label_names_, values, bounds_, *overflow_, out);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

std::vector<MetricValue> LatencyBucketsSeconds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Registry::Registry() = default;
Registry::~Registry() = default;

Status Registry::Reserve(const std::string& name, const std::vector<std::string>& label_names, bool histogram,
                         size_t max_series) {
  if (!IsMetricName(name, /*label=*/false)) {
    return Status::InvalidArgument("metric name \"" + name + "\" is not [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  std::set<std::string_view> seen;
  for (const std::string& l : label_names) {
    if (!IsMetricName(l, /*label=*/true) || l.rfind("__", 0) == 0 || (histogram && l == "le")) {
      return Status::InvalidArgument("metric " + name + ": label name \"" + l +
                                     "\" is not [a-zA-Z_][a-zA-Z0-9_]* or is reserved (__*, le on a histogram)");
    }
    if (!seen.insert(l).second) return Status::InvalidArgument("metric " + name + ": label \"" + l + "\" repeated");
  }
  if (max_series == 0) return Status::InvalidArgument("metric " + name + ": max_series must be at least 1");
  std::vector<std::string> names = {name};
  if (histogram) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) names.push_back(name + suffix);
  }
  for (const std::string& n : names) {
    if (std::find(taken_names_.begin(), taken_names_.end(), n) != taken_names_.end()) {
      return Status::InvalidArgument("metric " + name + ": name " + n + " is already registered");
    }
  }
  taken_names_.insert(taken_names_.end(), names.begin(), names.end());
  return Status::Ok();
}

template <typename Metric>
Result<Family<Metric>*> Registry::Add(std::string name, std::string help, std::vector<std::string> label_names,
                                      std::vector<MetricValue> bounds, size_t max_series) {
  constexpr bool kHistogram = std::is_same_v<Metric, Histogram>;
  std::lock_guard<std::mutex> lock(mu_);
  if (kHistogram) PLUMBLINE_RETURN_IF_ERROR(CheckBounds(name, bounds));
  PLUMBLINE_RETURN_IF_ERROR(Reserve(name, label_names, kHistogram, max_series));
  auto family = std::make_unique<Family<Metric>>(std::move(name), std::move(help), std::move(label_names), max_series,
                                                 std::move(bounds));
  Family<Metric>* raw = family.get();
  families_.push_back(std::move(family));
  return raw;
}

Result<CounterFamily*> Registry::AddCounter(std::string name, std::string help, std::vector<std::string> label_names,
                                            size_t max_series) {
  return Add<Counter>(std::move(name), std::move(help), std::move(label_names), {}, max_series);
}

Result<GaugeFamily*> Registry::AddGauge(std::string name, std::string help, std::vector<std::string> label_names,
                                        size_t max_series) {
  return Add<Gauge>(std::move(name), std::move(help), std::move(label_names), {}, max_series);
}

Result<HistogramFamily*> Registry::AddHistogram(std::string name, std::string help,
                                                std::vector<std::string> label_names, std::vector<MetricValue> bounds,
                                                size_t max_series) {
  return Add<Histogram>(std::move(name), std::move(help), std::move(label_names), std::move(bounds), max_series);
}

void Registry::AddCollector(std::function<void()> collect) {
  std::lock_guard<std::mutex> lock(collect_mu_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::Expose() const {
  {
    std::lock_guard<std::mutex> lock(collect_mu_);
    for (const auto& collect : collectors_) collect();
  }
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& f : families_) f->AppendText(&out);
  return out;
}

}  // namespace plumbline::daemon
