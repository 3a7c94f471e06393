// plumbline-replay: re-runs the aggregation of every round in an observation log and compares the
// marks, byte for byte, with the signed snapshots (docs/oracle.md, "Replay").
//
//   plumbline-replay --config FILE --observations LOG (--data-dir DIR | --server URL)
//
// --data-dir reads a stopped daemon's RocksDB directory (or a copy); --server fetches
// GET URL/v1/snapshots/N from a running daemon. Exit codes: 0 every stored round identical;
// 1 some round differs (the first difference is printed); 2 bad command line, config or log;
// 3 the snapshots could not be read.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <httplib.h>

#include "plumbline/daemon/config.h"
#include "plumbline/daemon/replay.h"
#include "plumbline/storage/snapshot_store.h"

int main(int argc, char** argv) {
  using namespace plumbline;
  CLI::App app{"plumbline-replay: re-run logged rounds and compare with the signed snapshots"};
  std::string config_path, log_path, data_dir, server;
  app.add_option("--config", config_path, "the daemon's TOML configuration (same bytes it ran with)")->required();
  app.add_option("--observations", log_path, "observation log (config key observation_log)")->required();
  auto* dir_opt = app.add_option("--data-dir", data_dir, "RocksDB data directory of a stopped daemon (or a copy)");
  auto* server_opt = app.add_option("--server", server, "base URL of a running daemon, e.g. http://127.0.0.1:8420");
  dir_opt->excludes(server_opt);
  CLI11_PARSE(app, argc, argv);
  if (data_dir.empty() && server.empty()) {
    std::fprintf(stderr, "plumbline-replay: give --data-dir or --server\n");
    return 2;
  }
  try {
    auto config = daemon::LoadConfig(config_path);
    if (!config.ok()) {
      std::fprintf(stderr, "plumbline-replay: %s\n", config.status().message().c_str());
      return 2;
    }
    auto log = feeds::LoadObservationLog(log_path);
    if (!log.ok()) {
      std::fprintf(stderr, "plumbline-replay: %s\n", log.status().message().c_str());
      return 2;
    }
    std::unique_ptr<storage::SnapshotStore> store;
    std::unique_ptr<httplib::Client> client;
    daemon::EnvelopeFetcher fetch;
    if (!data_dir.empty()) {
      auto opened = storage::SnapshotStore::Open({data_dir, ""});
      if (!opened.ok()) {
        std::fprintf(stderr, "plumbline-replay: %s\n", opened.status().message().c_str());
        return 3;
      }
      store = std::move(opened).value();
      fetch = [&](uint64_t seq) -> Result<std::string> {
        if (!store->LastSequence() || seq > *store->LastSequence()) return Status::NotFound("no snapshot " + std::to_string(seq));
        return store->Get(seq);
      };
    } else {
      client = std::make_unique<httplib::Client>(server);
      client->set_connection_timeout(std::chrono::seconds(5));
      client->set_read_timeout(std::chrono::seconds(10));
      fetch = [&](uint64_t seq) -> Result<std::string> {
        auto res = client->Get("/v1/snapshots/" + std::to_string(seq));
        if (!res) return Status::Unavailable("GET " + server + "/v1/snapshots/" + std::to_string(seq) + " failed");
        if (res->status == 404) return Status::NotFound("no snapshot " + std::to_string(seq));
        if (res->status != 200) return Status::Unavailable("GET /v1/snapshots/" + std::to_string(seq) + ": HTTP " + std::to_string(res->status));
        return res->body;
      };
    }
    auto report = daemon::Replay(*config, *log, fetch);
    if (!report.ok()) {
      std::fprintf(stderr, "plumbline-replay: %s\n", report.status().ToString().c_str());
      return report.status().code() == Code::kInvalidArgument ? 2 : 3;
    }
    std::printf("replayed %llu rounds: %llu identical, %llu differ, %llu not stored\n",
                static_cast<unsigned long long>(report->rounds), static_cast<unsigned long long>(report->identical),
                static_cast<unsigned long long>(report->differing), static_cast<unsigned long long>(report->not_stored));
    if (report->differing > 0) {
      std::printf("first difference: snapshot %llu: %s\n",
                  static_cast<unsigned long long>(report->first_differing_sequence), report->first_difference.c_str());
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plumbline-replay: internal error: %s\n", e.what());
    return 70;
  }
}
