// Polled price sources and the book of their latest observations.
//
// Each source is polled on its own thread with its own connect/read timeouts, so a slow or hung
// venue never delays another source or a publish round: rounds read the ObservationBook, which
// always holds the latest good observation per (source, symbol). A failed poll (timeout, HTTP
// error, malformed body, bad price) is counted, logged and skipped; it never removes or changes
// the last good observation.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "plumbline/clock.h"
#include "plumbline/feeds/venue_formats.h"
#include "plumbline/market.h"
#include "plumbline/status.h"

namespace plumbline::feeds {

struct SourceConfig {
  std::string name;                          // unique, e.g. "kraken"
  VenueFormat format = VenueFormat::kKraken;
  std::string base_url;                      // "http://127.0.0.1:18421" (scheme://host:port)
  int64_t poll_interval_ms = 1000;
  int64_t connect_timeout_ms = 1000;
  int64_t read_timeout_ms = 2000;
  int64_t max_age_ms = 10000;                // observations older than this are not fresh
  std::map<std::string, std::string> symbols;  // Plumbline symbol -> venue symbol
  // Retry: a failed request is retried up to `retries` times within the poll, waiting
  // retry_backoff_ms, then twice that, ... between attempts. A poll in which every symbol failed
  // makes the next poll wait poll_interval_ms x 2^(consecutive failed polls), capped at
  // max_backoff_ms, so a dead venue is not hammered. Rounds never wait for any of this.
  int retries = 1;
  int64_t retry_backoff_ms = 100;
  int64_t max_backoff_ms = 30000;
};

struct SourceHealth {
  std::string source;
  int64_t last_success_unix_nanos = 0;  // 0 = never
  uint64_t successes = 0;
  uint64_t errors = 0;
  std::string last_error;               // empty if none
  uint64_t consecutive_failures = 0;    // failed polls in a row (0 after a success)
  int64_t last_latency_ms = -1;         // slowest successful request of the last poll; -1 = none
  int64_t next_poll_delay_ms = 0;       // the wait before the next poll (grows with backoff)
  int64_t last_poll_duration_nanos = 0; // wall time of the last poll of all symbols (0 = none yet)
};

// Latest observation per (source, symbol). Thread-safe.
//
// Each symbol's observations live in one immutable array (SharedObservations) that marks share
// instead of copying: a Put() changes the array in place while no one else holds it, and
// otherwise replaces it with a changed copy (copy on write), so a shared array never changes.
class ObservationBook {
 public:
  // Replaces the entry for (obs.source, obs.symbol) unless the stored one is newer.
  void Put(Observation obs);
  // Put() of every element under one lock: a concurrent ForSymbol() sees all or none of them.
  void PutAll(std::vector<Observation> batch);
  // All sources' latest observations of `symbol`, sorted by source name (a copy).
  std::vector<Observation> ForSymbol(const std::string& symbol) const;

  // Lends the book without copying (a publish round reads every symbol through one Reader). The
  // Reader holds the book's lock until it is destroyed: Put()/PutAll() wait meanwhile, so hold
  // one only for a round (a few ms), and never Put() from the thread holding it (deadlock).
  // A round asks for the same symbols in the same order every time: the book remembers the last
  // sequence of asks, so the k-th ask of a Reader that matches the k-th of the previous one costs
  // a string comparison in a sequential array instead of a hash lookup.
  class Reader {
   public:
    // The same observations as ForSymbol(), valid while this Reader lives (empty if none).
    std::span<const Observation> ForSymbol(const std::string& symbol);
    // The same as a shared array, valid as long as it is held (nullptr if none). It never changes.
    SharedObservations Shared(const std::string& symbol);

   private:
    friend class ObservationBook;
    explicit Reader(const ObservationBook& book) : book_(&book), lock_(book.mu_) {}
    const std::shared_ptr<std::vector<Observation>>* Slot(const std::string& symbol);
    const ObservationBook* book_;
    std::unique_lock<std::mutex> lock_;
    size_t ask_ = 0;  // how many ForSymbol()/Shared() calls so far
  };
  Reader Read() const { return Reader(*this); }

 private:
  void PutLocked(Observation obs);  // mu_ held
  mutable std::mutex mu_;
  // symbol -> its sources' latest observations, sorted by source name (one per source). Never
  // null, never erased (remembered asks point at these slots; map nodes do not move).
  std::unordered_map<std::string, std::shared_ptr<std::vector<Observation>>> by_symbol_;
  struct Asked {
    std::string symbol;
    const std::shared_ptr<std::vector<Observation>>* slot = nullptr;
  };
  mutable std::vector<Asked> asked_;  // the last Readers' asks, by position (mu_ held)
};

// Fetches every configured symbol of `source` once over HTTP (with the source's retries) and
// stores the good observations in `book`. Returns the first error (all symbols are still
// attempted). Used by Poller and tests.
Status PollOnce(const SourceConfig& source, ObservationBook* book, const Clock& clock);

// Runs one polling thread per source until Stop(). Not copyable.
class Poller {
 public:
  Poller(std::vector<SourceConfig> sources, ObservationBook* book, const Clock& clock);
  ~Poller();  // calls Stop()
  void Start();
  // Signals all threads and joins them; returns within about the longest configured timeout.
  void Stop();
  std::vector<SourceHealth> Health() const;  // by source name

 private:
  struct State;
  std::vector<SourceConfig> sources_;
  ObservationBook* book_;
  const Clock& clock_;
  std::unique_ptr<State> state_;
  std::vector<std::thread> threads_;
};

// Recorded observations, one JSON object per line:
//   {"source":"kraken","symbol":"BTC/USD","price":"65432.1","bid":"..","ask":"..",
//    "observed_time":"<unix ns>"}
// (bid/ask optional). Blank lines and lines starting with '#' are ignored. Errors name the line.
Result<std::vector<Observation>> LoadRecording(const std::string& path);

// Feeds a recording into a book as a clock passes each observation's time, so a recorded day
// replays through the same aggregator deterministically. Thread-compatible (one caller).
class ReplaySource {
 public:
  explicit ReplaySource(std::vector<Observation> recording);  // sorted by observed time inside
  // Puts every not-yet-released observation with observed time <= now into the book
  // (received time = observed time). Returns how many were released.
  size_t ReleaseUntil(int64_t now_unix_nanos, ObservationBook* book);

 private:
  std::vector<Observation> recording_;
  size_t next_ = 0;
};

}  // namespace plumbline::feeds
