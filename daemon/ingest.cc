#include "plumbline/daemon/ingest.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <optional>
#include <span>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>

#include "plumbline/attest/canonical_json.h"
#include "plumbline/attest/dsse.h"
#include "plumbline/attest/keys.h"
#include "plumbline/daemon/ingest_journal.h"
#include "daemon/ingest_parse.h"

namespace plumbline::daemon {

struct Ingestor::PublisherState {
  // Immutable after Create().
  size_t index = 0;  // in publishers_: the order in which a bulk request takes several locks
  std::string name;
  attest::PublicKey key;
  std::string key_id;
  std::set<std::string> symbols;
  int64_t max_age_nanos = 0;
  // Token bucket in nano-batches: a batch costs kNanoBatch; refill is batches_per_second per ns.
  int64_t rate = 0;
  int64_t capacity = 0;

  mutable std::mutex mu;
  int64_t tokens = 0;
  int64_t last_refill_unix_nanos = 0;
  uint64_t last_sequence = 0;                  // 0 = none accepted (journal included)
  std::map<std::string, int64_t> last_observed;  // symbol -> newest accepted observed_time
  // Batches that passed every check and wait for their journal write (group commit), in
  // sequence order: they count as floors for newer batches until settled.
  struct InFlight {
    uint64_t sequence = 0;
    std::vector<std::pair<std::string, int64_t>> observed;  // (symbol, observed_time)
  };
  std::deque<InFlight> in_flight;
  IngestStats stats;
};

namespace {

using ingest_parse::ParsedBatch;
using ingest_parse::ParsePayload;

constexpr int64_t kNanoBatch = kNanosPerSecond;

IngestResult Reject(int status, std::string type, std::string detail) {
  IngestResult r;
  r.http_status = status;
  r.problem_type = std::move(type);
  r.detail = std::move(detail);
  return r;
}

// A journal record's envelope back to its batch. It was fully validated before it was written, so
// any failure here means the journal was damaged.
Result<ParsedBatch> ParseJournaled(const JournalRecord& record, const std::string& journal_path) {
  auto fail = [&](const std::string& why) {
    return Status::Corruption("ingest journal " + journal_path + ": the batch of publisher \"" + record.publisher +
                              "\" does not parse (" + why + "); move the directory aside to start without it");
  };
  auto envelope = attest::ParseEnvelope(record.envelope);
  if (!envelope.ok()) return fail(envelope.status().message());
  auto doc = attest::ParseStrictJson(envelope->payload);
  if (!doc.ok()) return fail(doc.status().message());
  Result<ParsedBatch> batch = Status::Internal("unset");
  try {
    batch = ParsePayload(*doc);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (!batch.ok()) return fail(batch.status().message());
  if (batch->publisher != record.publisher || batch->sequence != record.sequence) {
    return fail("publisher or sequence differs from the record's");
  }
  return batch;
}

}  // namespace

Ingestor::Ingestor(const Config& config, feeds::ObservationBook* book, const Clock& clock, IngestJournal* journal)
    : config_(config), book_(book), clock_(clock), journal_(journal) {
  for (const auto& s : config.symbols) configured_symbols_.insert(s.symbol);
}

Ingestor::~Ingestor() = default;

Result<std::unique_ptr<Ingestor>> Ingestor::Create(const Config& config, feeds::ObservationBook* book,
                                                   const Clock& clock, IngestJournal* journal) {
  std::unique_ptr<Ingestor> ingestor(new Ingestor(config, book, clock, journal));
  const std::string file = config.path.empty() ? "<text>" : config.path;
  std::set<std::string> key_ids;
  for (size_t i = 0; i < config.publishers.size(); ++i) {
    const PushPublisherConfig& p = config.publishers[i];
    const std::string prefix = "config " + file + ": key 'publishers[" + std::to_string(i) + "].";
    Result<attest::PublicKey> key = Status::Internal("unset");
    if (!p.public_key_file.empty()) {
      key = attest::PublicKey::LoadFile(p.public_key_file);
      if (!key.ok()) return key.status().WithContext(prefix + "public_key_file'");
    } else {
      auto raw = attest::Base64Decode(p.public_key);
      if (!raw.ok()) return raw.status().WithContext(prefix + "public_key'");
      key = attest::PublicKey::FromRaw(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(raw->data()), raw->size()));
      if (!key.ok()) return key.status().WithContext(prefix + "public_key'");
    }
    auto state = std::make_unique<PublisherState>();
    state->index = i;
    state->name = p.name;
    state->key = *key;
    state->key_id = key->KeyId();
    if (!key_ids.insert(state->key_id).second) {
      return Status::InvalidArgument(prefix + "public_key': the same key is registered for another publisher");
    }
    state->symbols.insert(p.symbols.begin(), p.symbols.end());
    state->max_age_nanos = p.max_age_ms * kNanosPerMilli;
    state->rate = p.batches_per_second;
    state->capacity = p.burst * kNanoBatch;
    state->tokens = state->capacity;
    state->last_refill_unix_nanos = clock.NowUnixNanos();
    state->stats.publisher = p.name;
    ingestor->publishers_.push_back(std::move(state));
  }
  PLUMBLINE_RETURN_IF_ERROR(ingestor->Recover());
  return ingestor;
}

Status Ingestor::Recover() {
  const int64_t now = clock_.NowUnixNanos();
  for (const auto& pub : publishers_) {
    auto record = journal_->Latest(pub->name);
    if (!record.ok()) return record.status();
    if (!record->has_value()) continue;
    auto batch = ParseJournaled(**record, journal_->path());
    if (!batch.ok()) return batch.status();
    std::vector<Observation> fresh;
    std::lock_guard<std::mutex> lock(pub->mu);
    pub->last_sequence = std::max(pub->last_sequence, batch->sequence);
    pub->stats.last_sequence = pub->last_sequence;
    for (Observation& o : batch->observations) {
      // The config may have changed since: restore only what this publisher may still publish.
      if (!configured_symbols_.count(o.symbol) || !pub->symbols.count(o.symbol)) continue;
      int64_t& floor = pub->last_observed[o.symbol];
      floor = std::max(floor, o.observed_unix_nanos);
      if (now - o.observed_unix_nanos > pub->max_age_nanos) continue;
      o.source = pub->name;
      o.received_unix_nanos = (*record)->received_unix_nanos;
      fresh.push_back(std::move(o));
    }
    if (!fresh.empty()) book_->PutAll(std::move(fresh));
  }
  return Status::Ok();
}

// One envelope on its way through the checks. `result` is the rejection once one check failed.
struct Ingestor::Checked {
  std::string_view body;
  IngestResult result;  // ok() until a check fails
  PublisherState* pub = nullptr;
  std::optional<nlohmann::json> doc;  // the verified payload, parsed (DOM path)
  std::optional<Result<ParsedBatch>> fast;  // or its fields, parsed by the fast path (reported in Check)
  ParsedBatch batch;                 // after Check()
  size_t count = 0;                  // observations in the batch (they move to the book when applied)
  int64_t now = 0;
  bool reserved = false;             // in pub->in_flight, waiting for its journal write
};

namespace {

IngestResult CountRejection(std::mutex& mu, IngestStats& stats, IngestResult r) {
  std::lock_guard<std::mutex> lock(mu);
  ++stats.rejected_batches;
  if (r.http_status == 429) ++stats.rate_limited;
  return r;
}

}  // namespace

// Envelope, key, canonical payload and signature: needs no mutable state but the rejection
// counters, so bulk requests run it on several threads.
Ingestor::Checked Ingestor::Verify(std::string_view body) const {
  Checked c;
  c.body = body;
  // The common well-formed envelope is read by the fast reader into buffers this thread reuses;
  // anything unusual goes through the DOM parser, which also words the error (ingest_parse.h).
  thread_local attest::Envelope fast_envelope;
  thread_local ingest_parse::RawBatch raw;
  Result<attest::Envelope> dom_envelope = Status::Internal("unset");
  const attest::Envelope* envelope = &fast_envelope;
  if (!ingest_parse::ReadEnvelopeFast(body, &fast_envelope)) {
    dom_envelope = attest::ParseEnvelope(body);
    if (!dom_envelope.ok()) {
      c.result = Reject(400, "malformed-envelope", dom_envelope.status().message());
      return c;
    }
    envelope = &*dom_envelope;
  }
  if (envelope->payload_type != kObservationsPayloadType) {
    c.result = Reject(400, "wrong-payload-type", "payloadType is \"" + envelope->payload_type + "\", expected \"" +
                                                     kObservationsPayloadType + "\"");
    return c;
  }
  PublisherState* pub = nullptr;
  for (const auto& sig : envelope->signatures) {
    for (const auto& p : publishers_) {
      if (p->key_id == sig.keyid) pub = p.get();
    }
    if (pub != nullptr) break;
  }
  if (pub == nullptr) {
    c.result = Reject(401, "unknown-key", "no signature is by a registered publisher key (keyid \"" +
                                              envelope->signatures.front().keyid + "\" is not in [[publishers]])");
    return c;
  }
  c.pub = pub;
  // attest::VerifyEnvelope's checks (canonical payload, signature over PAE by this key), done
  // here so the payload is parsed once: the parse is reused below (bench/ingest_bench.cc). Bytes
  // the fast reader accepts are canonical by construction; others are parsed and re-serialized.
  const bool fast = ingest_parse::ReadPayloadFast(envelope->payload, &raw);
  if (!fast) {
    auto doc = attest::ParseStrictJson(envelope->payload);
    if (!doc.ok()) {
      c.result = CountRejection(pub->mu, pub->stats, Reject(400, "malformed-payload", "payload: " + doc.status().message()));
      return c;
    }
    auto canonical = attest::Canonicalize(*doc);
    if (!canonical.ok() || *canonical != envelope->payload) {
      c.result = CountRejection(pub->mu, pub->stats, Reject(400, "malformed-payload", "payload is not RFC 8785 canonical JSON"));
      return c;
    }
    c.doc = std::move(doc).value();
  }
  thread_local std::string pae;
  pae.assign("DSSEv1 ");  // attest::Pae, into a reused buffer
  pae.append(std::to_string(envelope->payload_type.size())).append(" ").append(envelope->payload_type);
  pae.append(" ").append(std::to_string(envelope->payload.size())).append(" ").append(envelope->payload);
  bool verified = false;
  for (const auto& sig : envelope->signatures) {
    if (sig.keyid != pub->key_id) continue;
    verified = verified || pub->key.Verify(pae, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(sig.sig.data()),
                                                                        sig.sig.size()));
  }
  if (!verified) {
    c.result = CountRejection(pub->mu, pub->stats,
                              Reject(401, "bad-signature", "publisher \"" + pub->name + "\": signature by key id " +
                                                               pub->key_id + " does not verify (payload or signature altered)"));
    c.doc.reset();
    return c;
  }
  if (fast) c.fast = ingest_parse::ParseBatch(raw);  // field errors are reported by Check(), after the token
  return c;
}

