// Loopback simulators for proof of reserve: an Ethereum JSON-RPC node, a Solana JSON-RPC node
// and a custodian that signs holdings statements. They speak the real wire formats:
//
//   EvmNodeSim (one provider): POST JSON-RPC 2.0 on "/":
//     eth_getBlockByNumber [tag|"0x<n>", false] -> block object {number, hash, parentHash, ...}
//                                                  or null when the block is beyond its head;
//     eth_call [{to, data}, tag|"0x<n>"|{"blockHash": h}] -> "0x" + 64 hex uint256 word, for
//        totalSupply() (0x18160ddd) and balanceOf(address) (0x70a08231...) of its one token;
//        an unknown block hash -> error -32000 "header not found".
//   SolanaNodeSim (one provider): getTokenSupply [mint, {commitment}] and getTokenAccountBalance
//     [account, {commitment}] -> {"context":{"apiVersion":..,"slot":N},"value":{"amount":"..",
//     "decimals":D,"uiAmount":<float>,"uiAmountString":".."}} (uiAmount is there to be ignored).
//
// Faults a test (or the CLI's --fault) can switch on per node: a head lagging N blocks ("older
// block"), block hashes of another fork, a supply off by `supply_offset` (disagreeing provider),
// a JSON-RPC error object for every call, HTTP 500.
//
// Chain state is set by the test (head, supply, balances); supply values are uint256 text, so a
// value beyond 2^64 is one SetSupply("...") away.
//
// Thread safety: all methods may be called from any thread while the servers run.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "plumbline/attest/keys.h"
#include "plumbline/attest/reserve_attestation.h"
#include "plumbline/status.h"
#include "plumbline/uint256.h"

namespace plumbline::sim {

struct NodeFaults {
  uint64_t lag_blocks = 0;       // head (and everything it serves) is this far behind
  bool other_fork = false;       // block hashes differ from the honest chain's
  uint64_t supply_offset = 0;    // added to the supply it reports
  bool rpc_error = false;        // every call answers {"error":{"code":-32603,...}}
  bool http_500 = false;
};

class RpcNodeSim {
 public:
  enum class Kind { kEvm, kSolana };
  // Binds 127.0.0.1:port (0 = ephemeral) and serves.
  static Result<std::unique_ptr<RpcNodeSim>> Start(Kind kind, int port = 0);
  ~RpcNodeSim();
  void Stop();
  int port() const;
  std::string url() const;  // "http://127.0.0.1:<port>/"

  // Chain state (shared semantics for both kinds; `token` is the contract or the mint).
  void SetToken(const std::string& token, uint32_t decimals);
  void SetHead(uint64_t block_or_slot);
  void SetSupply(const UInt256& supply);
  void SetBalance(const std::string& address, const UInt256& amount);
  void SetFaults(const NodeFaults& faults);
  uint64_t requests() const;

  // The honest chain's hash of block n: "0x" + SHA-256("block " + n).
  static std::string BlockHash(uint64_t n, bool other_fork = false);

  struct Impl;

 private:
  explicit RpcNodeSim(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The custodian: signs statements as a submission body for POST /v1/custodian/statements.
// Ed25519 with a key it holds, or ECDSA P-256 with a leaf certificate issued by its own CA.
std::string SignStatementEd25519(const attest::CustodianStatement& s, const attest::SigningKey& key);

class EcdsaCustodian {
 public:
  // A fresh CA (self-signed, P-256) and a leaf certificate valid [not_before, not_after] (Unix
  // seconds), signed by the CA.
  static Result<std::unique_ptr<EcdsaCustodian>> Create(int64_t not_before_unix_seconds,
                                                        int64_t not_after_unix_seconds);
  ~EcdsaCustodian();
  std::string ca_pem() const;
  std::string certificate_pem() const;
  // {"certificate": <leaf PEM>, "envelope": <DSSE, sig = r||s over PAE>}.
  std::string Sign(const attest::CustodianStatement& s) const;
  struct Impl;

 private:
  explicit EcdsaCustodian(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace plumbline::sim
