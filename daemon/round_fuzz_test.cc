// Every round the publisher can produce must sign: whatever the mix of asset classes, sessions
// (weekends, holidays, overnight), multiplier changes, kill-switch halts and observations (fresh,
// stale, missing, 50% off, crossed, zero or negative), PublishRound succeeds and the stored
// snapshot decodes to what was published; replaying the observation log gives the same bytes. A mark that breaks the snapshot format stops the daemon
// (a halted token once did), so this walks many random rounds with fixed seeds.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "daemon/test_support.h"
#include "plumbline/attest/snapshot.h"
#include "plumbline/daemon/replay.h"
#include "plumbline/feeds/observation_log.h"

namespace plumbline::daemon {
namespace {

const char* const kSymbols[] = {"BTC/USD", "ETH/USD", "AAPL/USD", "TSLA/USD", "AAPLx/USD", "TSLAx/USD"};
const char* const kSources[] = {"a", "b", "c", "d"};

std::string FuzzConfigText(const std::string& halt_file, const std::string& observation_log) {
  std::string text = R"(
origin = "plumbline.test/fuzz"
observation_log = ")" + observation_log + R"("
listen = "127.0.0.1:0"
key_file = "unused"
calendar_file = ")" + std::string(PLUMBLINE_SOURCE_DIR) + R"(/deploy/calendar/nyse.toml"
halt_file = ")" + halt_file + R"("
[[symbols]]
symbol = "BTC/USD"
max_move = "0.1"
confirm_rounds = 2
deviation = "0.001"
heartbeat_ms = 60000
[[symbols]]
symbol = "ETH/USD"
quorum = 2
[[symbols]]
symbol = "AAPL/USD"
asset_class = "equity"
max_move = "0.2"
session_max_age_ms = { overnight = 60000 }
[[symbols]]
symbol = "TSLA/USD"
asset_class = "equity"
quorum = 2
[[symbols]]
symbol = "AAPLx/USD"
asset_class = "token"
underlying = "AAPL/USD"
multiplier = "1.0025"
next_multiplier = "1/3"
multiplier_activation = "2026-01-20T14:30:00Z"
basis_bound = "0.03"
quorum = 2
[[symbols]]
symbol = "TSLAx/USD"
asset_class = "token"
underlying = "TSLA/USD"
multiplier = "1"
quorum = 2
)";
  for (const char* s : kSources) {
    text += "[[sources]]\nname = \"" + std::string(s) +
            "\"\nformat = \"kraken\"\nbase_url = \"http://127.0.0.1:1\"\nmax_age_ms = 5000\nsymbols = { ";
    bool first = true;
    for (const char* sym : kSymbols) {
      text += std::string(first ? "" : ", ") + "\"" + sym + "\" = \"X" + std::to_string(first) + sym + "\"";
      first = false;
    }
    text += " }\n";
  }
  return text;
}

class RoundFuzzTest : public testing::DaemonFixture, public ::testing::WithParamInterface<uint32_t> {};

TEST_P(RoundFuzzTest, EveryRoundSignsAndDecodes) {
  const std::string halt_file = dir_.string() + "-halted";
  const std::string observation_log = dir_.string() + "-observations.jsonl";
  std::filesystem::remove(halt_file);
  std::filesystem::remove(observation_log);
  clock_.Set(1767225600LL * kNanosPerSecond);  // 2026-01-01 (a holiday), before the multiplier change
  auto parsed = ParseConfig(FuzzConfigText(halt_file, observation_log), "fuzz.toml", clock_);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  *config_ = std::move(parsed).value();
  OpenStore();

  std::mt19937_64 rng(GetParam());
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  int64_t base_cents[std::size(kSymbols)] = {6'700'000, 350'000, 20'000, 25'000, 20'050, 25'000};
  std::map<MarkStatus, int> seen;
  for (int round = 0; round < 250; ++round) {
    // Time: seconds to hours, so rounds land in every session, weekends and holidays.
    const int64_t step = chance(70) ? static_cast<int64_t>(1 + rng() % 5) : static_cast<int64_t>(60 + rng() % 20'000);
    clock_.Advance(step * kNanosPerSecond);
    const int64_t now = clock_.NowUnixNanos();
    {
      std::ofstream halts(halt_file, std::ios::trunc);
      for (const char* sym : kSymbols) {
        if (chance(8)) halts << sym << "\n";
      }
    }
    for (size_t i = 0; i < std::size(kSymbols); ++i) {
      base_cents[i] = std::max<int64_t>(100, base_cents[i] + static_cast<int64_t>(rng() % 2001) - 1000);
      for (const char* source : kSources) {
        if (chance(25)) continue;  // this source says nothing this round (it ages into stale)
        int64_t cents = base_cents[i] + static_cast<int64_t>(rng() % 21) - 10;
        if (chance(4)) cents = cents / 2;       // 50% off
        if (chance(2)) cents = chance(50) ? 0 : -cents;  // never counts
        Observation o = testing::Obs(source, kSymbols[i], "1", now - static_cast<int64_t>(rng() % 3) * kNanosPerSecond);
        o.price = Decimal::FromUnits(cents, 2).value();
        if (chance(60)) {
          o.bid = Decimal::FromUnits(cents - 1, 2).value();
          o.ask = Decimal::FromUnits(cents + (chance(5) ? -3 : 1), 2).value();  // sometimes crossed
        }
        book_.Put(o);
      }
    }
    auto published = publisher_->PublishRound();
    ASSERT_TRUE(published.ok()) << "seed " << GetParam() << " round " << round << " at " << now << ": "
                                << published.status().ToString();
    const auto& snapshot = (*published)->signed_snapshot.snapshot;
    for (const Mark& m : snapshot.marks) ++seen[m.status];
    auto stored = store_->Get(snapshot.sequence);
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    auto decoded = attest::DecodeSnapshotEnvelope(*stored);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    ASSERT_EQ(decoded->snapshot.marks.size(), snapshot.marks.size());
    if (round == 120) OpenStore();  // a restart in the middle: the engine is seeded from the store
  }
  // And an auditor's replay of the logged rounds gives the same bytes, whatever the states.
  auto log = feeds::LoadObservationLog(observation_log);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  auto report = Replay(*config_, *log, [this](uint64_t seq) -> Result<std::string> {
    if (!store_->LastSequence() || seq > *store_->LastSequence()) return Status::NotFound("none");
    return store_->Get(seq);
  });
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->rounds, 250u);
  EXPECT_EQ(report->identical, 250u) << "first difference at " << report->first_differing_sequence << ": "
                                     << report->first_difference;
  // The walk reached the interesting states, not just `ok`.
  for (MarkStatus s : {MarkStatus::kOk, MarkStatus::kHalted, MarkStatus::kMarketClosed, MarkStatus::kStale}) {
    EXPECT_GT(seen[s], 0) << "status " << static_cast<int>(s) << " never produced";
  }
  std::filesystem::remove(halt_file);
  std::filesystem::remove(observation_log);
}

INSTANTIATE_TEST_SUITE_P(Seeds, RoundFuzzTest, ::testing::Values(1u, 2u, 3u));

}  // namespace
}  // namespace plumbline::daemon
