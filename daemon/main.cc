// plumbline: the daemon. Polls price sources, publishes a signed snapshot every round into
// RocksDB and serves them over HTTP.
//
//   plumbline --config FILE [--listen ADDR:PORT] [--data-dir DIR] [--rounds N]
//
// Exit codes: 0 clean shutdown (SIGTERM/SIGINT, or --rounds reached); 2 bad command line or
// configuration; 3 key, data directory or listen address refused at start-up; 4 a round failed to
// store its snapshot (the daemon stops rather than skip a sequence number).
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>

#include "plumbline/attest/keys.h"
#include "plumbline/clock.h"
#include "plumbline/daemon/api_server.h"
#include "plumbline/daemon/config.h"
#include "plumbline/daemon/publisher.h"
#include "plumbline/feeds/sources.h"
#include "plumbline/storage/snapshot_store.h"
#include "reserve_runner.h"

namespace {

using namespace plumbline;

void Log(const std::string& line) {
  std::fprintf(stderr, "plumbline: %s\n", line.c_str());
  std::fflush(stderr);
}

// Signals are taken synchronously by one thread (sigwait), so no work happens in a handler.
class ShutdownSignal {
 public:
  ShutdownSignal() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);  // before any thread starts: all inherit it
  }
  void StartWatcher() {
    watcher_ = std::thread([this] {
      int sig = 0;
      sigwait(&set_, &sig);
      if (stopping()) return;  // Close() waking us up after a --rounds exit
      Log(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
          ": finishing the round in flight");
      Request();
    });
  }
  void Request() {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  // Waits until `deadline` or a stop request; true if stopping.
  bool WaitUntil(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, deadline, [this] { return stop_; });
  }
  bool stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  }
  void Close() {
    if (watcher_.joinable()) {
      pthread_kill(watcher_.native_handle(), SIGTERM);
      watcher_.join();
    }
  }

 private:
  sigset_t set_;
  std::thread watcher_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

int Run(int argc, char** argv) {
  CLI::App app{"plumbline: signed price snapshots from several sources, stored and served over HTTP"};
  std::string config_path, listen, data_dir;
  uint64_t rounds = 0;
  app.add_option("--config", config_path, "TOML configuration file")->required();
  app.add_option("--listen", listen, "override the listen address, HOST:PORT (port 0 = any free port)");
  app.add_option("--data-dir", data_dir, "override the RocksDB data directory");
  app.add_option("--rounds", rounds, "publish this many rounds, then exit (0 = run until SIGTERM)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  // Block SIGTERM/SIGINT before any thread exists (RocksDB starts its own in Open), so every
  // thread inherits the mask and only the watcher's sigwait ever receives them.
  ShutdownSignal shutdown;
  // Keep the signing key out of core dumps and away from ptrace by other users.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  auto config = daemon::LoadConfig(config_path);
  if (!config.ok()) {
    Log(config.status().message());
    return 2;
  }
  if (!listen.empty()) {
    Status s = daemon::SetListenAddress(listen, &config.value());
    if (!s.ok()) {
      Log("--listen: " + s.message());
      return 2;
    }
  }
  if (!data_dir.empty()) config->data_dir = data_dir;

  auto key = attest::SigningKey::LoadFile(config->key_file);
  if (!key.ok()) {
    Log("signing key: " + key.status().message());
    return 3;
  }
  auto store = storage::SnapshotStore::Open({config->data_dir, key->KeyId()});
  if (!store.ok()) {
    Log(store.status().message());
    return 3;
  }

  const Clock& clock = SystemClock::Instance();
  feeds::ObservationBook book;
  daemon::Publisher publisher(*config, &book, store->get(), *key, clock);
  if (Status s = publisher.Resume(); !s.ok()) {
    Log("data directory " + config->data_dir + ": " + s.message());
    return 3;
  }

  feeds::Poller poller(config->sources, &book, clock);
  daemon::ApiServer api(*config, publisher, **store, key->public_key(), clock,
                        [&poller] { return poller.Health(); });
  auto reserve_runner = daemon::ReserveRunner::Start(*config, clock, &publisher, &api);
  if (!reserve_runner.ok()) {
    Log(reserve_runner.status().message());
    return 3;
  }
  if (Status s = api.Bind(); !s.ok()) {
    Log(s.message());
    return 3;
  }
  shutdown.StartWatcher();
  poller.Start();
  std::thread http([&api] { api.Run(); });

  Log("key " + key->KeyId() + ", data " + config->data_dir + ", next sequence " +
      std::to_string(publisher.next_sequence()));
  Log("listening on http://" + config->listen_host + ":" + std::to_string(api.port()) + "/ (publishing every " +
      std::to_string(config->publish_interval_ms) + " ms)");

  int exit_code = 0;
  uint64_t published = 0;
  const auto interval = std::chrono::milliseconds(config->publish_interval_ms);
  auto next = std::chrono::steady_clock::now() + interval;
  // One round at a time; the stop check happens only between rounds, so SIGTERM never interrupts
  // a round between signing and the synced write.
  while (!shutdown.WaitUntil(next)) {
    next += interval;
    auto result = publisher.PublishRound();
    if (!result.ok()) {
      Log("round failed, stopping: " + result.status().ToString());
      exit_code = 4;
      break;
    }
    ++published;
    const auto& snap = (*result)->signed_snapshot.snapshot;
    if (snap.sequence % 60 == 1 || published == 1) {
      size_t ok = 0;
      for (const Mark& m : snap.marks) ok += m.status == MarkStatus::kOk;
      Log("published snapshot " + std::to_string(snap.sequence) + ": " + std::to_string(ok) + "/" +
          std::to_string(snap.marks.size()) + " marks ok");
    }
    if (rounds != 0 && published >= rounds) break;
    // Never try to catch up on missed rounds with a burst; skip to the next future tick.
    const auto now = std::chrono::steady_clock::now();
    while (next <= now) next += interval;
  }

  api.Stop();
  http.join();
  poller.Stop();
  shutdown.Close();
  Log("stopped after " + std::to_string(published) + " rounds; next sequence " +
      std::to_string(publisher.next_sequence()));
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plumbline: internal error: %s\n", e.what());
    return 70;
  }
}
