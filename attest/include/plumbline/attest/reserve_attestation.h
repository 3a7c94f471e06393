// Reserve attestations: the proof-of-reserve part of a snapshot (member "reserves"), the custodian
// statement format, the JSON-RPC response shapes they are derived from, and the one computation
// that turns inputs into a ratio and a status. The daemon (reserves/) and the auditor CLI
// (`attest reserves`) both call ComputeReserve, so a re-derivation is the same arithmetic applied
// to the numbers the auditor re-read from the raw evidence. See docs/reserves.md.
//
// Units: token amounts are raw integer base units (UInt256; never a chain's "uiAmount"); token
// quantities = base units / 10^decimals, exact Decimals; shares are Decimals with at most
// kShareScale fractional digits. Times are Unix nanoseconds UTC (decimal strings in JSON).
//
// Rounding (conservative): required shares are rounded UP to kShareScale digits, the ratio DOWN
// to kRatioScale digits.
//
// Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumbline/attest/dsse.h"
#include "plumbline/decimal.h"
#include "plumbline/multiplier.h"
#include "plumbline/reserve_status.h"
#include "plumbline/status.h"
#include "plumbline/uint256.h"

namespace plumbline::attest {

inline constexpr std::string_view kCustodianStatementPayloadType =
    "application/vnd.plumbline.custodian-statement.v1+json";
inline constexpr int kShareScale = 9;  // fractional digits of share counts (custodians hold fractions)
inline constexpr int kRatioScale = 8;

// Defined in common so that margin/ and the daemon use the same type (plumbline/reserve_status.h).
using ::plumbline::ParseReserveStatus;
using ::plumbline::ReserveStatus;
using ::plumbline::ReserveStatusName;

// ---- custodian statements --------------------------------------------------------------------

// The signed payload (RFC 8785 canonical JSON):
//   {"account": "...", "as_of": "<unix ns>", "custodian_id": "...", "in_transit_shares": "<dec>",
//    "isin": "US88160R1014", "sequence": <integer >= 1, < 2^53>, "settled_shares": "<dec>"}
// Share counts are non-negative canonical decimal strings with at most kShareScale fractional
// digits ("1000", "12.5"); negative, exponent or non-canonical forms are refused.
struct CustodianStatement {
  std::string custodian_id;
  std::string account;
  std::string isin;        // 12 characters: 2 letters, 9 alphanumerics, 1 digit
  Decimal settled_shares;
  Decimal in_transit_shares;
  int64_t as_of_unix_nanos = 0;
  uint64_t sequence = 0;
};
Result<std::string> CustodianStatementPayload(const CustodianStatement& s);  // canonical bytes
// Strict: canonical JSON, exactly these members, domains as above. InvalidArgument names the field.
Result<CustodianStatement> ParseCustodianStatementPayload(std::string_view payload);

// What POST /v1/custodian/statements accepts (and what is stored as evidence): either a DSSE
// envelope {"payloadType","payload","signatures":[{"keyid","sig"}]} signed with Ed25519, or
// {"certificate": "<PEM X.509 certificate of the signer>", "envelope": <that envelope>} signed with
// ECDSA P-256 / SHA-256. Every signature is 64 bytes: Ed25519, or ECDSA as r||s (32 bytes each,
// big-endian; the IEEE P1363 form JWS ES256 uses), so both go through ParseEnvelope unchanged.
struct CustodianSubmission {
  Envelope envelope;
  std::string certificate_pem;  // empty for Ed25519
};
Result<CustodianSubmission> ParseCustodianSubmission(std::string_view body);

// ---- JSON-RPC responses ----------------------------------------------------------------------

// {"jsonrpc":"2.0","id":..,"result":"0x<hex>"} of eth_call -> the uint256 word. Unavailable
// "rpc error <code>: <message>" for an error object; InvalidArgument for any other shape.
Result<UInt256> ParseEthCallResponse(std::string_view body);
struct EthBlock {
  uint64_t number = 0;
  std::string hash;  // "0x" + 64 lowercase hex
};
// eth_getBlockByNumber: NotFound when "result" is null (the node does not have that block).
Result<EthBlock> ParseEthBlockResponse(std::string_view body);
struct SolanaAmount {
  uint64_t slot = 0;
  UInt256 amount;     // from value.amount (u64 decimal string); value.uiAmount is ignored
  uint32_t decimals = 0;
};
// getTokenSupply / getTokenAccountBalance: {"result":{"context":{"slot":N},"value":{"amount":"..",
// "decimals":D,...}}}. OutOfRange for an amount beyond u64.
Result<SolanaAmount> ParseSolanaAmountResponse(std::string_view body);

// ---- the attestation -------------------------------------------------------------------------

// One raw response kept as evidence: SHA-256 (lowercase hex) of the exact response body bytes.
struct ReserveEvidence {
  std::string provider;
  std::string kind;     // evm: "block", "total_supply", "balance"; solana: "token_supply", "balance"
  std::string address;  // the excluded address for "balance", else empty
  std::string sha256;
};

struct ExcludedAmount {
  std::string address;
  std::string label;  // "treasury", "bridge", ... (from config)
  UInt256 amount;
};

struct ChainSupply {
  std::string chain;  // configured name ("ethereum", "solana", ...)
  std::string kind;   // "evm" or "solana"
  std::string token;  // ERC-20 contract address or SPL mint
  uint32_t decimals = 0;
  std::string error;  // non-empty: supply unknown on this chain (why); numbers absent
  std::optional<uint64_t> block_number;  // evm: the pinned block
  std::string block_hash;                // evm
  std::optional<uint64_t> slot;          // solana: lowest context slot of the agreeing reads
  int64_t read_unix_nanos = 0;
  std::optional<UInt256> gross;
  std::vector<ExcludedAmount> excluded;  // in config order
  std::optional<UInt256> circulating;    // filled by ComputeReserve
  std::vector<ReserveEvidence> evidence;
};

struct CustodianHolding {
  std::string custodian_id;
  std::string account;
  uint64_t sequence = 0;
  int64_t as_of_unix_nanos = 0;
  Decimal settled_shares;
  Decimal in_transit_shares;
  std::string statement_sha256;  // SHA-256 of the stored submission bytes (evidence)
};

struct ReserveAttestation {
  // Inputs and policy.
  std::string asset;
  std::string isin;
  Multiplier multiplier;     // in force at checked time
  Decimal tolerance;         // fully_backed iff ratio >= 1 - tolerance
  int64_t max_supply_age_ms = 0;
  int64_t max_statement_age_ms = 0;
  int64_t checked_unix_nanos = 0;  // when the status was evaluated (freshness is against this)
  std::vector<ChainSupply> chains;
  std::optional<CustodianHolding> custodian;
  // Outputs of ComputeReserve.
  std::optional<Decimal> circulating_tokens;  // sum over chains, exact
  std::optional<Decimal> required_shares;     // rounded up to kShareScale
  std::optional<Decimal> ratio;               // settled / required, rounded down; only when
                                              // fully_backed or under_backed with required > 0
  ReserveStatus status = ReserveStatus::kUnknown;
  std::vector<std::string> reasons;           // why the status is not fully_backed (or notes)
};

// Fills circulating (per chain), circulating_tokens, required_shares, ratio, status and reasons
// from the inputs. Fail closed: a chain with an error or a missing statement gives `unknown`;
// a supply read older than max_supply_age_ms or a statement as-of older than
// max_statement_age_ms (relative to checked_unix_nanos) gives `stale`; in both cases ratio is
// absent. Excluded amounts larger than the gross supply make the chain unknown (underflow).
void ComputeReserve(ReserveAttestation* a);

// JSON of one attestation (what docs/reserves.md documents) and its strict parse.
Result<nlohmann::json> ReserveAttestationJson(const ReserveAttestation& a);
Result<ReserveAttestation> ParseReserveAttestation(const nlohmann::json& j, const std::string& where);

// The snapshot member: an array sorted by asset, no repeats.
Result<nlohmann::json> ReservesJson(const std::vector<ReserveAttestation>& reserves);
Result<std::vector<ReserveAttestation>> ParseReserves(const nlohmann::json& j);

// Auditor check: recomputes `a` with ComputeReserve and compares every output; then, when
// `fetch` is given (sha256 -> raw bytes), re-reads every evidence item, checks its hash and that
// the numbers parsed from it (block number and hash, gross supply, excluded balances, statement
// shares) are the ones in the attestation. Returns one line per discrepancy (empty = verified).
using EvidenceFetcher = std::function<Result<std::string>(const std::string& sha256)>;
std::vector<std::string> CheckReserveAttestation(const ReserveAttestation& a, const EvidenceFetcher& fetch);

}  // namespace plumbline::attest
