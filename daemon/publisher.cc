#include "plumbline/daemon/publisher.h"

#include "plumbline/daemon/halt_file.h"
#include "plumbline/daemon/log.h"
#include "plumbline/daemon/replay.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "plumbline/attest/canonical_json.h"
#include "plumbline/daemon/log_signer.h"
#include "plumbline/feeds/mark_engine.h"

namespace plumbline::daemon {

Publisher::Publisher(const Config& config, const feeds::ObservationBook* book,
                     storage::SnapshotStore* store, const attest::SigningKey& key, const Clock& clock)
    : config_(config), live_config_(std::make_shared<const Config>(config)), book_(book), store_(store), key_(key), clock_(clock) {
  engine_config_ = live_config_.load();
  BuildEngine(*engine_config_);
}

std::map<std::string, int64_t> MaxAgeBySource(const Config& config) {
  std::map<std::string, int64_t> max_age;
  for (const auto& source : config.sources) max_age[source.name] = source.max_age_ms * kNanosPerMilli;
  // Push publishers (/v1/observations) are sources under their own name.
  for (const auto& p : config.publishers) max_age[p.name] = p.max_age_ms * kNanosPerMilli;
  return max_age;
}

void Publisher::BuildEngine(const Config& config) {
  auto engine = feeds::MarkEngine::Create(config.symbols, MaxAgeBySource(config), config.calendar);
  if (engine.ok()) {
    engine_ = std::move(engine).value();
    engine_status_ = Status::Ok();
  } else {
    engine_.reset();
    engine_status_ = engine.status().WithContext("configuration");
  }
}

EnvelopeFetcher Publisher::StoreFetcher() const {
  return [store = store_](uint64_t seq) -> Result<std::string> {
    const std::optional<uint64_t> last = store->LastSequence();
    if (!last || seq > *last || seq == 0) return Status::NotFound("no snapshot " + std::to_string(seq));
    return store->Get(seq);
  };
}

Status Publisher::Resume() {
  if (!config_.observation_log.empty() && !observation_log_) {
    auto log = feeds::ObservationLogWriter::Open(config_.observation_log);
    if (!log.ok()) return log.status();
    observation_log_ = std::move(log).value();
  }
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
  // Carry the last statuses, accepted and last regular prices across the restart.
  if (engine_) PLUMBLINE_RETURN_IF_ERROR(SeedFromHistory(*engine_, config_, StoreFetcher(), *last));
  if (observation_log_) PLUMBLINE_RETURN_IF_ERROR(observation_log_->Append(feeds::ObservationLogSeedLine(*last)));
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
  if (config_now != engine_config_) {
    // A reloaded config: rebuild the round engine and carry over what the last snapshot says.
    BuildEngine(config);
    engine_config_ = config_now;
    if (auto latest = Latest(); engine_ && latest) {
      // As at a restart, and logged the same way so that replay resets its engine here too.
      const uint64_t seq = latest->signed_snapshot.snapshot.sequence;
      PLUMBLINE_RETURN_IF_ERROR(SeedFromHistory(*engine_, config, StoreFetcher(), seq));
      if (observation_log_) PLUMBLINE_RETURN_IF_ERROR(observation_log_->Append(feeds::ObservationLogSeedLine(seq)));
    }
  }
  if (!engine_) return engine_status_;
  const int64_t now = clock_.NowUnixNanos();
  std::vector<std::string> halted = ApplyHaltFile(config);

  attest::Snapshot snapshot;
  snapshot.origin = config.origin;
  snapshot.sequence = next_sequence_;
  snapshot.time_unix_nanos = now;
  snapshot.previous_hash = previous_hash_;
  snapshot.config_digest = config.digest;
  std::vector<Observation> seen;  // what this round looked at, for the observation log
  {
    feeds::ObservationBook::Reader book = book_->Read();  // one lock for the round, no copies
    snapshot.marks = engine_->RoundShared(
        [&](const std::string& symbol) {
          SharedObservations latest = book.Shared(symbol);  // marks share it, not copy it
          if (observation_log_ && latest != nullptr) seen.insert(seen.end(), latest->begin(), latest->end());
          return latest;
        },
        now);
  }
  if (observation_log_) {
    PLUMBLINE_RETURN_IF_ERROR(
        observation_log_->Append(feeds::ObservationLogRoundLine(next_sequence_, now, seen, halted)));
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

std::vector<std::string> Publisher::ApplyHaltFile(const Config& config) {
  if (!config.halt_file.empty()) {
    auto read = ReadHaltFile(config.halt_file);  // a missing file halts nothing
    if (read.ok()) {
      halt_file_listed_ = std::move(read).value();
      halt_file_error_.clear();
    } else if (read.status().message() != halt_file_error_) {
      // Keep the last list read: an unreadable kill-switch file must not lift a halt.
      halt_file_error_ = read.status().message();
      Log(LogLevel::kWarning, halt_file_error_ + "; keeping the halts last read from it");
    }
  } else {
    halt_file_listed_.clear();
  }
  const std::set<std::string>& listed = halt_file_listed_;
  std::vector<std::string> halted;
  std::set<std::string> known;
  for (const auto& policy : config.symbols) {
    known.insert(policy.symbol);
    const bool halt = policy.halted || listed.count(policy.symbol) != 0;
    (void)engine_->SetHalted(policy.symbol, halt);
    if (halt) halted.push_back(policy.symbol);
  }
  for (const std::string& name : listed) {
    if (!known.count(name) && warned_unknown_halts_.insert(name).second) {
      std::fprintf(stderr, "plumbline: halt file %s: '%s' is not a configured symbol (ignored)\n",
                   config.halt_file.c_str(), name.c_str());
    }
  }
  return halted;
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
    j["asset_class"] = AssetClassName(m.asset_class);
    j["confidence"] = m.confidence ? nlohmann::json(m.confidence->ToString()) : nlohmann::json(nullptr);
    j["session"] = m.session ? nlohmann::json(SessionName(*m.session)) : nlohmann::json(nullptr);
    j["publish_reason"] = PublishReasonName(m.publish_reason);
    // The signed mark's other oracle fields, so the view never hides why a price is what it is.
    std::vector<std::string> outliers = m.outliers;
    std::sort(outliers.begin(), outliers.end());
    j["outliers"] = std::move(outliers);
    j["proposed_price"] = m.proposed_price ? nlohmann::json(m.proposed_price->ToString()) : nlohmann::json(nullptr);
    j["price_time"] = m.price_unix_nanos ? nlohmann::json(std::to_string(*m.price_unix_nanos)) : nlohmann::json(nullptr);
    j["token"] = m.token ? attest::TokenQuoteJson(*m.token) : nlohmann::json(nullptr);
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
