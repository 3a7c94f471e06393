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

#include "plumbline/feeds/aggregator.h"
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
  std::vector<feeds::SymbolPolicy> symbols;     // at least one
  std::vector<feeds::SourceConfig> sources;     // at least one
  reserves::ReservesConfig reserves;            // [[reserves]]: proof of reserve (may be empty)
};

// Parses TOML text; `path` is used in messages and for Config::path. `digest` is computed from
// the text bytes.
Result<Config> ParseConfig(std::string_view toml_text, const std::string& path);

// Reads and parses a file. IOError names the file if it cannot be read.
Result<Config> LoadConfig(const std::string& path);

// Parses "HOST:PORT" (IPv4 literal, "localhost", or "[v6]:PORT") into the config.
Status SetListenAddress(std::string_view address, Config* config);

}  // namespace plumbline::daemon