// The token bucket, then the payload's fields and policy (everything but the replay floors).
void Ingestor::Check(Checked& c) {
  PublisherState* pub = c.pub;
  auto count_rejection = [pub](IngestResult r) { return CountRejection(pub->mu, pub->stats, std::move(r)); };
  const int64_t now = clock_.NowUnixNanos();
  c.now = now;
  {
    std::lock_guard<std::mutex> lock(pub->mu);
    const int64_t elapsed = std::max<int64_t>(0, now - pub->last_refill_unix_nanos);
    pub->last_refill_unix_nanos = std::max(now, pub->last_refill_unix_nanos);
    // Clamp before multiplying: a long idle time must not overflow elapsed * rate.
    const int64_t refill = elapsed > pub->capacity / pub->rate ? pub->capacity : elapsed * pub->rate;
    pub->tokens = std::min(pub->capacity, pub->tokens + refill);
    if (pub->tokens < kNanoBatch) {
      const int64_t wait_ns = (kNanoBatch - pub->tokens + pub->rate - 1) / pub->rate;
      IngestResult r = Reject(429, "rate-limited",
                              "publisher \"" + pub->name + "\" exceeded " + std::to_string(pub->rate) +
                                  " batches per second (burst " + std::to_string(pub->capacity / kNanoBatch) + ")");
      r.retry_after_seconds = std::max<int64_t>(1, (wait_ns + kNanosPerSecond - 1) / kNanosPerSecond);
      ++pub->stats.rejected_batches;
      ++pub->stats.rate_limited;
      c.result = std::move(r);
      return;
    }
    pub->tokens -= kNanoBatch;
  }

  Result<ParsedBatch> parsed = Status::Internal("unset");
  try {
    parsed = c.fast ? std::move(*c.fast) : ParsePayload(*c.doc);
  } catch (const std::exception& e) {  // nlohmann accessors; the checks above should prevent any
    c.result = count_rejection(Reject(400, "invalid-observations", e.what()));
    return;
  }
  if (!parsed.ok()) {
    c.result = count_rejection(Reject(400, "invalid-observations", "payload field " + parsed.status().message()));
    return;
  }
  ParsedBatch& batch = c.batch;
  batch = std::move(parsed).value();
  if (batch.publisher != pub->name) {
    c.result = count_rejection(Reject(403, "publisher-mismatch",
                                      "payload names publisher \"" + batch.publisher + "\" but is signed by the key of \"" +
                                          pub->name + "\""));
    return;
  }
  if (static_cast<int64_t>(batch.observations.size()) > config_.ingest.max_observations) {
    c.result = count_rejection(Reject(422, "batch-too-large",
                                      "batch has " + std::to_string(batch.observations.size()) +
                                          " observations; [ingest].max_observations is " +
                                          std::to_string(config_.ingest.max_observations)));
    return;
  }
  std::set<std::string_view> seen;  // (small batches compare with the earlier observations instead)
  const bool small = batch.observations.size() <= 16;
  const int64_t future = config_.ingest.max_future_skew_ms * kNanosPerMilli;
  for (size_t i = 0; i < batch.observations.size(); ++i) {
    Observation& o = batch.observations[i];
    auto where = [i] { return "observations[" + std::to_string(i) + "]"; };
    if (!configured_symbols_.count(o.symbol)) {
      c.result = count_rejection(Reject(422, "unknown-symbol", where() + ".symbol: \"" + o.symbol + "\" is not a configured symbol"));
      return;
    }
    if (!pub->symbols.count(o.symbol)) {
      c.result = count_rejection(Reject(403, "symbol-not-allowed", where() + ".symbol: publisher \"" + pub->name +
                                                                       "\" may not publish \"" + o.symbol + "\""));
      return;
    }
    if (now - o.observed_unix_nanos > pub->max_age_nanos) {
      c.result = count_rejection(Reject(422, "stale-observation",
                                        where() + ".observed_time: " + std::to_string((now - o.observed_unix_nanos) / kNanosPerMilli) +
                                            " ms old; publisher \"" + pub->name + "\" allows " +
                                            std::to_string(pub->max_age_nanos / kNanosPerMilli) + " ms"));
      return;
    }
    if (o.observed_unix_nanos - now > future) {
      c.result = count_rejection(Reject(422, "observation-in-future",
                                        where() + ".observed_time: " + std::to_string((o.observed_unix_nanos - now) / kNanosPerMilli) +
                                            " ms ahead of the server clock; [ingest].max_future_skew_ms is " +
                                            std::to_string(config_.ingest.max_future_skew_ms)));
      return;
    }
    const bool repeated = small ? std::any_of(batch.observations.begin(), batch.observations.begin() + static_cast<ptrdiff_t>(i),
                                              [&o](const Observation& e) { return e.symbol == o.symbol; })
                                : !seen.insert(o.symbol).second;
    if (repeated) {
      c.result = count_rejection(Reject(409, "duplicate-observation", where() + ".symbol: \"" + o.symbol + "\" appears twice in the batch"));
      return;
    }
    o.source = pub->name;
    o.received_unix_nanos = now;
  }
  c.count = batch.observations.size();
}

