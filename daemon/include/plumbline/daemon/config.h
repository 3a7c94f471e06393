// Daemon configuration: one TOML file (see docs/configuration.md and deploy/demo/plumbline.toml).
//
// Every key is checked: a missing required key, a key of the wrong type, an out-of-range value or
// an unknown key (usually a typo) fails with InvalidArgument whose message names the file, the
// key path ("sources[2].max_age_ms") and what was expected. Relative paths (data_dir, key_file)
// are resolved against the daemon's working directory.
//
// Thread safety: a Config is an immutable value once loaded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <memory>

#include "plumbline/clock.h"
#include "plumbline/feeds/aggregator.h"
#include "plumbline/feeds/calendar.h"
#include "plumbline/feeds/sources.h"
#include "plumbline/status.h"

namespace plumbline::daemon {

struct HttpConfig {
  int threads = 8;                   // worker threads serving requests
  int64_t read_timeout_ms = 5000;    // per read on a connection (slow clients are cut off)
  int64_t write_timeout_ms = 5000;
  int64_t idle_timeout_ms = 5000;    // keep-alive wait for the next request
  uint64_t max_body_bytes = 65536;   // larger request bodies get 413
};

struct Config {
  std::string path;                 // the file it was read from ("" if parsed from text)
  std::string digest;               // SHA-256 hex of the file bytes: signed into every snapshot
  std::string origin = "plumbline.local/demo";  // names this deployment's log in documents
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8420;
  std::string data_dir = "var/plumbline";       // RocksDB directory
  std::string key_file;                         // PKCS#8 PEM Ed25519 key, mode 0600 (required)
  int64_t publish_interval_ms = 1000;
  HttpConfig http;
  std::vector<feeds::SymbolPolicy> symbols;     // at least one
  std::vector<feeds::SourceConfig> sources;     // at least one
  // Equity calendar (docs/oracle.md): required when a symbol is equity or token; loaded and
  // checked at config load, path relative to the working directory.
  std::string calendar_file;
  std::shared_ptr<const feeds::EquityCalendar> calendar;
  // Observation log for replay (plumbline-replay): every round's inputs appended here. Empty = off.
  std::string observation_log;
  // Run-time kill switch: a text file of symbols (one per line, '#' comments) read every round;
  // each listed symbol is published as `halted` until it is removed. Empty = off.
  std::string halt_file;
};

// Parses TOML text; `path` is used in messages and for Config::path. `digest` is computed from
// the text bytes. `clock` judges staged multiplier activations (one in the past is refused).
Result<Config> ParseConfig(std::string_view toml_text, const std::string& path,
                           const Clock& clock = SystemClock::Instance());

// Reads and parses a file. IOError names the file if it cannot be read.
Result<Config> LoadConfig(const std::string& path);

// Parses "HOST:PORT" (IPv4 literal, "localhost", or "[v6]:PORT") into the config.
Status SetListenAddress(std::string_view address, Config* config);

}  // namespace plumbline::daemon
