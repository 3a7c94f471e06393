// plumbline: the daemon. Polls price sources, publishes a signed snapshot every round into
// RocksDB and serves them over HTTP.
//
//   plumbline --config FILE [--listen ADDR:PORT] [--data-dir DIR] [--key-file FILE] [--rounds N]
//   plumbline rotate-key --config FILE --new-key KEYFILE [--data-dir DIR]   (daemon stopped;
//     see docs/log.md "Key rotation"; then point key_file at KEYFILE and start the daemon)
//   plumbline --config FILE --check-config        (validate only: exit 0 or 2)
//
// Signals: SIGTERM/SIGINT stop after the round in flight; SIGHUP re-reads the config (a bad one is
// rejected and the running one kept). Under systemd (Type=notify) it reports READY/STATUS/
// RELOADING/STOPPING and pings the watchdog after each stored round (docs/operations.md).
//
// Exit codes: 0 clean shutdown (SIGTERM/SIGINT, or --rounds reached); 2 bad command line or
// configuration; 3 key, data directory or listen address refused at start-up; 4 a round failed to
// store its snapshot (the daemon stops rather than skip a sequence number).
#include <signal.h>
#include <sys/prctl.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include <CLI/CLI.hpp>

#include "plumbline/attest/keys.h"
#include "plumbline/clock.h"
#include "plumbline/daemon/api_server.h"
#include "plumbline/daemon/auth.h"
#include "plumbline/daemon/config.h"
#include "plumbline/daemon/control.h"
#include "plumbline/daemon/log_signer.h"
#include "plumbline/daemon/log.h"
#include "plumbline/daemon/metrics.h"
#include "plumbline/daemon/ops.h"
#include "plumbline/daemon/ingest.h"
#include "plumbline/daemon/publisher.h"
#include "plumbline/daemon/sd_notify.h"
#include "plumbline/daemon/stream.h"
#include "plumbline/feeds/mark_engine.h"
#include "plumbline/feeds/sources.h"
#include "plumbline/storage/snapshot_store.h"
#include "reserve_runner.h"

