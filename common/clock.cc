#include "plumbline/clock.h"

#include <chrono>

namespace plumbline {

int64_t SystemClock::NowUnixNanos() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const SystemClock& SystemClock::Instance() {
  static const SystemClock clock;
  return clock;
}

}  // namespace plumbline