namespace {

// The caller holds pub.mu. Checks the batch's sequence and observed_times against both the
// accepted floors and every batch of the publisher still being written, and reserves them (so two
// batches with the same sequence can never both be accepted). A rejection is returned (counted).
template <typename State>
std::optional<IngestResult> ReserveLocked(State& pub, const ParsedBatch& batch) {
  const uint64_t sequence = batch.sequence;
  const bool pending = !pub.in_flight.empty();
  const uint64_t floor = pending ? std::max(pub.last_sequence, pub.in_flight.back().sequence) : pub.last_sequence;
  if (sequence <= floor) {
    ++pub.stats.rejected_batches;
    return Reject(409, "replayed-batch", "publisher \"" + pub.name + "\": batch sequence " + std::to_string(sequence) +
                                             " is not above the " + (pending ? "batch being written, " : "last accepted ") +
                                             std::to_string(floor));
  }
  typename State::InFlight reservation;
  reservation.sequence = sequence;
  for (size_t i = 0; i < batch.observations.size(); ++i) {
    const Observation& o = batch.observations[i];
    int64_t newest = 0;
    if (auto it = pub.last_observed.find(o.symbol); it != pub.last_observed.end()) newest = it->second;
    for (const auto& f : pub.in_flight) {
      for (const auto& [symbol, t] : f.observed) {
        if (symbol == o.symbol) newest = std::max(newest, t);
      }
    }
    if (newest != 0 && o.observed_unix_nanos <= newest) {
      ++pub.stats.rejected_batches;
      return Reject(409, "replayed-observation",
                    "observations[" + std::to_string(i) + "].observed_time: " + std::to_string(o.observed_unix_nanos) +
                        " is not after the last accepted " + o.symbol + " observation (" + std::to_string(newest) + ")");
    }
    reservation.observed.emplace_back(o.symbol, o.observed_unix_nanos);
  }
  pub.in_flight.push_back(std::move(reservation));
  return std::nullopt;
}

// The caller holds pub.mu. Once the write containing the batch finished: drop the reservation;
// durable: raise the floors and counters and move the observations to `apply`.
template <typename State>
void SettleLocked(State& pub, ParsedBatch& batch, const Status& written, std::vector<Observation>& apply) {
  const uint64_t sequence = batch.sequence;
  auto it = std::find_if(pub.in_flight.begin(), pub.in_flight.end(),
                         [sequence](const typename State::InFlight& f) { return f.sequence == sequence; });
  if (it != pub.in_flight.end()) pub.in_flight.erase(it);
  if (!written.ok()) {
    ++pub.stats.rejected_batches;
    return;
  }
  for (const Observation& o : batch.observations) {
    int64_t& floor = pub.last_observed[o.symbol];
    floor = std::max(floor, o.observed_unix_nanos);
  }
  pub.last_sequence = std::max(pub.last_sequence, sequence);
  pub.stats.accepted_batches += 1;
  pub.stats.accepted_observations += batch.observations.size();
  pub.stats.last_sequence = pub.last_sequence;
  for (Observation& o : batch.observations) apply.push_back(std::move(o));
}

IngestResult JournalFailed(const std::string& publisher, uint64_t sequence, const Status& s) {
  IngestResult r = Reject(503, "journal-unavailable", "publisher \"" + publisher + "\": batch sequence " +
                                                       std::to_string(sequence) +
                                                       " not stored, nothing applied; retry later: " + s.message());
  r.retry_after_seconds = 1;
  return r;
}

IngestResult Accepted(const std::string& publisher, const ParsedBatch& batch, size_t count) {
  IngestResult ok;
  ok.publisher = publisher;
  ok.sequence = batch.sequence;
  ok.accepted = count;
  return ok;
}

}  // namespace