namespace {

using namespace plumbline;
using daemon::Log;
using daemon::LogLevel;

// `plumbline rotate-key`: exit 0 done, 2 usage/config, 3 keys or data directory refused.
int RunRotateKey(int argc, char** argv) {
  CLI::App app{"plumbline rotate-key: make a new signing key current (run while the daemon is stopped)"};
  std::string config_path, new_key_path, data_dir;
  app.add_option("--config", config_path, "TOML configuration file (key_file = the current key)")->required();
  app.add_option("--new-key", new_key_path, "PKCS#8 PEM Ed25519 key to rotate to (mode 0600)")->required();
  app.add_option("--data-dir", data_dir, "override the RocksDB data directory");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto config = daemon::LoadConfig(config_path);
  if (!config.ok()) {
    Log(LogLevel::kError, config.status().message());
    return 2;
  }
  if (!data_dir.empty()) config->data_dir = data_dir;
  auto current = attest::SigningKey::LoadFile(config->key_file);
  if (!current.ok()) {
    Log(LogLevel::kError, "current signing key: " + current.status().message());
    return 3;
  }
  auto next = attest::SigningKey::LoadFile(new_key_path);
  if (!next.ok()) {
    Log(LogLevel::kError, "new signing key: " + next.status().message());
    return 3;
  }
  auto announcement = daemon::RotateSigningKey(*config, *current, *next, SystemClock::Instance());
  if (!announcement.ok()) {
    Log(LogLevel::kError, "rotate-key: " + announcement.status().message());
    return 3;
  }
  Log(LogLevel::kNotice, "rotated the signing key of " + config->data_dir + " from " + current->KeyId() + " to " +
                             next->KeyId() + "; set key_file = \"" + new_key_path + "\" in " + config_path +
                             " before starting the daemon");
  std::printf("%s\n", announcement->c_str());
  return 0;
}

int Run(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "rotate-key") return RunRotateKey(argc - 1, argv + 1);
  CLI::App app{"plumbline: signed price snapshots from several sources, stored and served over HTTP"};
  std::string config_path, listen, data_dir, key_file;
  uint64_t rounds = 0;
  app.add_option("--config", config_path, "TOML configuration file")->required();
  app.add_option("--listen", listen, "override the listen address, HOST:PORT (port 0 = any free port)");
  app.add_option("--data-dir", data_dir, "override the RocksDB data directory");
  app.add_option("--key-file", key_file,
                 "override key_file, the signing key (under systemd: %d/signing.key, a LoadCredential= copy)");
  app.add_option("--rounds", rounds, "publish this many rounds, then exit (0 = run until SIGTERM)");
  bool check_config = false;
  app.add_flag("--check-config", check_config,
               "read and check the configuration (as a reload would), print a summary and exit: 0 valid, 2 not");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  // Block SIGTERM/SIGINT/SIGHUP before any thread exists (RocksDB starts its own in Open), so
  // every thread inherits the mask and only the watcher's sigwait ever receives them.
  daemon::DaemonControl control;
  // Reads NOTIFY_SOCKET/WATCHDOG_USEC before any thread could touch the environment.
  daemon::SystemdNotifier notifier;
  // A lost notification is worth one warning, not a failed daemon (systemd's timeouts catch it).
  bool notify_warned = false;
  auto notify = [&notify_warned](Status s) {
    if (!s.ok() && !std::exchange(notify_warned, true)) Log(LogLevel::kWarning, "sd_notify: " + s.message());
  };
  // Keep the signing key out of core dumps and away from ptrace by other users.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  // Command-line overrides apply to the first config and to every reloaded one.
  auto load_config = [&]() -> Result<daemon::Config> {
    auto c = daemon::LoadConfig(config_path);
    if (!c.ok()) return c.status();
    if (!listen.empty()) {
      Status s = daemon::SetListenAddress(listen, &c.value());
      if (!s.ok()) return Status::InvalidArgument("--listen: " + s.message());
    }
    if (!data_dir.empty()) c->data_dir = data_dir;
    if (!key_file.empty()) c->key_file = key_file;
    return c;
  };
  auto config = load_config();
  if (!config.ok()) {
    Log(LogLevel::kError, config.status().message());
    return 2;
  }
  if (check_config) {
    std::printf("config %s OK (sha256 %s): %zu symbols, %zu sources\n", config->path.c_str(), config->digest.c_str(),
                config->symbols.size(), config->sources.size());
    return 0;
  }

  auto key = attest::SigningKey::LoadFile(config->key_file);
  if (!key.ok()) {
    Log(LogLevel::kError, "signing key: " + key.status().message());
    return 3;
  }
  auto store = storage::SnapshotStore::Open({config->data_dir, key->KeyId()});
  if (!store.ok()) {
    Log(LogLevel::kError, store.status().message());
    return 3;
  }
  std::shared_ptr<const daemon::AdminToken> admin_token;
  if (!config->admin_token_file.empty()) {
    auto token = daemon::AdminToken::LoadFile(config->admin_token_file);
    if (!token.ok()) {
      Log(LogLevel::kError, token.status().message());
      return 3;
    }
    admin_token = std::make_shared<const daemon::AdminToken>(std::move(token).value());
  }

  const Clock& clock = SystemClock::Instance();
  feeds::ObservationBook book;
  daemon::Publisher publisher(*config, &book, store->get(), *key, clock);
  if (Status s = publisher.Resume(); !s.ok()) {
    Log(LogLevel::kError, "data directory " + config->data_dir + ": " + s.message());
    return 3;
  }

  // Accepted push batches, synced before they are acknowledged; Create() recovers from it.
  auto journal = daemon::IngestJournal::Open(config->data_dir + "/ingest");
  if (!journal.ok()) {
    Log(LogLevel::kError, journal.status().message());
    return 3;
  }
  auto ingest = daemon::Ingestor::Create(*config, &book, clock, journal->get());
  if (!ingest.ok()) {
    Log(LogLevel::kError, ingest.status().message());
    const auto code = ingest.status().code();
    return code == Code::kCorruption || code == Code::kIOError ? 3 : 2;
  }
  // What the latest stored snapshot used can never be pushed again (replay floor after a restart).
  if (auto latest = publisher.Latest()) (*ingest)->RememberIncluded(latest->signed_snapshot.snapshot.marks);
  daemon::SnapshotStream stream(*config, **store, publisher);

