// Publisher: one publish round = aggregate every symbol, build the next snapshot in the chain,
// sign it, store it with a synced write, and only then make it the latest one served.
//
// Chain: snapshot N's previous_hash is the SHA-256 of snapshot N-1's payload bytes; Resume()
// reads the newest stored snapshot so a restarted daemon (even after SIGKILL) continues the
// sequence and chain exactly where the last synced write left them.
//
// Thread safety: PublishRound() is called by one thread at a time; Latest() and LatestMarksJson()
// may be called from any thread concurrently with it.
#pragma once

#include <cstdint>
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

class Publisher {
 public:
  // All pointers/references are borrowed and must outlive the Publisher.
  Publisher(const Config& config, const feeds::ObservationBook* book, storage::SnapshotStore* store,
            const attest::SigningKey& key, const Clock& clock);

  // Loads the newest stored snapshot (if any): checks it decodes and was signed by this key, and
  // sets the next sequence and previous hash from it. Corruption if it does not decode. Opens the
  // configured observation log (IOError if it cannot be opened).
  Status Resume();

  // Runs one round. On error nothing is stored or published and the chain state is unchanged.
  Result<std::shared_ptr<const Published>> PublishRound();

  // Null until the first round (or Resume() found a stored snapshot).
  std::shared_ptr<const Published> Latest() const;

  uint64_t next_sequence() const { return next_sequence_; }

  // The round engine (kill switch: engine().SetHalted). Null only if the config was inconsistent,
  // in which case PublishRound() returns that error.
  feeds::MarkEngine* engine() { return engine_.get(); }

 private:
  static std::string BuildMarksJson(const attest::SignedSnapshot& s);
  // Sets the engine's kill switch from config `halted` and the halt file; returns the halted.
  std::vector<std::string> ApplyHaltFile();

  const Config& config_;
  const feeds::ObservationBook* book_;
  storage::SnapshotStore* store_;
  const attest::SigningKey& key_;
  const Clock& clock_;
  uint64_t next_sequence_ = 1;
  std::string previous_hash_ = attest::kGenesisPreviousHash;
  std::unique_ptr<feeds::MarkEngine> engine_;
  std::unique_ptr<feeds::ObservationLogWriter> observation_log_;
  std::set<std::string> warned_unknown_halts_;
  Status engine_status_;
  mutable std::mutex latest_mu_;
  std::shared_ptr<const Published> latest_;
};

}  // namespace plumbline::daemon