IngestResult Ingestor::Submit(std::string_view body) {
  Checked c = Verify(body);
  if (!c.result.ok()) return c.result;
  Check(c);
  if (!c.result.ok()) return c.result;
  PublisherState* pub = c.pub;
  const size_t count = c.count;
  // Check and reserve atomically under the publisher's lock. The journal record is queued under the
  // same lock, so one publisher's records reach the journal (and the book) in sequence order.
  std::shared_ptr<IngestJournal::Ticket> ticket;
  {
    std::lock_guard<std::mutex> lock(pub->mu);
    if (auto rejected = ReserveLocked(*pub, c.batch)) return *rejected;
    // Runs once the write containing this batch finished, before Wait() below returns (on the
    // thread that wrote the group), in journal order. Durable: apply floors, stats and the book
    // under the publisher's lock, so a publish round sees all of the batch or none. Failed: drop
    // the reservation, nothing applied. `c` outlives it: this thread waits below.
    auto settle = [this, pub, &c](const Status& written) {
      std::lock_guard<std::mutex> lock(pub->mu);
      std::vector<Observation> apply;
      SettleLocked(*pub, c.batch, written, apply);
      if (!apply.empty()) book_->PutAll(std::move(apply));
    };
    ticket = journal_->Append(pub->name, c.batch.sequence, c.now, body, std::move(settle));
  }
  // Durable before anything is applied or acknowledged (DESIGN.md: acknowledge only after a synced
  // write). Concurrent batches share one synced write (IngestJournal group commit).
  if (Status s = journal_->Wait(ticket); !s.ok()) return JournalFailed(pub->name, c.batch.sequence, s);
  return Accepted(pub->name, c.batch, count);
}

