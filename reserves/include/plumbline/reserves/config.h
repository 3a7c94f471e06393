// Proof-of-reserve configuration values (parsed from the daemon's `[[reserves]]` tables by
// daemon/reserve_config.cc; see docs/configuration.md and docs/reserves.md).
//
// Thread safety: plain immutable values once built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plumbline/attest/keys.h"
#include "plumbline/decimal.h"
#include "plumbline/multiplier.h"

namespace plumbline::reserves {

// One JSON-RPC endpoint. url: "http://host:port/path" (loopback in tests and the demo).
struct ProviderConfig {
  std::string name;
  std::string url;
};

// An address whose balance is not circulating: issuer treasury/inventory, bridge lock.
struct ExcludedAddress {
  std::string address;  // evm: 0x + 40 hex; solana: the token account (base58)
  std::string label;    // "treasury", "bridge", ...
};

struct ChainConfig {
  std::string name;     // "ethereum", "solana", "arbitrum", ...
  std::string kind;     // "evm" or "solana"
  std::string token;    // evm: ERC-20 contract (0x + 40 hex); solana: mint (base58)
  uint32_t decimals = 0;  // token decimals (<= 30); solana responses must agree
  std::vector<ProviderConfig> providers;  // at least min_providers
  std::vector<ExcludedAddress> excluded;
  uint32_t min_providers = 2;   // providers that must answer, and all answers must agree
  uint64_t confirmations = 12;  // evm: pin = highest provider head - confirmations
  int64_t timeout_ms = 2000;    // per RPC request
};

// The custodian's pinned identity: exactly one of ed25519_key / ca_pem.
struct CustodianConfig {
  std::string id;       // must equal the statement's custodian_id
  std::string account;  // must equal the statement's account
  std::optional<attest::PublicKey> ed25519_key;  // Ed25519 statements
  std::string ca_pem;   // ECDSA P-256 statements: the pinned CA certificate(s), PEM
};

struct AssetConfig {
  std::string asset;   // "TSLAx"
  std::string isin;    // the underlying's ISIN, "US88160R1014"
  std::vector<ChainConfig> chains;
  MultiplierSchedule multiplier;
  Decimal tolerance;                       // fully_backed iff ratio >= 1 - tolerance
  int64_t max_supply_age_ms = 120'000;     // a reconciliation older than this is stale
  int64_t max_statement_age_ms = 86'400'000;  // a statement as-of older than this is stale
  CustodianConfig custodian;
};

struct ReservesConfig {
  std::vector<AssetConfig> assets;
  int64_t interval_ms = 30'000;  // reserves round period
  uint32_t parallelism = 4;      // chains read at once
  std::string data_dir;          // reserve store; empty = <daemon data_dir>/reserves
  // Evidence last stored longer ago than this is pruned (what the current attestations cite and
  // each custodian stream's latest statement are always kept); 0 = keep forever.
  int64_t evidence_retention_ms = 0;
};

}  // namespace plumbline::reserves
