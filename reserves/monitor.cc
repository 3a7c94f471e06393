#include "plumbline/reserves/monitor.h"

#include <atomic>
#include <set>
#include <thread>

#include "plumbline/attest/keys.h"
#include "plumbline/reserves/custodian.h"
#include "plumbline/reserves/supply.h"

namespace plumbline::reserves {

Result<MintCheck> CheckMint(const attest::ReserveAttestation& a, const Decimal& amount) {
  if (!amount.is_positive()) return Status::InvalidArgument("amount: must be a positive decimal token amount");
  MintCheck out;
  if (a.status != attest::ReserveStatus::kFullyBacked) {
    out.reason = std::string("reserve status is ") + attest::ReserveStatusName(a.status);
    return out;
  }
  if (!a.circulating_tokens || !a.custodian) {
    out.reason = "circulating supply or custodian holding unknown";
    return out;
  }
  auto after = Decimal::Add(*a.circulating_tokens, amount);
  auto required = after.ok() ? a.multiplier.Apply(*after, attest::kShareScale, Rounding::kCeiling)
                             : Result<Decimal>(after.status());
  if (!required.ok()) {
    out.reason = required.status().message();
    return out;
  }
  out.required_shares_after = *required;
  out.within_reserves = a.custodian->settled_shares >= *required;
  out.reason = "settled shares " + a.custodian->settled_shares.ToString() + (out.within_reserves ? " >= " : " < ") +
               "required " + required->ToString() + " after minting " + amount.ToString();
  return out;
}

ReserveMonitor::ReserveMonitor(ReservesConfig config, ReserveStore* store, const Clock& clock)
    : config_(std::move(config)), store_(store), clock_(clock) {
  for (const AssetConfig& a : config_.assets) {
    AssetState st;
    for (const ChainConfig& c : a.chains) {
      attest::ChainSupply s;
      s.chain = c.name;
      s.kind = c.kind;
      s.token = c.token;
      s.decimals = c.decimals;
      s.error = "no supply read yet";
      st.chains.push_back(std::move(s));
    }
    state_[a.asset] = std::move(st);
  }
}

std::string ReserveMonitor::Stream(const AssetConfig& a) {
  return a.custodian.id + "|" + a.custodian.account + "|" + a.isin;
}

Status ReserveMonitor::Resume() {
  for (const AssetConfig& a : config_.assets) {
    auto head = store_->Head(Stream(a));
    if (!head) continue;
    auto bytes = store_->GetEvidence(head->sha256);
    if (!bytes.ok()) return bytes.status().WithContext("restoring the statement of " + a.asset);
    auto sub = attest::ParseCustodianSubmission(*bytes);
    auto st = sub.ok() ? attest::ParseCustodianStatementPayload(sub->envelope.payload)
                       : Result<attest::CustodianStatement>(sub.status());
    if (!st.ok()) return Status::Corruption("stored statement of " + a.asset + " does not parse: " + st.status().message());
    std::lock_guard<std::mutex> lock(mu_);
    state_[a.asset].holding = attest::CustodianHolding{st->custodian_id, st->account, st->sequence,
                                                       st->as_of_unix_nanos, st->settled_shares,
                                                       st->in_transit_shares, head->sha256};
  }
  return Status::Ok();
}

Result<AcceptedStatement> ReserveMonitor::SubmitStatement(std::string_view body) {
  auto sub = attest::ParseCustodianSubmission(body);
  if (!sub.ok()) return sub.status();
  auto unsigned_statement = attest::ParseCustodianStatementPayload(sub->envelope.payload);
  if (!unsigned_statement.ok()) return unsigned_statement.status();
  const AssetConfig* asset = nullptr;
  for (const AssetConfig& a : config_.assets) {
    if (a.isin == unsigned_statement->isin) asset = &a;
  }
  if (!asset) return Status::NotFound("statement.isin: no configured asset has ISIN " + unsigned_statement->isin);
  const int64_t now = clock_.NowUnixNanos();
  auto st = VerifyCustodianSubmission(*sub, asset->custodian, now);
  if (!st.ok()) return st.status();
  // A future as-of would never turn stale (and would lock out every later statement).
  if (st->as_of_unix_nanos > now + kMaxStatementClockSkewNanos) {
    return Status::InvalidArgument("statement.as_of " + std::to_string(st->as_of_unix_nanos) +
                                   " is in the future (now " + std::to_string(now) + ")");
  }
  const std::string sha = attest::Sha256Hex(body);
  PLUMBLINE_RETURN_IF_ERROR(store_->AcceptStatement(Stream(*asset), st->sequence, st->as_of_unix_nanos, sha, body));
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_[asset->asset].holding = attest::CustodianHolding{st->custodian_id, st->account, st->sequence,
                                                            st->as_of_unix_nanos, st->settled_shares,
                                                            st->in_transit_shares, sha};
  }
  return AcceptedStatement{asset->asset, sha, *st};
}

