#include "reserve_runner.h"

#include <chrono>
#include <filesystem>

#include "plumbline/daemon/log.h"

namespace plumbline::daemon {

Result<std::unique_ptr<ReserveRunner>> ReserveRunner::Start(const Config& config, const Clock& clock,
                                                            Publisher* publisher, ApiServer* api) {
  if (config.reserves.assets.empty()) return std::unique_ptr<ReserveRunner>();
  const std::string path = config.reserves.data_dir.empty()
                               ? (std::filesystem::path(config.data_dir) / "reserves").string()
                               : config.reserves.data_dir;
  auto store = reserves::ReserveStore::Open({.path = path, .sync_writes = true});
  if (!store.ok()) return store.status().WithContext("reserve store");
  std::unique_ptr<ReserveRunner> r(new ReserveRunner());
  r->store_ = std::move(store).value();
  r->monitor_ = std::make_unique<reserves::ReserveMonitor>(config.reserves, r->store_.get(), clock);
  PLUMBLINE_RETURN_IF_ERROR(r->monitor_->Resume());
  reserves::ReserveMonitor* m = r->monitor_.get();
  publisher->SetReserveSource([m](int64_t now) { return m->AttestationsAt(now); });
  api->AttachReserves(m);
  r->thread_ = std::thread([raw = r.get(), interval = config.reserves.interval_ms] { raw->Loop(interval); });
  return r;
}

ReserveRunner::~ReserveRunner() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReserveRunner::Loop(int64_t interval_ms) {
  const auto interval = std::chrono::milliseconds(interval_ms);
  auto next = std::chrono::steady_clock::now();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_until(lock, next, [this] { return stop_; })) return;
    }
    Status s = monitor_->RunRound();
    if (!s.ok()) {
      // The attestations age into `stale`; nothing else to do but say so and try again.
      Log(LogLevel::kWarning, "reserves round failed: " + s.ToString());
    }
    next += interval;
    const auto now = std::chrono::steady_clock::now();
    while (next <= now) next += interval;
  }
}

}  // namespace plumbline::daemon
