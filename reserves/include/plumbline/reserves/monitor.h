// ReserveMonitor: the proof-of-reserve engine of the daemon, independent of it (tests and the
// benchmark drive it directly).
//
//   - SubmitStatement(): verify a custodian submission against the pinned identity of the asset
//     whose ISIN it names, refuse replays and older statements, store it (synced), then make it the
//     asset's current holding.
//   - RunRound(): read every chain of every asset (`parallelism` chains at a time), store every
//     raw response as evidence (one synced batch), then replace the latest readings.
//   - AttestationsAt(now): one attestation per asset from the latest readings and holding,
//     evaluated at `now` with the multiplier in force at `now` (attest::ComputeReserve). A snapshot
//     built at `now` includes exactly these, so a round that stopped arriving shows as `stale`
//     (never as the last good ratio) once max_supply_age_ms passes.
//
// Thread safety: every method may be called from any thread. RunRound() calls are serialized
// internally; RPC reads run without holding the lock that AttestationsAt() takes.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plumbline/attest/reserve_attestation.h"
#include "plumbline/clock.h"
#include "plumbline/reserves/config.h"
#include "plumbline/reserves/store.h"
#include "plumbline/status.h"

namespace plumbline::reserves {

// A statement whose as_of is later than now + this is refused (clock skew allowance).
inline constexpr int64_t kMaxStatementClockSkewNanos = 300'000'000'000;  // 5 minutes

struct AcceptedStatement {
  std::string asset;
  std::string sha256;  // of the submission bytes; GET /v1/reserves/evidence/{sha256}
  attest::CustodianStatement statement;
};

// "Secure mint": may `amount_tokens` more tokens be minted within reserves?
struct MintCheck {
  bool within_reserves = false;
  std::optional<Decimal> required_shares_after;  // (circulating + amount) x multiplier, rounded up
  std::string reason;
};
// within_reserves iff the attestation is fully_backed and settled >= required_shares_after.
// InvalidArgument if amount_tokens is not positive.
Result<MintCheck> CheckMint(const attest::ReserveAttestation& a, const Decimal& amount_tokens);

class ReserveMonitor {
 public:
  // `store` and `clock` are borrowed and must outlive the monitor.
  ReserveMonitor(ReservesConfig config, ReserveStore* store, const Clock& clock);

  // Restores each asset's current holding from the store (the newest accepted statement).
  Status Resume();

  // Errors: InvalidArgument (malformed body or statement, as_of in the future), NotFound (no configured asset has the
  // statement's ISIN), Unauthenticated (signature / certificate), FailedPrecondition (replay,
  // older than the last, wrong custodian or account), IOError (not stored; nothing changed).
  Result<AcceptedStatement> SubmitStatement(std::string_view body);

  // One reserves round. IOError if the evidence could not be stored: the latest readings are then
  // left as they were (and age into `stale`).
  Status RunRound();

  std::vector<attest::ReserveAttestation> AttestationsAt(int64_t now_unix_nanos) const;
  // Retention (config evidence_retention_ms; 0 = an empty PruneStats, nothing deleted): deletes
  // the evidence last stored before now - retention, keeping everything the attestations of
  // AttestationsAt() cite. Serialized with RunRound(), so a round's fresh evidence is never
  // pruned before it is cited. IOError from the store.
  Result<PruneStats> PruneEvidence();

  Result<std::string> Evidence(std::string_view sha256) const { return store_->GetEvidence(sha256); }
  const ReservesConfig& config() const { return config_; }
  // Wall time of the last completed round (0 before the first) and how long it took.
  int64_t last_round_unix_nanos() const;
  int64_t last_round_duration_nanos() const;

 private:
  struct AssetState {
    std::vector<attest::ChainSupply> chains;
    std::optional<attest::CustodianHolding> holding;
  };
  static std::string Stream(const AssetConfig& a);

  const ReservesConfig config_;
  ReserveStore* store_;
  const Clock& clock_;
  std::mutex round_mu_;
  mutable std::mutex mu_;  // guards state_ and the round times
  std::map<std::string, AssetState> state_;  // by asset
  int64_t last_round_ = 0;
  int64_t last_round_duration_ = 0;
};

}  // namespace plumbline::reserves
