// Replay: re-run every logged round's aggregation and compare the result, byte for byte, with
// the signed snapshot of the same sequence (docs/oracle.md, "Replay").
//
// For each line of the observation log, in order: a seed line starts a fresh round engine seeded
// by SeedFromHistory from the stored snapshot it names (as the daemon did at a restart or config
// reload); a round line runs MarkEngine::Round on
// the logged observations at the logged time, puts the marks into a copy of the stored snapshot
// and compares the canonical payload bytes with the stored payload. The configuration must be the
// one the daemon ran with (its SHA-256 is checked against each snapshot's config_digest).
//
// Thread safety: a pure function of its inputs; `fetch` is called from the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "plumbline/daemon/config.h"
#include "plumbline/feeds/mark_engine.h"
#include "plumbline/feeds/observation_log.h"
#include "plumbline/status.h"

namespace plumbline::daemon {

struct ReplayReport {
  uint64_t rounds = 0;         // round lines replayed
  uint64_t identical = 0;      // payload bytes equal
  uint64_t differing = 0;      // payload bytes differ
  uint64_t not_stored = 0;     // no snapshot under that sequence (a round that failed to store)
  uint64_t first_differing_sequence = 0;
  std::string first_difference;  // human-readable: where the bytes part, with context
};

// Returns the envelope JSON stored under `sequence`, NotFound if there is none.
using EnvelopeFetcher = std::function<Result<std::string>(uint64_t sequence)>;

// Seeds a fresh round engine the same way in the daemon (start-up, config reload) and in the
// replay (a seed line), from stored snapshots only, so both reach the same round memory:
// walking back from `last_sequence` (at most kSeedLookbackSnapshots snapshots and, past the first,
// kSeedLookbackBytes of envelopes, so a start-up stays short however large snapshots are), it finds for each
// symbol its newest `ok`/`clamped` mark (the accepted price the move bound holds to) and its
// newest `market_closed` or regular-session `ok` mark (the last regular price), then calls
// MarkEngine::Seed on those snapshots oldest first and on `last_sequence` last. Memory no mark
// carries (a pending clamp's count) starts afresh. Errors of `fetch` other than NotFound, and
// snapshots that do not decode, are returned; NotFound ends the walk.
inline constexpr uint64_t kSeedLookbackSnapshots = 10'000;
inline constexpr uint64_t kSeedLookbackBytes = 256ull << 20;
Status SeedFromHistory(feeds::MarkEngine& engine, const Config& config, const EnvelopeFetcher& fetch,
                       uint64_t last_sequence);

// InvalidArgument when the config digest differs from a snapshot's, or the config's symbols
// cannot make an engine; errors of `fetch` other than NotFound are returned as they are.
Result<ReplayReport> Replay(const Config& config, const std::vector<feeds::LoggedRound>& log,
                            const EnvelopeFetcher& fetch);

}  // namespace plumbline::daemon
