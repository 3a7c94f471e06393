// ReserveRunner: runs proof-of-reserve rounds on a thread of their own (RPC latency never delays a
// price round) and wires the ReserveMonitor into the publisher (each snapshot includes the
// attestations evaluated at the snapshot's time) and the HTTP API.
//
// Store: <data_dir>/reserves (RocksDB), or reserves_round.data_dir when set.
// Shutdown: the destructor asks the thread to stop and joins it; a round in flight finishes first
// (bounded by the providers' timeouts).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "plumbline/clock.h"
#include "plumbline/daemon/api_server.h"
#include "plumbline/daemon/config.h"
#include "plumbline/daemon/metrics.h"
#include "plumbline/daemon/publisher.h"
#include "plumbline/reserves/monitor.h"

namespace plumbline::daemon {

class ReserveRunner {
 public:
  // nullptr (and OK) when no [[reserves]] are configured. Errors: the store cannot be opened, or
  // a stored statement does not decode.
  static Result<std::unique_ptr<ReserveRunner>> Start(const Config& config, const Clock& clock, Publisher* publisher,
                                                      ApiServer* api);
  ~ReserveRunner();
  reserves::ReserveMonitor& monitor() { return *monitor_; }

  // Prometheus series, refreshed at each scrape (observability only; the signed numbers are in
  // the snapshots): plumbline_reserve_status{asset,status} (1 for the current status, else 0),
  // plumbline_reserve_ratio{asset} (absent meaning NaN when there is no ratio),
  // plumbline_reserve_round_seconds (duration of the last round) and
  // plumbline_reserve_round_age_seconds (since it completed), and the evidence retention counters
  // plumbline_reserve_evidence_pruned_total, plumbline_reserve_evidence_pruned_bytes_total and
  // plumbline_reserve_evidence_prune_failures_total. The runner must outlive `registry`'s scrapes.
  Status RegisterMetrics(Registry* registry, const Clock& clock);

  // One retention pass now (the round thread runs one an hour when
  // reserves_round.evidence_retention_days is set); logs and counts what it removed.
  void PruneEvidence();

 private:
  ReserveRunner() = default;
  void Loop(int64_t interval_ms);

  std::atomic<uint64_t> pruned_items_{0};
  std::atomic<uint64_t> pruned_bytes_{0};
  std::atomic<uint64_t> prune_failures_{0};
  std::unique_ptr<reserves::ReserveStore> store_;
  std::unique_ptr<reserves::ReserveMonitor> monitor_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace plumbline::daemon