Status ReserveMonitor::RunRound() {
  std::lock_guard<std::mutex> round(round_mu_);
  const int64_t start = clock_.NowUnixNanos();
  struct Job {
    const AssetConfig* asset;
    size_t chain;
    attest::ChainSupply result;
    EvidenceItems evidence;
  };
  std::vector<Job> jobs;
  for (const AssetConfig& a : config_.assets) {
    for (size_t i = 0; i < a.chains.size(); ++i) jobs.push_back({&a, i, {}, {}});
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      jobs[i].result = ReadChainSupply(jobs[i].asset->chains[jobs[i].chain], clock_, &jobs[i].evidence);
    }
  };
  std::vector<std::thread> workers;
  const size_t n = std::min<size_t>(std::max<uint32_t>(1, config_.parallelism), jobs.size());
  for (size_t i = 1; i < n; ++i) workers.emplace_back(work);
  work();
  for (auto& t : workers) t.join();

  EvidenceItems all;
  for (Job& j : jobs) all.insert(all.end(), std::make_move_iterator(j.evidence.begin()),
                                 std::make_move_iterator(j.evidence.end()));
  if (!all.empty()) PLUMBLINE_RETURN_IF_ERROR(store_->PutEvidence(all, clock_.NowUnixNanos()));
  const int64_t end = clock_.NowUnixNanos();
  std::lock_guard<std::mutex> lock(mu_);
  for (Job& j : jobs) state_[j.asset->asset].chains[j.chain] = std::move(j.result);
  last_round_ = end;
  last_round_duration_ = end - start;
  return Status::Ok();
}

std::vector<attest::ReserveAttestation> ReserveMonitor::AttestationsAt(int64_t now) const {
  std::vector<attest::ReserveAttestation> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const AssetConfig& a : config_.assets) {
    const AssetState& st = state_.at(a.asset);
    attest::ReserveAttestation r;
    r.asset = a.asset;
    r.isin = a.isin;
    r.multiplier = a.multiplier.At(now);
    r.tolerance = a.tolerance;
    r.max_supply_age_ms = a.max_supply_age_ms;
    r.max_statement_age_ms = a.max_statement_age_ms;
    r.checked_unix_nanos = now;
    r.chains = st.chains;
    r.custodian = st.holding;
    attest::ComputeReserve(&r);
    out.push_back(std::move(r));
  }
  return out;
}

int64_t ReserveMonitor::last_round_unix_nanos() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_round_;
}

int64_t ReserveMonitor::last_round_duration_nanos() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_round_duration_;
}

Result<PruneStats> ReserveMonitor::PruneEvidence() {
  if (config_.evidence_retention_ms <= 0) return PruneStats{};
  std::lock_guard<std::mutex> round(round_mu_);
  const int64_t cutoff = clock_.NowUnixNanos() - config_.evidence_retention_ms * kNanosPerMilli;
  std::set<std::string> cited;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [asset, state] : state_) {
      for (const attest::ChainSupply& chain : state.chains) {
        for (const attest::ReserveEvidence& e : chain.evidence) cited.insert(e.sha256);
      }
      if (state.holding) cited.insert(state.holding->statement_sha256);
    }
  }
  return store_->PruneEvidence(cutoff, cited);
}

}  // namespace plumbline::reserves
