#include "plumbline/daemon/replay.h"

#include <algorithm>
#include <map>
#include <set>

#include "plumbline/attest/snapshot.h"
#include "plumbline/daemon/publisher.h"
#include "plumbline/feeds/mark_engine.h"

namespace plumbline::daemon {
namespace {

std::string Difference(const std::string& want, const std::string& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  const size_t from = i > 60 ? i - 60 : 0;
  return "bytes differ at offset " + std::to_string(i) + ":\n  signed:   ..." + want.substr(from, 160) +
         "\n  replayed: ..." + got.substr(from, 160);
}

Result<attest::SignedSnapshot> Stored(const EnvelopeFetcher& fetch, uint64_t sequence) {
  Result<std::string> envelope = fetch(sequence);
  if (!envelope.ok()) return envelope.status();
  auto decoded = attest::DecodeSnapshotEnvelope(*envelope);
  if (!decoded.ok()) return decoded.status().WithContext("snapshot " + std::to_string(sequence));
  return decoded;
}

}  // namespace

Status SeedFromHistory(feeds::MarkEngine& engine, const Config& config, const EnvelopeFetcher& fetch,
                       uint64_t last_sequence) {
  struct Want {
    bool accepted = false;  // found its newest ok/clamped mark
    bool regular = false;   // found its newest last-regular mark (equities only)
  };
  std::map<std::string, Want> wants;
  for (const auto& policy : config.symbols) wants[policy.symbol].regular = policy.asset_class != AssetClass::kEquity;
  size_t missing = wants.size();
  std::vector<attest::SignedSnapshot> needed;  // newest first
  uint64_t bytes_read = 0;
  for (uint64_t seq = last_sequence, walked = 0;
       seq >= 1 && (walked == 0 || (missing > 0 && walked < kSeedLookbackSnapshots && bytes_read < kSeedLookbackBytes));
       --seq, ++walked) {
    Result<std::string> envelope = fetch(seq);
    if (!envelope.ok()) {
      if (envelope.status().code() == Code::kNotFound) break;
      return envelope.status().WithContext("seeding the round engine");
    }
    bytes_read += envelope->size();
    auto stored = attest::DecodeSnapshotEnvelope(*envelope);
    if (!stored.ok()) return stored.status().WithContext("seeding the round engine: snapshot " + std::to_string(seq));
    bool useful = seq == last_sequence;  // the latest always seeds last statuses
    for (const Mark& m : stored->snapshot.marks) {
      auto it = wants.find(m.symbol);
      if (it == wants.end() || (it->second.accepted && it->second.regular)) continue;
      Want& w = it->second;
      if (!w.accepted && (m.status == MarkStatus::kOk || m.status == MarkStatus::kClamped)) {
        w.accepted = useful = true;
      }
      if (!w.regular && (m.status == MarkStatus::kMarketClosed ||
                         (m.status == MarkStatus::kOk && m.session == Session::kRegular))) {
        w.regular = useful = true;
      }
      if (w.accepted && w.regular) --missing;
    }
    if (useful) needed.push_back(std::move(stored).value());
  }
  for (auto it = needed.rbegin(); it != needed.rend(); ++it) engine.Seed(it->snapshot.marks, it->snapshot.time_unix_nanos);
  return Status::Ok();
}

Result<ReplayReport> Replay(const Config& config, const std::vector<feeds::LoggedRound>& log,
                            const EnvelopeFetcher& fetch) {
  auto engine = feeds::MarkEngine::Create(config.symbols, MaxAgeBySource(config), config.calendar);
  if (!engine.ok()) return engine.status().WithContext("configuration");
  ReplayReport report;
  for (const feeds::LoggedRound& line : log) {
    if (line.seed) {
      auto stored = Stored(fetch, line.sequence);
      if (!stored.ok()) return stored.status().WithContext("seed line");
      // A restarted daemon starts a fresh engine and seeds it: memory the marks do not carry
      // (an accepted price behind a stale or halted mark, a pending clamp) is gone, so it must be
      // gone here too.
      engine = feeds::MarkEngine::Create(config.symbols, MaxAgeBySource(config), config.calendar);
      if (!engine.ok()) return engine.status().WithContext("configuration");
      PLUMBLINE_RETURN_IF_ERROR(SeedFromHistory(**engine, config, fetch, line.sequence));
      continue;
    }
    std::set<std::string> halted(line.halted.begin(), line.halted.end());
    for (const auto& policy : config.symbols) (void)(*engine)->SetHalted(policy.symbol, halted.count(policy.symbol) != 0);
    std::map<std::string, std::vector<Observation>> by_symbol;
    for (const Observation& o : line.observations) by_symbol[o.symbol].push_back(o);
    std::vector<Mark> marks = (*engine)->RoundLent(
        [&](const std::string& symbol) {
          auto it = by_symbol.find(symbol);
          return it == by_symbol.end() ? std::span<const Observation>() : std::span<const Observation>(it->second);
        },
        line.time_unix_nanos);
    ++report.rounds;
    auto stored = Stored(fetch, line.sequence);
    if (!stored.ok()) {
      if (stored.status().code() == Code::kNotFound) {
        ++report.not_stored;
        continue;
      }
      return stored.status();
    }
    if (stored->snapshot.config_digest != config.digest) {
      return Status::InvalidArgument("snapshot " + std::to_string(line.sequence) + " was made with config digest " +
                                     stored->snapshot.config_digest + ", not this config's " + config.digest);
    }
    attest::Snapshot replayed = stored->snapshot;
    replayed.marks = std::move(marks);
    auto payload = attest::SnapshotPayload(replayed);
    if (!payload.ok()) return payload.status().WithContext("replayed snapshot " + std::to_string(line.sequence));
    if (*payload == stored->payload) {
      ++report.identical;
    } else {
      if (report.differing++ == 0) {
        report.first_differing_sequence = line.sequence;
        report.first_difference = Difference(stored->payload, *payload);
      }
    }
  }
  return report;
}

}  // namespace plumbline::daemon
