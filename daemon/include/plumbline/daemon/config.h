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
#include "plumbline/attest/keys.h"
#include "plumbline/feeds/aggregator.h"
#include "plumbline/feeds/calendar.h"
#include "plumbline/feeds/sources.h"
#include "plumbline/reserves/config.h"
#include "plumbline/status.h"

namespace plumbline::daemon {

struct HttpConfig {
  int threads = 8;                   // worker threads serving requests
  int64_t read_timeout_ms = 5000;    // per read on a connection (slow clients are cut off)
  int64_t write_timeout_ms = 5000;
  int64_t idle_timeout_ms = 5000;    // keep-alive wait for the next request
  uint64_t max_body_bytes = 65536;   // larger request bodies get 413
  uint64_t max_header_bytes = 16384; // larger request header sections get 431 (one line > 8 KiB: 400)
};

// HTTPS served directly (OpenSSL through cpp-httplib) when cert_file is set. Paths may start with
// "${CREDENTIALS_DIRECTORY}/" (systemd LoadCredential=), expanded when the config is read.
struct TlsConfig {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key; mode 0600 or 0400 like the signing key
  bool enabled() const { return !cert_file.empty(); }
};

// A witness whose cosignatures (C2SP tlog-cosignature, cosignature/v1) the log accepts on its
// checkpoints: [[witnesses]] name = "...", public_key_file = "witness.pub" (SPKI PEM Ed25519).
struct WitnessConfig {
  std::string name;             // the witness's key name in the cosignature line
  std::string public_key_file;  // read at config load
  attest::PublicKey public_key;
};

// A push publisher ([[publishers]], docs/ingest.md): an Ed25519 key allowed to POST signed
// observation batches to /v1/observations for some symbols. Its observations enter the book under
// source name = `name`, so the aggregator treats it like a polled source with `max_age_ms`.
struct PushPublisherConfig {
  std::string name;                   // unique among publishers and [[sources]] names
  std::string public_key_file;        // SubjectPublicKeyInfo PEM; or
  std::string public_key;             // raw 32-byte key, standard base64 (exactly one of the two)
  std::vector<std::string> symbols;   // symbols it may publish (each listed in [[symbols]])
  int64_t max_age_ms = 10000;         // freshness in the aggregator, and oldest accepted observed_time
  int64_t batches_per_second = 20;    // token bucket refill rate (batches)
  int64_t burst = 40;                 // token bucket size (batches)
};

// [ingest]: limits on POST /v1/observations shared by all publishers.
struct IngestConfig {
  int64_t max_future_skew_ms = 2000;  // observed_time may be at most this far ahead of our clock
  int64_t max_observations = 1000;    // per batch
  // POST /v1/observations/bulk (docs/ingest.md, "Bulk"): one envelope per line.
  int64_t bulk_max_lines = 1024;      // envelopes per request; more is 413
  int64_t bulk_max_bytes = 1 << 20;   // request body; more is 413 (the server's body limit is raised to it)
  int64_t bulk_verify_threads = 2;    // threads verifying one request's signatures (the handler's included)
};

// [stream]: GET /v1/stream (Server-Sent Events, docs/stream.md).
struct StreamConfig {
  int max_subscribers = 256;          // concurrent streams; more get 503 with Retry-After
  int64_t heartbeat_ms = 5000;        // comment line after this much silence (below proxies' read timeouts)
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
  TlsConfig tls;
  std::string admin_token_file;  // bearer token for admin/write endpoints ("" = admin disabled)
  std::string risk_file;  // margin evaluator risk parameters (TOML, docs/margin.md); "" = margin off
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
  std::vector<WitnessConfig> witnesses;         // optional; names unique
  std::vector<PushPublisherConfig> publishers;  // optional [[publishers]]
  IngestConfig ingest;
  StreamConfig stream;
  reserves::ReservesConfig reserves;            // [[reserves]]: proof of reserve (may be empty)
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
