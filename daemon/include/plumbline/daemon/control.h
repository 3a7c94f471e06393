// DaemonControl: the daemon's main loop is told to stop or to reload its configuration, by
// signals (SIGTERM/SIGINT: stop; SIGHUP: reload, as `systemctl reload` sends) or by an HTTP
// handler (POST /v1/admin/reload). Work happens only in the main loop, between rounds, so neither
// a stop nor a reload can interrupt a round between signing and the synced write.
//
// Signals are taken synchronously by one watcher thread (sigwait): the constructor blocks them in
// the calling thread, so it must run before any other thread exists (all threads inherit the
// mask and none but the watcher ever receives them).
//
// Thread safety: RequestStop/RequestReload/stopping from any thread; WaitUntil, TakeReloads,
// CompleteReloads from the main loop only.
#pragma once

#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "plumbline/status.h"

namespace plumbline::daemon {

class DaemonControl {
 public:
  enum class Event { kDeadline, kStop, kReload };
  using ReloadOutcome = Result<std::string>;  // a summary of what changed, or why it was rejected

  DaemonControl();   // blocks SIGTERM, SIGINT and SIGHUP in the calling thread
  ~DaemonControl();  // Close()

  // Starts the sigwait thread. `on_signal` (optional) is told each signal before it is acted on
  // (for the log).
  void StartWatcher(std::function<void(int sig)> on_signal = nullptr);

  void RequestStop();
  // Queues a reload and wakes the main loop; the future gets the outcome once it ran (Unavailable
  // if the daemon stops first). Reloads requested together are run once.
  std::future<ReloadOutcome> RequestReload();

  // Waits until `deadline`, a stop, or a reload request (stop wins over reload).
  Event WaitUntil(std::chrono::steady_clock::time_point deadline);
  bool stopping() const;

  // Main loop: answers every queued reload request with `outcome`.
  void CompleteReloads(const ReloadOutcome& outcome);

  // Stops the watcher and answers pending reloads with Unavailable. Idempotent.
  void Close();

 private:
  sigset_t set_;
  std::thread watcher_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool closed_ = false;
  std::vector<std::promise<ReloadOutcome>> reloads_;
};

}  // namespace plumbline::daemon
