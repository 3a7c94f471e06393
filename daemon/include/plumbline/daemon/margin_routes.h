// The margin evaluator over HTTP (docs/margin.md, docs/openapi.yaml):
//
//   POST /v1/margin/evaluate         {"account": {...}, "snapshot": N?}  -> one valuation (JSON)
//   POST /v1/margin/evaluate-batch   {"accounts": [...], "snapshot": N?} -> NDJSON, chunked:
//        one line per account in order ({"index", "valuation"} or {"index", "error"}), then a
//        {"summary": {...}} line
//
// Every valuation names the snapshot (sequence and payload hash) and the risk file digest it
// used. Without `snapshot` the latest published snapshot is used. Errors are problem+json whose
// detail names the field: 400 invalid JSON / account, 404 unknown snapshot, 413 batch over
// max_batch_accounts (or body over http.max_body_bytes), 503 margin not configured or no snapshot
// published yet.
//
// The snapshot -> market view adapter lives here (it needs attest/; the margin library does not).
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "plumbline/attest/snapshot.h"
#include "plumbline/clock.h"
#include "plumbline/daemon/config.h"
#include "plumbline/daemon/publisher.h"
#include "plumbline/margin/evaluator.h"
#include "plumbline/margin/risk_params.h"
#include "plumbline/storage/snapshot_store.h"

namespace httplib {
class Server;
}

namespace plumbline::daemon {

// The market view of one snapshot for the assets of `params`:
//  - an asset's quote is the snapshot mark named by its `mark` symbol (absent mark: no quote,
//    the asset is unpriced); the status word is copied as is, so statuses this build does not
//    know are simply "not ok" (degraded);
//  - the session is the mark's (v2 snapshots, equity and token marks); a tokenized asset's reserve
//    status is that of the snapshot's reserve attestation whose `asset` equals the asset id.
//    Either missing (v1 snapshots, no [[reserves]] entry) is left unknown, which the evaluator
//    treats conservatively (session haircut, reserve_unknown_penalty).
margin::MarketView MarketViewFromSnapshot(const attest::SignedSnapshot& snapshot, const margin::RiskParams& params);

class MarginService {
 public:
  // Everything is borrowed and must outlive the service.
  MarginService(const Config& config, const Publisher& publisher, const storage::SnapshotStore& store,
                const Clock& clock);

  // Loads config.risk_file if set. The error names the file, the key and what was expected.
  Status Init();
  // Re-reads the risk file; on error the parameters in use are kept (for SIGHUP).
  Status ReloadRiskParams();
  bool configured() const { return holder_ != nullptr; }

  // The evaluator for snapshot `sequence` (latest when absent). NotFound names the sequence;
  // Unavailable when margin is not configured or nothing is published yet. The latest one is
  // cached until a newer snapshot or new parameters appear.
  Result<std::shared_ptr<const margin::Evaluator>> EvaluatorFor(std::optional<uint64_t> sequence) const;

  // Registers the two POST routes (before any catch-all POST route).
  void Register(httplib::Server& server);

 private:
  const Config& config_;
  const Publisher& publisher_;
  const storage::SnapshotStore& store_;
  const Clock& clock_;
  std::unique_ptr<margin::RiskParamsHolder> holder_;
  mutable std::mutex cache_mu_;
  mutable std::shared_ptr<const margin::Evaluator> latest_;
};

}  // namespace plumbline::daemon
