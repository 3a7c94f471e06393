// SystemdNotifier: the sd_notify(3) protocol, so that systemd knows when the daemon is ready,
// reloading or stopping, and can restart it when it stops making progress (watchdog).
//
// Under a unit with Type=notify systemd sets NOTIFY_SOCKET (and, with WatchdogSec=, WATCHDOG_USEC
// and WATCHDOG_PID); messages are datagrams sent through libsystemd's sd_notify. Outside systemd
// NOTIFY_SOCKET is unset, enabled() is false and every call is a no-op returning OK, so the same
// binary runs from a shell, a test or a container without special cases.
//
// Protocol duties of the caller (systemd acts on them, this class cannot):
//   * Ready() once the daemon serves requests; systemd holds `systemctl start` until then.
//   * Reloading() when a reload (SIGHUP) starts, then Ready() again when the new configuration is
//     in effect or was rejected (RELOADING=1 carries MONOTONIC_USEC= as Type=notify-reload
//     expects; under Type=notify it only shows the state).
//   * Stopping() when shutdown starts.
//   * WatchdogPing() at least every WatchdogInterval() / 2, and only while work is healthy: a
//     ping proves progress, so sending it from an independent timer would defeat the watchdog.
//
// Thread safety: the environment is read once, in the constructor, which must therefore run
// before any thread changes the environment. After that the object is immutable and every method
// may be called from any thread (each message is one datagram on a socket of its own).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "plumbline/status.h"

namespace plumbline::daemon {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET (a path, or "@name" for an abstract socket), WATCHDOG_USEC and
  // WATCHDOG_PID. The variables are left in place (no child process of ours needs them, and a
  // test may construct several notifiers).
  SystemdNotifier();

  // True when NOTIFY_SOCKET was set: messages go somewhere.
  bool enabled() const { return enabled_; }

  // READY=1 with STATUS=<status>. Newlines in a status are sent as spaces: each line of a
  // message is a separate assignment, so a status must not be able to inject e.g. STOPPING=1.
  // IOError when the socket is set but the datagram cannot be sent (systemd gone, no permission).
  Status Ready(std::string_view status);
  // STATUS=<status>: the one-line text `systemctl status` shows. Same newline rule and errors.
  Status SetStatus(std::string_view status);
  // RELOADING=1 and MONOTONIC_USEC=<CLOCK_MONOTONIC now, microseconds>.
  Status Reloading();
  // STOPPING=1.
  Status Stopping();
  // WATCHDOG=1. Sent whenever enabled(), even without a watchdog (systemd ignores it then).
  Status WatchdogPing();

  // The watchdog timeout systemd enforces, when WatchdogSec= is set for this very process
  // (WATCHDOG_PID absent or equal to our pid) and NOTIFY_SOCKET is set; nullopt otherwise,
  // including a malformed or zero WATCHDOG_USEC.
  std::optional<std::chrono::microseconds> WatchdogInterval() const { return watchdog_; }

 private:
  Status Send(const std::string& state) const;

  bool enabled_ = false;
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace plumbline::daemon
