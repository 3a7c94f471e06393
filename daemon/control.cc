#include "plumbline/daemon/control.h"

#include <pthread.h>

namespace plumbline::daemon {

DaemonControl::DaemonControl() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

DaemonControl::~DaemonControl() { Close(); }

void DaemonControl::StartWatcher(std::function<void(int sig)> on_signal) {
  watcher_ = std::thread([this, on_signal = std::move(on_signal)] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (closed_) return;  // Close() waking us up
      }
      if (on_signal) on_signal(sig);
      if (sig == SIGHUP) {
        RequestReload();  // the outcome is logged by the main loop; nobody waits for it here
      } else {
        RequestStop();
      }
    }
  });
}

void DaemonControl::RequestStop() {
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = true;
  cv_.notify_all();
}

std::future<DaemonControl::ReloadOutcome> DaemonControl::RequestReload() {
  std::promise<ReloadOutcome> promise;
  std::future<ReloadOutcome> future = promise.get_future();
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_ || closed_) {
    promise.set_value(Status::Unavailable("the daemon is shutting down"));
    return future;
  }
  reloads_.push_back(std::move(promise));
  cv_.notify_all();
  return future;
}

DaemonControl::Event DaemonControl::WaitUntil(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, deadline, [this] { return stop_ || !reloads_.empty(); });
  if (stop_) return Event::kStop;
  if (!reloads_.empty()) return Event::kReload;
  return Event::kDeadline;
}

bool DaemonControl::stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

void DaemonControl::CompleteReloads(const ReloadOutcome& outcome) {
  std::vector<std::promise<ReloadOutcome>> waiting;
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiting.swap(reloads_);
  }
  for (auto& p : waiting) p.set_value(outcome);
}

void DaemonControl::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    stop_ = true;
  }
  if (watcher_.joinable()) {
    pthread_kill(watcher_.native_handle(), SIGTERM);
    watcher_.join();
  }
  CompleteReloads(Status::Unavailable("the daemon is shutting down"));
}

}  // namespace plumbline::daemon
