// The observation log: what every publish round's aggregation saw, so the round can be re-run
// (plumbline-replay) and its marks compared byte for byte with the signed snapshot.
//
// File: JSON lines, appended by the daemon when `observation_log` is configured. Two kinds:
//   {"halted":[<symbol>...],"observations":[<obs>...],"sequence":N,"time":"<unix ns>"}   one per
//        round, written before the round is signed; "halted" = the symbols the kill switch held; <obs> = {"ask"?,"bid"?,"observed_time","price","received_time",
//        "source","symbol"} with decimals and times as strings, exactly as held in memory
//   {"seed_sequence":N}   the daemon restarted and seeded its round memory from stored snapshot N
// Lines are canonical (keys sorted) and self-contained; a torn last line (crash mid-write) is
// reported with its line number and may be deleted by the operator.
//
// Thread safety: ObservationLogWriter is used by the one publishing thread; the functions are pure.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "plumbline/market.h"
#include "plumbline/status.h"

namespace plumbline::feeds {

struct LoggedRound {
  bool seed = false;          // a {"seed_sequence"} line
  uint64_t sequence = 0;
  int64_t time_unix_nanos = 0;
  std::vector<Observation> observations;  // every observation the round looked up
  std::vector<std::string> halted;        // symbols halted in this round
};

std::string ObservationLogRoundLine(uint64_t sequence, int64_t time_unix_nanos,
                                    const std::vector<Observation>& observations,
                                    const std::vector<std::string>& halted);
std::string ObservationLogSeedLine(uint64_t sequence);

// Errors name the file and line.
Result<std::vector<LoggedRound>> LoadObservationLog(const std::string& path);

// Appends lines; each Append is flushed to the kernel (not fsynced: the log is evidence for
// replay, the signed snapshot is the record).
class ObservationLogWriter {
 public:
  static Result<std::unique_ptr<ObservationLogWriter>> Open(const std::string& path);
  ~ObservationLogWriter();
  Status Append(const std::string& line);

 private:
  explicit ObservationLogWriter(std::FILE* f, std::string path) : file_(f), path_(std::move(path)) {}
  std::FILE* file_;
  std::string path_;
};

}  // namespace plumbline::feeds
