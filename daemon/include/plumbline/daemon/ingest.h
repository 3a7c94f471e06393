// Push ingestion: signed observation batches from registered publishers (POST /v1/observations,
// docs/ingest.md).
//
// A batch is a DSSE envelope (attest/dsse.h) of payload type kObservationsPayloadType whose
// payload is RFC 8785 canonical JSON:
//   {"publisher": "desk-1", "sequence": 17,
//    "observations": [{"symbol": "BTC/USD", "price": "67000.10", "bid": "67000.00",
//                      "ask": "67000.20", "observed_time": "1763780000000000000"}, ...]}
// signed by the publisher's Ed25519 key from [[publishers]] (one signature per batch). Prices
// are decimal strings parsed exactly; bid and ask come together; "confidence" (>= 0) may be given
// instead of bid/ask and is stored as bid = price - c, ask = price + c (the aggregator derives a
// source's confidence as the half spread, so this is exact). observed_time is Unix nanoseconds as
// a decimal string.
//
// Checks, in order (the first failure rejects the whole batch and changes nothing):
//   envelope shape and payload type (400) -> a signature by a registered key (401 unknown-key) ->
//   payload is canonical JSON (400 malformed-payload) -> the signature verifies (401
//   bad-signature) -> the publisher's token bucket (429, Retry-After) -> payload fields and
//   decimals (400 invalid-observations, naming the field) -> payload publisher == key's (403) ->
//   batch size (422) -> each observation: symbol configured (422 unknown-symbol), allowed for this
//   publisher (403), observed_time not older than the publisher's max_age_ms (422) and not ahead
//   of our clock by more than [ingest].max_future_skew_ms (422), symbol not repeated in the batch
//   (409) -> under the publisher's lock, checked and reserved at once: sequence strictly above the
//   last accepted one and above that publisher's batches still being written (409 replayed-batch),
//   each observed_time strictly after the last accepted or being-written one for that (publisher,
//   symbol) (409 replayed-observation), and the record queued in the IngestJournal -> without the
//   lock, wait for the synced write containing the batch (group commit: concurrent batches share
//   one fdatasync); if it fails: 503 journal-unavailable, Retry-After: 1, the reservation dropped
//   and nothing applied -> once durable, the batch is applied under the publisher's lock in journal
//   order (floors, counters, ObservationBook::PutAll at once) -> 200.
// So a 200 means the batch is on disk: nothing acknowledged is lost in a crash (DESIGN.md).
// The token is taken after the signature verified, so forged requests cannot drain a real
// publisher's budget; a flood from one publisher only empties its own bucket.
//
// Replay state survives restarts: the journal keeps each publisher's latest accepted batch, and
// Create() reloads it, restoring the publisher's batch-sequence floor (older or equal sequences
// stay 409 replayed-batch) and its per-symbol observed_time floors, and putting that batch's
// observations that are still younger than the publisher's max_age_ms back into the book. The
// daemon also raises the observed_time floors from the latest stored snapshot (RememberIncluded).
//
// Thread safety: Submit() may be called from many threads at once; the checks of one publisher's
// batches are serialized by its lock, their journal writes are shared (docs/ingest.md, "Group
// commit") and they reach the book in sequence order.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "plumbline/clock.h"
#include "plumbline/daemon/config.h"
#include "plumbline/daemon/ingest_journal.h"
#include "plumbline/feeds/sources.h"
#include "plumbline/status.h"

namespace plumbline::daemon {

inline constexpr char kObservationsPayloadType[] = "application/vnd.plumbline.observations.v1+json";

// The outcome of one batch, ready to become an HTTP response.
struct IngestResult {
  int http_status = 200;            // 200 accepted; otherwise the rejection's status
  std::string problem_type;         // "bad-signature", ... (empty when accepted)
  std::string detail;               // names the field / symbol / limit
  int64_t retry_after_seconds = 0;  // > 0 with 429
  // When accepted:
  std::string publisher;
  uint64_t sequence = 0;
  size_t accepted = 0;              // observations applied

  bool ok() const { return http_status == 200; }
};

struct IngestStats {
  std::string publisher;
  uint64_t accepted_batches = 0;
  uint64_t accepted_observations = 0;
  uint64_t rejected_batches = 0;    // after the key was identified (signature, limits, replay, ...)
  uint64_t rate_limited = 0;
  uint64_t last_sequence = 0;       // 0 = none ever accepted (restored from the journal)
};

class Ingestor {
 public:
  // Reads each publisher's key (public_key_file or public_key). Errors name the config key, e.g.
  // "config x.toml: key 'publishers[0].public_key_file': ...". `book`, `clock` and `journal`
  // (non-null) are borrowed and must outlive the Ingestor. Then recovers each configured
  // publisher's latest batch from `journal` (see the file comment); a journal that cannot be read
  // or holds a batch that does not parse is an error (IOError / Corruption naming its path).
  static Result<std::unique_ptr<Ingestor>> Create(const Config& config, feeds::ObservationBook* book,
                                                  const Clock& clock, IngestJournal* journal);
  ~Ingestor();

  // After a restart: raises each publisher's per-symbol observed_time floor to the observations
  // that appear in `marks` (the latest stored snapshot's), so nothing that made it into a
  // signed snapshot can be replayed. Call before serving.
  void RememberIncluded(const std::vector<Mark>& marks);

  // Verifies, validates and applies one request body (the envelope JSON). See the file comment.
  IngestResult Submit(std::string_view body);

  // POST /v1/observations/bulk (docs/ingest.md, "Bulk"): many envelopes, each exactly a Submit()
  // body, possibly of different publishers. Each goes through every check of Submit() on its own
  // (a bad one never rejects the others); tokens are charged and replay floors checked in the
  // order given. All envelopes that pass are reserved at once (every involved publisher's lock
  // held, so no other request of theirs can come between), queued as ONE journal ticket and
  // written by one synced write; only then are they applied, in order. If that write fails, every
  // one of them answers 503 journal-unavailable and nothing is applied. Signatures are verified
  // on `verify_threads` threads (the caller's included) when there are at least
  // kParallelVerifyMin envelopes. Returns one result per envelope, in order; a result's detail
  // does not carry the line number (the route adds it). Thread safe like Submit().
  std::vector<IngestResult> SubmitMany(const std::vector<std::string_view>& bodies, int verify_threads = 1);
  static constexpr size_t kParallelVerifyMin = 16;

  const Config& config() const { return config_; }

  std::vector<IngestStats> Stats() const;  // by publisher name

 private:
  struct PublisherState;
  Ingestor(const Config& config, feeds::ObservationBook* book, const Clock& clock, IngestJournal* journal);
  Status Recover();
  struct Checked;  // one envelope after every check that needs no replay state (ingest.cc)
  Checked Verify(std::string_view body) const;
  void Check(Checked& c);
  const Config& config_;
  feeds::ObservationBook* book_;
  const Clock& clock_;
  IngestJournal* journal_;
  std::set<std::string> configured_symbols_;
  std::vector<std::unique_ptr<PublisherState>> publishers_;
};

}  // namespace plumbline::daemon
