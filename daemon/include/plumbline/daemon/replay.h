// Replay: re-run every logged round's aggregation and compare the result, byte for byte, with
// the signed snapshot of the same sequence (docs/oracle.md, "Replay").
//
// For each line of the observation log, in order: a seed line starts a fresh round engine seeded
// from the stored snapshot it names (as the daemon did at restart); a round line runs MarkEngine::Round on
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

// InvalidArgument when the config digest differs from a snapshot's, or the config's symbols
// cannot make an engine; errors of `fetch` other than NotFound are returned as they are.
Result<ReplayReport> Replay(const Config& config, const std::vector<feeds::LoggedRound>& log,
                            const EnvelopeFetcher& fetch);

}  // namespace plumbline::daemon