std::vector<IngestResult> Ingestor::SubmitMany(const std::vector<std::string_view>& bodies, int verify_threads) {
  const size_t n = bodies.size();
  std::vector<Checked> checked(n);
  // 1. Envelope, key and signature (the CPU-heavy part), split over the threads: the caller takes
  //    the first part, a helper thread the rest. If the thread cannot start, the caller does all.
  const size_t threads = n >= kParallelVerifyMin ? static_cast<size_t>(std::max(1, verify_threads)) : 1;
  auto verify_range = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      try {
        checked[i] = Verify(bodies[i]);
      } catch (const std::exception& e) {  // nothing may escape a thread (e.g. bad_alloc)
        checked[i].result = Reject(400, "malformed-envelope", e.what());
      }
    }
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) {
    const size_t begin = n * t / threads, end = n * (t + 1) / threads;
    try {
      helpers.emplace_back(verify_range, begin, end);
    } catch (const std::system_error&) {
      verify_range(begin, end);  // no thread: the caller does this part too
    }
  }
  verify_range(0, n / threads);
  for (std::thread& h : helpers) h.join();

  // 2. Tokens and payload policy, in request order (so which envelope an empty bucket refuses is
  //    deterministic).
  for (Checked& c : checked) {
    if (c.result.ok()) Check(c);
  }

  // 3. Reserve every remaining envelope in request order holding all involved publishers' locks
  //    (taken in publisher index order: no deadlock with Submit(), which takes one), and queue them
  //    as one journal ticket before releasing: nothing of theirs can come in between, so each
  //    publisher's records reach the journal in sequence order and the request is one write.
  std::vector<PublisherState*> involved;
  for (const Checked& c : checked) {
    if (c.result.ok()) involved.push_back(c.pub);
  }
  std::sort(involved.begin(), involved.end(),
            [](const PublisherState* a, const PublisherState* b) { return a->index < b->index; });
  involved.erase(std::unique(involved.begin(), involved.end()), involved.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(involved.size());
  for (PublisherState* p : involved) locks.emplace_back(p->mu);
  std::vector<IngestJournal::Record> records;
  for (Checked& c : checked) {
    if (!c.result.ok()) continue;
    if (auto rejected = ReserveLocked(*c.pub, c.batch)) {
      c.result = std::move(*rejected);
      continue;
    }
    c.reserved = true;
    records.push_back({c.pub->name, c.batch.sequence, c.now, c.body});
  }
  std::shared_ptr<IngestJournal::Ticket> ticket;
  if (!records.empty()) {
    // On the writing thread, once the one write holding all of them finished: settle each in
    // request order, then put everything durable into the book at once.
    auto settle = [this, &checked](const Status& written) {
      std::vector<Observation> apply;
      for (Checked& c : checked) {
        if (!c.reserved) continue;
        std::lock_guard<std::mutex> lock(c.pub->mu);
        SettleLocked(*c.pub, c.batch, written, apply);
      }
      if (!apply.empty()) book_->PutAll(std::move(apply));
    };
    ticket = journal_->AppendAll(records, std::move(settle));
  }
  locks.clear();

  // 4. Wait for the write, then answer each envelope.
  const Status written = ticket ? journal_->Wait(ticket) : Status::Ok();
  std::vector<IngestResult> results;
  results.reserve(n);
  for (Checked& c : checked) {
    if (!c.reserved) {
      results.push_back(std::move(c.result));
    } else if (!written.ok()) {
      results.push_back(JournalFailed(c.pub->name, c.batch.sequence, written));
    } else {
      results.push_back(Accepted(c.pub->name, c.batch, c.count));  // (its observations moved to the book)
    }
  }
  return results;
}

void Ingestor::RememberIncluded(const std::vector<Mark>& marks) {
  for (const auto& p : publishers_) {
    std::lock_guard<std::mutex> lock(p->mu);
    for (const Mark& m : marks) {
      for (const Observation& o : m.contributions) {
        if (o.source != p->name) continue;
        int64_t& floor = p->last_observed[o.symbol];
        floor = std::max(floor, o.observed_unix_nanos);
      }
    }
  }
}

std::vector<IngestStats> Ingestor::Stats() const {
  std::vector<IngestStats> out;
  for (const auto& p : publishers_) {
    std::lock_guard<std::mutex> lock(p->mu);
    out.push_back(p->stats);
  }
  std::sort(out.begin(), out.end(), [](const IngestStats& a, const IngestStats& b) { return a.publisher < b.publisher; });
  return out;
}

}  // namespace plumbline::daemon
