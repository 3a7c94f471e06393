// Aggregation of one publish round: 5,000 symbols x 8 sources (issue 3 target: <= 2 ms on one
// core). Programs in the same run:
//   BM_BaselineSortMedian  the least any median needs: copy each symbol's 8 observations and sort
//                          their Decimal prices (the v1 aggregator's core);
//   BM_FloorCopyMarks      the least a round's output needs: 5,000 marks, each with a copy of its
//                          8 contributing observations (then freed, as every round frees its marks);
//   BM_AggregateQuotes     the exact core alone (weights, MAD outliers, Pyth votes, confidence);
//   BM_AggregateQuotesShuffled  the same with each symbol's venues in a different order;
//   BM_MarkEngineRound     a full MarkEngine::Round (freshness, spreads, outliers, confidence,
//                          clamp, publish reason), observations lent from a hash map by symbol;
//   BM_MarkEngineRoundBook the same round exactly as the publisher runs it: through a real
//                          ObservationBook, read under one lock (ObservationBook::Reader), the
//                          marks sharing the book's arrays (MarkEngine::RoundShared);
//   BM_MarkEngineRoundBookCopy  the same round with marks copying their observations (RoundLent);
//   BM_BookPut             the ingestion side: 40,000 observations Put() into that book;
//   BM_BookPutMarksHeld    the same while the previous round's marks still share every array (as
//                          the publisher's last snapshot does): each symbol's first Put copies it.
// bench/run_aggregate.sh prints the figures and the ratios to the baseline.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <random>
#include <unordered_map>
#include <string>
#include <vector>

#include "plumbline/clock.h"
#include "plumbline/feeds/aggregation.h"
#include "plumbline/feeds/mark_engine.h"
#include "plumbline/feeds/sources.h"

namespace {

using namespace plumbline;
using namespace plumbline::feeds;

constexpr int kSymbols = 5000;
constexpr int kSources = 8;
constexpr int64_t kNow = 1'763'780'000'000'000'000;

struct Fixture {
  std::vector<std::string> symbols;
  std::unordered_map<std::string, std::vector<Observation>> book;
  std::vector<std::vector<Quote>> quotes;
  std::map<std::string, int64_t> ages;

