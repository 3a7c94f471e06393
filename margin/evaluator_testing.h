// Internal: test hooks of the margin evaluator (evaluator.cc). Not part of the public API.
//
// An account is evaluated at 64 bits (Fx64) when its resolved amounts and the prepared amounts of
// the assets it uses fit, and again at 128 bits (Fx) if a result leaves 64 bits on the way; the
// two must produce the same Valuation. These hooks let a test force the 128-bit path and see
// which path each evaluation took. Both are per thread.
#pragma once

#include <cstdint>

namespace plumbline::margin::internal {

struct PathCounts {
  uint64_t narrow = 0;    // finished at 64 bits
  uint64_t fallback = 0;  // started at 64 bits, finished at 128 bits
  uint64_t wide = 0;      // did not fit 64 bits (or forced): 128 bits only
};

// true: every evaluation on this thread takes the 128-bit path (the reference).
void SetWideOnlyForTesting(bool wide_only);
// Counts of the evaluations on this thread that got past input validation.
PathCounts& PathCountsForTesting();

}  // namespace plumbline::margin::internal
