// Publisher: one publish round = aggregate every symbol, build the next snapshot in the chain,
// sign it, store it with a synced write, and only then make it the latest one served.
//
// Chain: snapshot N's previous_hash is the SHA-256 of snapshot N-1's payload bytes; Resume()
// reads the newest stored snapshot so a restarted daemon (even after SIGKILL) continues the
// sequence and chain exactly where the last synced write left them.
//
// Log: after each append the round signs and stores the checkpoint of the new tree
// (daemon/log_signer.h) before the snapshot is served; Resume() signs a checkpoint missing after a
// crash.
//
// Thread safety: PublishRound() is called by one thread at a time; Latest() and LatestMarksJson()
// may be called from any thread concurrently with it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>
#include <string>

#include "plumbline/attest/keys.h"
#include "plumbline/attest/snapshot.h"
#include "plumbline/clock.h"
#include "plumbline/daemon/config.h"
#include "plumbline/feeds/mark_engine.h"
#include "plumbline/feeds/observation_log.h"
#include "plumbline/feeds/sources.h"
#include "plumbline/status.h"
#include "plumbline/storage/snapshot_store.h"

namespace plumbline::daemon {

// The latest published snapshot plus the views served from it, built once per round.
struct Published {
  attest::SignedSnapshot signed_snapshot;
  std::string marks_json;  // GET /v1/marks body
};

// Max age per source name (polled sources and push publishers), in nanoseconds.
std::map<std::string, int64_t> MaxAgeBySource(const Config& config);

class Publisher {
 public:
  // All pointers/references are borrowed and must outlive the Publisher.
  Publisher(const Config& config, const feeds::ObservationBook* book, storage::SnapshotStore* store,
            const attest::SigningKey& key, const Clock& clock);

  // The configuration rounds use. SetConfig (a reload) takes effect at the next PublishRound; a
  // round in flight keeps the one it started with. Any thread.
  std::shared_ptr<const Config> config() const;
  void SetConfig(std::shared_ptr<const Config> config);

  // Loads the newest stored snapshot (if any): checks it decodes and was signed by this key, and
  // sets the next sequence and previous hash from it, and signs the checkpoint of the stored tree
  // if it is missing. Corruption if it does not decode or the tree does not extend the latest
  // checkpoint. Opens the configured observation log (IOError if it cannot be opened).
  Status Resume();

  // Runs one round. On error nothing is published; if the error came after the synced append
  // (signing or storing the checkpoint) the snapshot is stored and the caller must stop (the next
  // Resume() signs its checkpoint), otherwise nothing is stored and the chain state is unchanged.
  Result<std::shared_ptr<const Published>> PublishRound();

  // Null until the first round (or Resume() found a stored snapshot).
  std::shared_ptr<const Published> Latest() const;

  uint64_t next_sequence() const { return next_sequence_; }
  // Proof of reserve: each round includes source(now), the reserve attestations evaluated at the
  // snapshot's time. Set before the first round; unset means no `reserves` member.
  void SetReserveSource(std::function<std::vector<attest::ReserveAttestation>(int64_t now)> source) {
    reserve_source_ = std::move(source);
  }

  // The round engine (kill switch: engine().SetHalted). Null only if the config was inconsistent,
  // in which case PublishRound() returns that error.
  feeds::MarkEngine* engine() { return engine_.get(); }

  // The GET /v1/marks view of a snapshot (canonical JSON); also used by the stream's marks events.
  static std::string BuildMarksJson(const attest::SignedSnapshot& s);

 private:
  // Sets the engine's kill switch from config `halted` and the halt file; returns the halted.
  std::vector<std::string> ApplyHaltFile(const Config& config);
  void BuildEngine(const Config& config);
  // Stored envelopes by sequence, for SeedFromHistory (daemon/replay.h).
  std::function<Result<std::string>(uint64_t)> StoreFetcher() const;
  const Config& config_;  // as started: holds the keys a reload cannot change (origin, data_dir, ...)
  std::atomic<std::shared_ptr<const Config>> live_config_;  // what rounds use; SetConfig swaps it
  const feeds::ObservationBook* book_;
  storage::SnapshotStore* store_;
  const attest::SigningKey& key_;
  const Clock& clock_;
  uint64_t next_sequence_ = 1;
  std::string previous_hash_ = attest::kGenesisPreviousHash;
  std::unique_ptr<feeds::MarkEngine> engine_;
  std::shared_ptr<const Config> engine_config_;  // the config engine_ was built from
  std::unique_ptr<feeds::ObservationLogWriter> observation_log_;
  std::set<std::string> warned_unknown_halts_;
  std::set<std::string> halt_file_listed_;  // last successful read of config.halt_file
  std::string halt_file_error_;            // last read error reported (reported once)
  Status engine_status_;
  mutable std::mutex latest_mu_;
  std::shared_ptr<const Published> latest_;
  std::function<std::vector<attest::ReserveAttestation>(int64_t)> reserve_source_;
};

}  // namespace plumbline::daemon
