#include "plumbline/daemon/publisher.h"

#include <nlohmann/json.hpp>

#include "plumbline/attest/canonical_json.h"
#include "plumbline/daemon/log_signer.h"
#include "plumbline/feeds/aggregator.h"

namespace plumbline::daemon {

Publisher::Publisher(const Config& config, const feeds::ObservationBook* book,
                     storage::SnapshotStore* store, const attest::SigningKey& key, const Clock& clock)
    : config_(config), live_config_(std::make_shared<const Config>(config)), book_(book), store_(store), key_(key), clock_(clock) {}

Status Publisher::Resume() {
  std::optional<uint64_t> last = store_->LastSequence();
  if (!last) return Status::Ok();
  auto envelope = store_->Get(*last);
  if (!envelope.ok()) return envelope.status();
  auto decoded = attest::DecodeSnapshotEnvelope(*envelope);
  if (!decoded.ok()) {
    return Status::Corruption("stored snapshot " + std::to_string(*last) +
                              " does not decode: " + decoded.status().message());
  }
  if (decoded->snapshot.sequence != *last) {
    return Status::Corruption("stored snapshot under sequence " + std::to_string(*last) +
                              " says sequence " + std::to_string(decoded->snapshot.sequence));
  }
  // After `plumbline rotate-key` the newest snapshot is the old key's; the store (opened with our
  // key id) names us as its current key.
  if (decoded->snapshot.key_id != key_.KeyId() && store_->CurrentKeyId() != key_.KeyId()) {
    return Status::FailedPrecondition("stored snapshot " + std::to_string(*last) + " was signed by key " +
                                      decoded->snapshot.key_id + ", not the configured key " + key_.KeyId());
  }
  // A crash between a snapshot's append and its checkpoint: sign the missing checkpoint first.
  auto checkpoint = SignLatestCheckpoint(store_, key_, config_.origin);
  if (!checkpoint.ok()) return checkpoint.status().WithContext("signing the checkpoint at start-up");
  next_sequence_ = *last + 1;
  previous_hash_ = decoded->payload_hash;
  auto published = std::make_shared<Published>();
  published->marks_json = BuildMarksJson(*decoded);
  published->signed_snapshot = std::move(decoded).value();
  std::lock_guard<std::mutex> lock(latest_mu_);
  latest_ = std::move(published);
  return Status::Ok();
}

std::shared_ptr<const Config> Publisher::config() const { return live_config_.load(); }

void Publisher::SetConfig(std::shared_ptr<const Config> config) { live_config_.store(std::move(config)); }

Result<std::shared_ptr<const Published>> Publisher::PublishRound() {
  const std::shared_ptr<const Config> config_now = live_config_.load();  // one config for the whole round
  const Config& config = *config_now;
  const int64_t now = clock_.NowUnixNanos();
  std::map<std::string, int64_t> max_age;
  for (const auto& source : config.sources) max_age[source.name] = source.max_age_ms * kNanosPerMilli;
  // Push publishers (/v1/observations) are sources under their own name.
  for (const auto& p : config.publishers) max_age[p.name] = p.max_age_ms * kNanosPerMilli;

  attest::Snapshot snapshot;
  snapshot.origin = config.origin;
  snapshot.sequence = next_sequence_;
  snapshot.time_unix_nanos = now;
  snapshot.previous_hash = previous_hash_;
  snapshot.config_digest = config.digest;
  for (const auto& policy : config.symbols) {
    snapshot.marks.push_back(feeds::Aggregate(policy, book_->ForSymbol(policy.symbol), max_age, now));
  }
  if (reserve_source_) snapshot.reserves = reserve_source_(now);

  auto signed_snapshot = attest::SignSnapshot(std::move(snapshot), key_);
  if (!signed_snapshot.ok()) return signed_snapshot.status().WithContext("signing snapshot");
  PLUMBLINE_RETURN_IF_ERROR(store_->Append(next_sequence_, signed_snapshot->envelope_json));

  next_sequence_ += 1;
  previous_hash_ = signed_snapshot->payload_hash;
  // The snapshot is synced; its checkpoint is signed and stored before either is served. If this
  // fails the daemon stops, and the next start signs the missing checkpoint.
  auto checkpoint = SignLatestCheckpoint(store_, key_, config_now->origin);
  if (!checkpoint.ok()) return checkpoint.status().WithContext("signing the checkpoint");
  auto published = std::make_shared<Published>();
  published->marks_json = BuildMarksJson(*signed_snapshot);
  published->signed_snapshot = std::move(signed_snapshot).value();
  std::shared_ptr<const Published> result = published;
  std::lock_guard<std::mutex> lock(latest_mu_);
  latest_ = result;
  return result;
}

std::shared_ptr<const Published> Publisher::Latest() const {
  std::lock_guard<std::mutex> lock(latest_mu_);
  return latest_;
}

std::string Publisher::BuildMarksJson(const attest::SignedSnapshot& s) {
  // A convenience view for services that do not verify signatures themselves; it names the
  // snapshot so they can fetch and verify the signed original.
  nlohmann::json marks = nlohmann::json::array();
  for (const Mark& m : s.snapshot.marks) {
    nlohmann::json j;
    j["symbol"] = m.symbol;
    j["status"] = MarkStatusName(m.status);
    j["price"] = m.price ? nlohmann::json(m.price->ToString()) : nlohmann::json(nullptr);
    j["newest_observation_time"] = m.newest_observation_unix_nanos
                                       ? nlohmann::json(std::to_string(*m.newest_observation_unix_nanos))
                                       : nlohmann::json(nullptr);
    j["sources"] = m.contributions.size();
    j["quorum"] = m.quorum;
    marks.push_back(std::move(j));
  }
  nlohmann::json view;
  view["snapshot"] = {{"sequence", s.snapshot.sequence},
                      {"time", std::to_string(s.snapshot.time_unix_nanos)},
                      {"payload_sha256", s.payload_hash},
                      {"key_id", s.snapshot.key_id},
                      {"url", "/v1/snapshots/" + std::to_string(s.snapshot.sequence)}};
  view["marks"] = std::move(marks);
  auto canonical = attest::Canonicalize(view);
  return canonical.ok() ? *canonical : view.dump();
}

}  // namespace plumbline::daemon
