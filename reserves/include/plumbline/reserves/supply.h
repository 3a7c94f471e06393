// Supply readers: token supply per chain from JSON-RPC providers, with the raw responses kept as
// evidence.
//
// EVM (kind "evm"): every provider's head (eth_getBlockByNumber "latest"); pin = the highest head
// minus `confirmations`; then from every provider, at that pin: eth_getBlockByNumber(pin) (the
// block hash), and, pinned by block hash (EIP-1898 {"blockHash": ...}), eth_call totalSupply()
// (selector 0x18160ddd) and balanceOf(address) (0x70a08231 + the address left-padded to 32 bytes)
// for every excluded address. Values are uint256 words.
// Solana (kind "solana"): getTokenSupply(mint) and getTokenAccountBalance(account) for every
// excluded token account, at commitment "finalized"; amounts are the u64 strings `amount`, never
// `uiAmount`. Solana serves no historic state, so reads cannot share one slot: agreement is on the
// values, and the attestation records the lowest context slot of the agreeing reads.
//
// Agreement (fail closed): at least `min_providers` providers must answer every read, and all
// answers must agree (same block hash, same supply, same balances); otherwise the ChainSupply
// carries `error` (which provider said what) and no numbers. A provider that fails is left out
// and named in the error only if too few remain.
//
// Evidence: every response that contributed (pinned block, supply, balances) is appended to
// `evidence` as (SHA-256 hex, exact body bytes) and referenced from ChainSupply::evidence.
//
// Thread safety: ReadChainSupply is reentrant; it opens its own HTTP connections.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumbline/attest/reserve_attestation.h"
#include "plumbline/clock.h"
#include "plumbline/reserves/config.h"
#include "plumbline/status.h"

namespace plumbline::reserves {

using EvidenceItems = std::vector<std::pair<std::string, std::string>>;  // (sha256 hex, bytes)

// One JSON-RPC call: POSTs {"jsonrpc":"2.0","id":1,"method":..,"params":..} and returns the
// response body bytes of an HTTP 200 (the JSON-RPC error object, if any, is left for the parser).
// Unavailable (connection, non-200) or DeadlineExceeded, naming the provider.
Result<std::string> JsonRpcCall(const ProviderConfig& provider, const std::string& method,
                                const nlohmann::json& params, int64_t timeout_ms);

attest::ChainSupply ReadChainSupply(const ChainConfig& chain, const Clock& clock, EvidenceItems* evidence);

}  // namespace plumbline::reserves
