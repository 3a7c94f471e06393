// MarkEngine: one Mark per configured symbol per publish round, with the round-to-round rules
// that need memory of earlier rounds. Rules (docs/oracle.md has the full text and examples):
//
//   freshness   per source max age, tightened by the symbol's per-session max age; observations
//               with a non-positive price or a crossed bid/ask never count;
//   price       AggregateQuotes (weighted median, Pyth confidence, outliers) over fresh quotes;
//               ok needs `quorum` fresh sources of which a strict majority are not outliers;
//   clamp       a move beyond max_move from the last accepted price holds that price (status
//               clamped, proposed_price = the new median) until the move persists confirm_rounds
//               consecutive rounds in the same direction;
//   sessions    equity/token marks carry the calendar session. Equity: when the market is closed,
//               or outside the regular session without a quorum, status market_closed with the
//               last regular-session price and its time (price_unix_nanos) - never an outage;
//   tokens      underlying x multiplier (theoretical) leads in the regular session; outside it
//               the token's venue median leads with confidence x off_session_confidence_factor;
//               basis = (venue - theoretical) / theoretical, flagged beyond basis_bound; the
//               multiplier in force is MultiplierSchedule::At(round time) (exact at activation);
//   halted      kill switch: status halted, no price;
//   reason      initial / status_change / deviation / heartbeat / unchanged (see market.h).
//
// Determinism: Round() is a pure function of (configuration, the sequence of earlier rounds'
// inputs, this round's observations, now): replaying a recording gives the same marks.
//
// Thread safety: Round() and Seed() from one thread at a time; SetHalted()/halted() from any.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "plumbline/feeds/aggregator.h"
#include "plumbline/feeds/calendar.h"
#include "plumbline/market.h"
#include "plumbline/status.h"

namespace plumbline::feeds {

class TextKey;  // feeds/same_text.h

// Process-wide allocator setting for a process that runs rounds (the daemon and the round
// benchmark call it once at start, before any thread): a round allocates ~2.4 KB per symbol of
// marks and contributions (12 MB for 5,000 symbols) and frees the previous round's. glibc's
// default returns such freed heap tops to the kernel, so every round page-faults its memory back
// in (~30% of a round's CPU). This keeps up to 256 MB of freed heap for reuse instead. Idempotent.
void KeepRoundMemory();

class MarkEngine {
 public:
  using Lookup = std::function<std::vector<Observation>(const std::string& symbol)>;

  // `calendar` is required (InvalidArgument otherwise) when any symbol is equity or token; a
  // token's underlying must be a configured equity symbol.
  static Result<std::unique_ptr<MarkEngine>> Create(std::vector<SymbolPolicy> symbols,
                                                    std::map<std::string, int64_t> max_age_nanos_by_source,
                                                    std::shared_ptr<const EquityCalendar> calendar);

  // One round: marks in configuration order. `latest` returns copies; RoundLent() avoids them.
  std::vector<Mark> Round(const Lookup& latest, int64_t now_unix_nanos);

  // Lends one symbol's latest observations without copying them: the span must stay valid until
  // the round ends (the round reads one symbol ahead). Called once per non-halted symbol, in
  // configuration order (non-token symbols first, then tokens). Sorted by source name and one per
  // source is the fast case (what ObservationBook::Reader gives); any order and duplicates are
  // accepted (the newest per source counts). A mark copies only the observations it keeps.
  using Lend = std::function<std::span<const Observation>(const std::string& symbol)>;
  // The same round as Round(), with the same marks.
  std::vector<Mark> RoundLent(const Lend& latest, int64_t now_unix_nanos);
  // The same round again, over shared arrays (ObservationBook::Reader::Shared; nullptr = none):
  // a mark's contributions then point into the array instead of copying (when the array is
  // sorted by source, one per source, at most 64 entries; else they are copied as above).
  using Share = std::function<SharedObservations(const std::string& symbol)>;
  std::vector<Mark> RoundShared(const Share& latest, int64_t now_unix_nanos);

  // Restores what a restarted daemon can know from the last published marks: last statuses,
  // accepted and last regular prices. Unknown symbols are ignored.
  void Seed(const std::vector<Mark>& marks, int64_t snapshot_unix_nanos);

  // Kill switch. NotFound for an unknown symbol.
  Status SetHalted(const std::string& symbol, bool halted);
  bool halted(const std::string& symbol) const;

  struct SymbolState;  // per-symbol memory (defined in mark_engine.cc)
  ~MarkEngine();

 private:
  MarkEngine() = default;
  struct Lent {  // one symbol's input to a round
    bool halted = false;  // read once, when the symbol is lent
    std::span<const Observation> observations;  // empty when halted
    SharedObservations shared;  // RoundShared: the array `observations` views (moved into the mark)
  };
  struct Scratch;  // per-engine buffers a round reuses from symbol to symbol (mark_engine.cc)
  // Fills the aggregate fields of `mark` (status, price, confidence, newest observation,
  // outliers, contributions) from `lent`; may take lent.shared. `session_age`: the symbol's max
  // age in the round's session in ns (INT64_MAX: none).
  void Aggregate(size_t index, Lent& lent, int64_t session_age, int64_t now, Mark& mark);
  template <typename LendFn>
  std::vector<Mark> RoundOver(const LendFn& lend_one, int64_t now);
  // Fills `mark` (default-constructed, marks[index]); a token reads its underlying's mark in
  // `marks`. `session` is the calendar's session at `now` (computed once per round; none when no
  // symbol needs it).
  void Build(size_t index, Lent& lent, const std::vector<Mark>& marks, int64_t now,
             std::optional<Session> session, Mark& mark);

  std::vector<SymbolPolicy> symbols_;
  std::vector<size_t> order_;  // non-token symbols first, then tokens
  std::vector<size_t> underlying_;  // token: index of its underlying equity; SIZE_MAX otherwise
  // The configured sources, sorted by name (a source's index in these is its index everywhere in
  // a round: freshness and weights are looked up by index, not by name), and their max ages.
  std::vector<std::string> source_names_;
  std::vector<int64_t> source_ages_;
  std::vector<TextKey> source_keys_;  // the names prepared for matching (same_text.h)
  std::shared_ptr<const EquityCalendar> calendar_;
  bool needs_session_ = false;  // some symbol is equity or token
  std::vector<SymbolState> state_;
  std::unique_ptr<Scratch> scratch_;
  std::unique_ptr<std::atomic<bool>[]> halted_;
};

}  // namespace plumbline::feeds
