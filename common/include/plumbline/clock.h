// Clock: the only source of "now". Everything that reads time takes a Clock so tests drive it.
//
// Units: integer nanoseconds since the Unix epoch, UTC. Thread safety: implementations are safe to
// call from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace plumbline {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowUnixNanos() const = 0;
};

// Wall clock (CLOCK_REALTIME). Shared, stateless.
class SystemClock final : public Clock {
 public:
  int64_t NowUnixNanos() const override;
  static const SystemClock& Instance();
};

// A clock that moves only when told to. For tests and replay.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_unix_nanos) : now_(start_unix_nanos) {}
  int64_t NowUnixNanos() const override { return now_.load(); }
  void Set(int64_t unix_nanos) { now_.store(unix_nanos); }
  void Advance(int64_t nanos) { now_.fetch_add(nanos); }

 private:
  std::atomic<int64_t> now_;
};

constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr int64_t kNanosPerSecond = 1'000'000'000;

}  // namespace plumbline
