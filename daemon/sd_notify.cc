#include "plumbline/daemon/sd_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace plumbline::daemon {
namespace {

std::string OneLine(std::string_view text) {
  std::string out(text);
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

}  // namespace

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
  uint64_t usec = 0;
  // sd_watchdog_enabled checks WATCHDOG_PID against getpid(), so a watchdog meant for a parent
  // (inherited environment) is not mistaken for ours.
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_ = std::chrono::microseconds(usec);
  }
}

Status SystemdNotifier::Send(const std::string& state) const {
  if (!enabled_) return Status::Ok();
  int r = sd_notify(0, state.c_str());
  if (r < 0) {
    const std::string first_line = state.substr(0, state.find('\n'));
    return Status::IOError("sd_notify " + first_line + ": " + std::strerror(-r));
  }
  return Status::Ok();
}

Status SystemdNotifier::Ready(std::string_view status) {
  return Send("READY=1\nSTATUS=" + OneLine(status));
}

Status SystemdNotifier::SetStatus(std::string_view status) { return Send("STATUS=" + OneLine(status)); }

Status SystemdNotifier::Reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1'000'000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
  return Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

Status SystemdNotifier::Stopping() { return Send("STOPPING=1"); }

Status SystemdNotifier::WatchdogPing() { return Send("WATCHDOG=1"); }

}  // namespace plumbline::daemon