  Fixture() {
    for (int s = 0; s < kSources; ++s) ages["venue" + std::to_string(s)] = 10 * kNanosPerSecond;
    for (int i = 0; i < kSymbols; ++i) {
      const std::string sym = "SYM" + std::to_string(i) + "/USD";
      symbols.push_back(sym);
      std::vector<Observation>& obs = book[sym];
      std::vector<Quote>& q = quotes.emplace_back();
      for (int s = 0; s < kSources; ++s) {
        Observation o;
        o.source = "venue" + std::to_string(s);
        o.symbol = sym;
        // 100.00 .. 199.99 with venue spread of a few cents; one venue far off every 16th symbol.
        const int cents = 10000 + (i * 37) % 10000 + (s * 7) % 5 - 2 + ((i % 16 == 0 && s == 3) ? 5000 : 0);
        o.price = Decimal::FromUnits(cents, 2).value();
        o.bid = Decimal::FromUnits(cents - 1, 2).value();
        o.ask = Decimal::FromUnits(cents + 1, 2).value();
        o.observed_unix_nanos = o.received_unix_nanos = kNow - s * kNanosPerMilli;
        q.push_back({o.source, o.price, SpreadConfidence(o).value(), 1});
        obs.push_back(std::move(o));
      }
    }
  }
};

const Fixture& F() {
  static const bool keep = (KeepRoundMemory(), true);  // as the daemon's main() does
  (void)keep;
  static const Fixture f;
  return f;
}

void BM_BaselineSortMedian(benchmark::State& state) {
  const Fixture& f = F();
  for (auto _ : state) {
    for (const std::string& sym : f.symbols) {
      std::vector<Observation> obs = f.book.at(sym);
      std::sort(obs.begin(), obs.end(), [](const Observation& a, const Observation& b) { return a.price < b.price; });
      benchmark::DoNotOptimize(obs[kSources / 2].price);
    }
  }
  state.counters["symbols"] = kSymbols;
}
BENCHMARK(BM_BaselineSortMedian)->Unit(benchmark::kMillisecond);

void BM_FloorCopyMarks(benchmark::State& state) {
  const Fixture& f = F();
  std::vector<const std::vector<Observation>*> slots;  // no lookups: only the copies are measured
  for (const std::string& sym : f.symbols) slots.push_back(&f.book.at(sym));
  for (auto _ : state) {
    std::vector<Mark> marks(kSymbols);
    for (int i = 0; i < kSymbols; ++i) {
      marks[i].symbol = f.symbols[i];
      marks[i].contributions = *slots[i];
    }
    benchmark::DoNotOptimize(marks);
  }
  state.counters["symbols"] = kSymbols;
}
BENCHMARK(BM_FloorCopyMarks)->Unit(benchmark::kMillisecond);

void BM_AggregateQuotes(benchmark::State& state) {
  const Fixture& f = F();
  OutlierRule rule;
  for (auto _ : state) {
    for (const auto& q : f.quotes) {
      auto r = AggregateQuotes(q, rule);
      benchmark::DoNotOptimize(r);
    }
  }
}
BENCHMARK(BM_AggregateQuotes)->Unit(benchmark::kMillisecond);

// The same quotes with each symbol's venues in a different (seeded random) order, as venues'
// prices reorder from symbol to symbol and round to round: code branching on the values pays here.
void BM_AggregateQuotesShuffled(benchmark::State& state) {
  static const std::vector<std::vector<Quote>> shuffled = [] {
    std::vector<std::vector<Quote>> q = F().quotes;
    std::mt19937_64 rng(20261122);
    for (auto& symbol : q) std::shuffle(symbol.begin(), symbol.end(), rng);
    return q;
  }();
  OutlierRule rule;
  for (auto _ : state) {
    for (const auto& q : shuffled) {
      auto r = AggregateQuotes(q, rule);
      benchmark::DoNotOptimize(r);
    }
  }
}
BENCHMARK(BM_AggregateQuotesShuffled)->Unit(benchmark::kMillisecond);

void BM_MarkEngineRound(benchmark::State& state) {
  const Fixture& f = F();
  std::vector<SymbolPolicy> policies;
  for (const std::string& sym : f.symbols) policies.emplace_back(sym, 3);
  auto engine = MarkEngine::Create(policies, f.ages, nullptr).value();
  int64_t now = kNow;
  for (auto _ : state) {
    auto marks = engine->RoundLent([&](const std::string& sym) { return std::span<const Observation>(f.book.at(sym)); }, now);
    benchmark::DoNotOptimize(marks);
  }
  state.counters["symbols"] = kSymbols;
}
BENCHMARK(BM_MarkEngineRound)->Unit(benchmark::kMillisecond);

// The full round as the publisher runs it: over a real ObservationBook.
void RoundBook(benchmark::State& state, bool shared) {
  const Fixture& f = F();
  ObservationBook book;
  for (const std::string& sym : f.symbols) {
    for (const Observation& o : f.book.at(sym)) book.Put(o);
  }
  std::vector<SymbolPolicy> policies;
  for (const std::string& sym : f.symbols) policies.emplace_back(sym, 3);
  auto engine = MarkEngine::Create(policies, f.ages, nullptr).value();
  for (auto _ : state) {
    ObservationBook::Reader reader = book.Read();
    auto marks = shared ? engine->RoundShared([&](const std::string& sym) { return reader.Shared(sym); }, kNow)
                        : engine->RoundLent([&](const std::string& sym) { return reader.ForSymbol(sym); }, kNow);
    benchmark::DoNotOptimize(marks);
  }
  state.counters["symbols"] = kSymbols;
}
void BM_MarkEngineRoundBook(benchmark::State& state) { RoundBook(state, true); }
BENCHMARK(BM_MarkEngineRoundBook)->Unit(benchmark::kMillisecond);
void BM_MarkEngineRoundBookCopy(benchmark::State& state) { RoundBook(state, false); }
BENCHMARK(BM_MarkEngineRoundBookCopy)->Unit(benchmark::kMillisecond);

// Ingestion side of the book: one round's worth of new observations (5,000 symbols x 8 sources)
// put one by one into a book that already holds the previous ones, as pollers and push do. With
// `marks_held`, a round's marks share every symbol's array meanwhile (copy on write).
void BookPut(benchmark::State& state, bool marks_held) {
  const Fixture& f = F();
  ObservationBook book;
  std::vector<Observation> all;
  for (const std::string& sym : f.symbols) {
    for (const Observation& o : f.book.at(sym)) all.push_back(o);
  }
  for (const Observation& o : all) book.Put(o);
  std::vector<SymbolPolicy> policies;
  for (const std::string& sym : f.symbols) policies.emplace_back(sym, 3);
  auto engine = MarkEngine::Create(policies, f.ages, nullptr).value();
  int64_t t = kNow;
  for (auto _ : state) {
    state.PauseTiming();
    t += kNanosPerMilli;
    std::vector<Observation> batch = all;
    for (Observation& o : batch) o.observed_unix_nanos = o.received_unix_nanos = t;
    std::vector<Mark> held;
    if (marks_held) {
      ObservationBook::Reader reader = book.Read();
      held = engine->RoundShared([&](const std::string& sym) { return reader.Shared(sym); }, t);
    }
    state.ResumeTiming();
    for (Observation& o : batch) book.Put(std::move(o));
    state.PauseTiming();
    held.clear();
    state.ResumeTiming();
  }
  state.counters["observations"] = static_cast<double>(all.size());
}
void BM_BookPut(benchmark::State& state) { BookPut(state, false); }
BENCHMARK(BM_BookPut)->Unit(benchmark::kMillisecond);
void BM_BookPutMarksHeld(benchmark::State& state) { BookPut(state, true); }
BENCHMARK(BM_BookPutMarksHeld)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