  // The poller is replaced when a reload changes the sources; the observation book stays.
  std::mutex poller_mu;
  auto poller = std::make_unique<feeds::Poller>(config->sources, &book, clock);
  auto source_health = [&poller_mu, &poller] {
    std::lock_guard<std::mutex> lock(poller_mu);
    return poller->Health();
  };

  daemon::Registry registry;
  auto metrics_or = daemon::DaemonMetrics::Create(&registry);
  if (!metrics_or.ok()) {
    Log(LogLevel::kError, metrics_or.status().message());
    return 70;
  }
  daemon::DaemonMetrics& metrics = **metrics_or;
  registry.AddCollector([&] {
    metrics.SetTreeSize((*store)->TreeSize());
    metrics.Sources(source_health(), publisher.config()->sources, clock.NowUnixNanos());
  });

  daemon::ApiServer api(*config, publisher, **store, key->public_key(), clock, source_health,
                        {ingest->get(), &stream});
  daemon::OpsHooks ops;
  ops.registry = &registry;
  ops.metrics = &metrics;
  ops.admin_token = admin_token;
  ops.reload = [&control]() -> Result<std::string> {
    auto outcome = control.RequestReload();
    // The main loop runs it between rounds: at most one round's wait.
    if (outcome.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      return Status::Unavailable("the reload did not run within 60 s");
    }
    return outcome.get();
  };
  api.SetOps(std::move(ops));
  api.AcceptCosignatures(store->get());
  auto reserve_runner = daemon::ReserveRunner::Start(*config, clock, &publisher, &api);
  if (!reserve_runner.ok()) {
    Log(LogLevel::kError, reserve_runner.status().message());
    return 3;
  }
  if (*reserve_runner) {
    if (Status s = (*reserve_runner)->RegisterMetrics(&registry, clock); !s.ok()) {
      Log(LogLevel::kError, s.message());
      return 70;
    }
  }
  if (Status s = api.Bind(); !s.ok()) {
    Log(LogLevel::kError, s.message());
    return 3;
  }
  control.StartWatcher([](int sig) {
    Log(LogLevel::kNotice, sig == SIGHUP ? "received SIGHUP: reloading the configuration before the next round"
                                         : std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                                               ": finishing the round in flight");
  });
  poller->Start();
  std::thread http([&api] { api.Run(); });

  const std::string scheme = config->tls.enabled() ? "https" : "http";
  Log(LogLevel::kInfo, "started", {{"key_id", key->KeyId()}, {"data_dir", config->data_dir},
                                   {"next_sequence", std::to_string(publisher.next_sequence())}});
  Log(LogLevel::kInfo, "listening on " + scheme + "://" + config->listen_host + ":" + std::to_string(api.port()) +
                           "/ (publishing every " + std::to_string(config->publish_interval_ms) + " ms)");
  if (auto wd = notifier.WatchdogInterval();
      wd && std::chrono::milliseconds(2 * config->publish_interval_ms) > *wd) {
    Log(LogLevel::kWarning, "WatchdogSec= is shorter than two publish intervals: systemd may kill a healthy daemon");
  }
  notify(notifier.Ready("serving on port " + std::to_string(api.port()) + ", next sequence " +
                 std::to_string(publisher.next_sequence())));
  notify(notifier.WatchdogPing());

