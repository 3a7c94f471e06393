#include "reserve_runner.h"

#include <array>
#include <chrono>
#include <memory>
#include <cmath>
#include <string>
#include <filesystem>

#include "plumbline/daemon/log.h"

namespace plumbline::daemon {

Result<std::unique_ptr<ReserveRunner>> ReserveRunner::Start(const Config& config, const Clock& clock,
                                                            Publisher* publisher, ApiServer* api) {
  if (config.reserves.assets.empty()) return std::unique_ptr<ReserveRunner>();
  const std::string path = config.reserves.data_dir.empty()
                               ? (std::filesystem::path(config.data_dir) / "reserves").string()
                               : config.reserves.data_dir;
  auto store = reserves::ReserveStore::Open({.path = path, .sync_writes = true, .now_unix_nanos = clock.NowUnixNanos()});
  if (!store.ok()) return store.status().WithContext("reserve store");
  std::unique_ptr<ReserveRunner> r(new ReserveRunner());
  r->store_ = std::move(store).value();
  r->monitor_ = std::make_unique<reserves::ReserveMonitor>(config.reserves, r->store_.get(), clock);
  PLUMBLINE_RETURN_IF_ERROR(r->monitor_->Resume());
  reserves::ReserveMonitor* m = r->monitor_.get();
  publisher->SetReserveSource([m](int64_t now) { return m->AttestationsAt(now); });
  api->AttachReserves(m);
  r->thread_ = std::thread([raw = r.get(), interval = config.reserves.interval_ms] { raw->Loop(interval); });
  return r;
}

ReserveRunner::~ReserveRunner() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status ReserveRunner::RegisterMetrics(Registry* registry, const Clock& clock) {
  auto status = registry->AddGauge("plumbline_reserve_status", "Current reserve status per asset (1 = this status).",
                                   {"asset", "status"});
  auto ratio = registry->AddGauge("plumbline_reserve_ratio", "Settled shares / required shares (NaN without a ratio).",
                                  {"asset"});
  auto round = registry->AddGauge("plumbline_reserve_round_seconds", "Duration of the last reserves round.");
  auto age = registry->AddGauge("plumbline_reserve_round_age_seconds", "Time since the last reserves round completed.");
  auto pruned = registry->AddCounter("plumbline_reserve_evidence_pruned_total",
                                     "Reserve evidence items deleted by retention (reserves_round.evidence_retention_days).");
  auto pruned_bytes = registry->AddCounter("plumbline_reserve_evidence_pruned_bytes_total",
                                           "Bytes of reserve evidence deleted by retention.");
  auto prune_failures = registry->AddCounter("plumbline_reserve_evidence_prune_failures_total",
                                             "Retention passes that failed (the store is left consistent).");
  for (const Status& s : {status.status(), ratio.status(), round.status(), age.status(), pruned.status(),
                          pruned_bytes.status(), prune_failures.status()}) {
    if (!s.ok()) return s;
  }
  // Counters only go up: each scrape adds what the runner counted since the previous one.
  registry->AddCollector([this, pruned = *pruned, pruned_bytes = *pruned_bytes, prune_failures = *prune_failures,
                          reported = std::make_shared<std::array<uint64_t, 3>>()] {
    const uint64_t now[3] = {pruned_items_.load(), pruned_bytes_.load(), prune_failures_.load()};
    CounterFamily* families[3] = {pruned, pruned_bytes, prune_failures};
    for (size_t i = 0; i < 3; ++i) {
      families[i]->Labels({}).Inc(static_cast<MetricValue>(now[i] - (*reported)[i]));
      (*reported)[i] = now[i];
    }
  });
  registry->AddCollector([this, &clock, status = *status, ratio = *ratio, round = *round, age = *age] {
    const int64_t now = clock.NowUnixNanos();
    for (const attest::ReserveAttestation& a : monitor_->AttestationsAt(now)) {
      for (auto s : {attest::ReserveStatus::kFullyBacked, attest::ReserveStatus::kUnderBacked,
                     attest::ReserveStatus::kStale, attest::ReserveStatus::kUnknown}) {
        status->Labels({a.asset, attest::ReserveStatusName(s)}).Set(a.status == s ? 1 : 0);
      }
      // Metrics are observability, not money: the exact ratio is the signed decimal string.
      ratio->Labels({a.asset}).Set(a.ratio ? std::stod(a.ratio->ToString()) : std::nan(""));
    }
    round->Labels({}).Set(static_cast<MetricValue>(monitor_->last_round_duration_nanos()) / 1e9);
    const int64_t last = monitor_->last_round_unix_nanos();
    age->Labels({}).Set(last ? static_cast<MetricValue>(now - last) / 1e9 : std::nan(""));
  });
  return Status::Ok();
}

void ReserveRunner::PruneEvidence() {
  auto pruned = monitor_->PruneEvidence();
  if (!pruned.ok()) {
    prune_failures_.fetch_add(1, std::memory_order_relaxed);
    Log(LogLevel::kWarning, "reserve evidence pruning failed (retried in an hour): " + pruned.status().ToString());
    return;
  }
  pruned_items_.fetch_add(pruned->pruned, std::memory_order_relaxed);
  pruned_bytes_.fetch_add(pruned->pruned_bytes, std::memory_order_relaxed);
  if (pruned->pruned > 0) {
    Log(LogLevel::kInfo, "reserve evidence pruned: " + std::to_string(pruned->pruned) + " items, " +
                             std::to_string(pruned->pruned_bytes) + " bytes older than the retention window (" +
                             std::to_string(pruned->kept) + " older items kept: still cited)");
  }
}

void ReserveRunner::Loop(int64_t interval_ms) {
  const auto interval = std::chrono::milliseconds(interval_ms);
  auto next = std::chrono::steady_clock::now();
  auto next_prune = next;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_until(lock, next, [this] { return stop_; })) return;
    }
    Status s = monitor_->RunRound();
    if (!s.ok()) {
      // The attestations age into `stale`; nothing else to do but say so and try again.
      Log(LogLevel::kWarning, "reserves round failed: " + s.ToString());
    }
    if (monitor_->config().evidence_retention_ms > 0 && std::chrono::steady_clock::now() >= next_prune) {
      // Hourly: the index makes a pass cost what it deletes, not what is stored.
      next_prune = std::chrono::steady_clock::now() + std::chrono::hours(1);
      PruneEvidence();
    }
    next += interval;
    const auto now = std::chrono::steady_clock::now();
    while (next <= now) next += interval;
  }
}

}  // namespace plumbline::daemon