  // A reload runs between rounds on this thread; a bad file changes nothing.
  auto reload = [&]() -> Result<std::string> {
    notify(notifier.Reloading());
    std::shared_ptr<const daemon::Config> running = publisher.config();
    auto next = load_config();
    Status s = next.ok() ? daemon::CheckReloadable(*running, *next) : next.status();
    // The risk file reloads with the config; a bad one rejects the whole reload (old params kept).
    if (s.ok() && !running->risk_file.empty()) {
      if (Status risk = api.ReloadRiskParams(); !risk.ok()) s = risk.WithContext("risk_file " + running->risk_file);
    }
    // Result<T> holds a value or an error, never an OK Status: start from the error or an empty summary.
    Result<std::string> outcome = s.ok() ? Result<std::string>(std::string()) : Result<std::string>(s);
    if (s.ok()) {
      auto fresh = std::make_shared<const daemon::Config>(std::move(next).value());
      if (!daemon::SameSources(running->sources, fresh->sources)) {
        auto replacement = std::make_unique<feeds::Poller>(fresh->sources, &book, clock);
        replacement->Start();
        std::unique_ptr<feeds::Poller> old;
        {
          std::lock_guard<std::mutex> lock(poller_mu);
          old = std::exchange(poller, std::move(replacement));
        }
        old->Stop();
      }
      publisher.SetConfig(fresh);
      outcome = "config " + fresh->path + " (sha256 " + fresh->digest.substr(0, 12) + "): " +
                std::to_string(fresh->symbols.size()) + " symbols, " + std::to_string(fresh->sources.size()) +
                " sources, publishing every " + std::to_string(fresh->publish_interval_ms) + " ms from the next round";
      Log(LogLevel::kNotice, "reloaded " + *outcome);
    } else {
      Log(LogLevel::kError, "reload rejected, keeping the running configuration: " + s.message());
    }
    metrics.ConfigReload(s.ok());
    notify(notifier.Ready(s.ok() ? "reloaded: " + *outcome : "reload rejected: " + s.message()));
    return outcome;
  };

  int exit_code = 0;
  uint64_t published = 0;
  auto next = std::chrono::steady_clock::now() + std::chrono::milliseconds(config->publish_interval_ms);
  // One round at a time; stops and reloads are handled only between rounds, so SIGTERM never
  // interrupts a round between signing and the synced write.
  for (;;) {
    const auto event = control.WaitUntil(next);
    if (event == daemon::DaemonControl::Event::kStop) break;
    if (event == daemon::DaemonControl::Event::kReload) {
      control.CompleteReloads(reload());
      continue;  // the round keeps its time
    }
    const auto interval = std::chrono::milliseconds(publisher.config()->publish_interval_ms);
    next += interval;
    const auto round_start = std::chrono::steady_clock::now();
    auto result = publisher.PublishRound();
    const auto round_time = std::chrono::steady_clock::now() - round_start;
    if (!result.ok()) {
      metrics.RoundFailed(round_time);
      Log(LogLevel::kError, "round failed, stopping: " + result.status().ToString());
      exit_code = 4;
      break;
    }
    stream.Notify(*result);  // stored (synced) above: now subscribers may see it
    ++published;
    const auto& snap = (*result)->signed_snapshot.snapshot;
    metrics.RoundPublished(round_time, snap.sequence, snap.time_unix_nanos, snap.marks);
    size_t ok = 0;
    for (const Mark& m : snap.marks) ok += m.status == MarkStatus::kOk;
    const std::string marks_ok = std::to_string(ok) + "/" + std::to_string(snap.marks.size());
    // A ping proves a round was signed and stored: a stalled round stops the pings and systemd's
    // watchdog restarts the daemon.
    notify(notifier.WatchdogPing());
    notify(notifier.SetStatus("snapshot " + std::to_string(snap.sequence) + ": " + marks_ok + " marks ok"));
    if (snap.sequence % 60 == 1 || published == 1) {
      Log(LogLevel::kInfo, "published snapshot", {{"sequence", std::to_string(snap.sequence)}, {"marks_ok", marks_ok}});
    }
    if (rounds != 0 && published >= rounds) break;
    // Never try to catch up on missed rounds with a burst; skip to the next future tick.
    const auto now = std::chrono::steady_clock::now();
    while (next <= now) next += interval;
  }

  notify(notifier.Stopping());
  control.RequestStop();
  control.CompleteReloads(Status::Unavailable("the daemon is shutting down"));
  api.Stop();
  http.join();
  {
    std::lock_guard<std::mutex> lock(poller_mu);
    poller->Stop();
  }
  control.Close();
  Log(LogLevel::kInfo, "stopped after " + std::to_string(published) + " rounds; next sequence " +
                           std::to_string(publisher.next_sequence()));
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  plumbline::feeds::KeepRoundMemory();  // publish rounds reuse freed heap instead of re-faulting it
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plumbline: internal error: %s\n", e.what());
    return 70;
  }
}
