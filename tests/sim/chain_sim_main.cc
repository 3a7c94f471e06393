// plumbline-chain-sim: loopback Ethereum and Solana JSON-RPC nodes for the demo, and a custodian
// that signs statements.
//
//   plumbline-chain-sim serve --evm-port 18545 --evm-port 18546 --solana-port 18899 --solana-port 18900
//       --evm-token 0x... --solana-mint MINT --supply 1000000000000000000000 --solana-supply 5000000000
//       [--evm-balance 0xADDR=AMOUNT] [--solana-balance ACCOUNT=AMOUNT] [--fault N:disagree|lag|error|fork]
//     serves until SIGTERM/SIGINT; heads advance one block per second.
//   plumbline-chain-sim sign-statement --key custodian.key --custodian ID --account ACC --isin ISIN
//       --settled 1000 [--in-transit 0] --sequence N [--as-of UNIX_NS]
//     prints the submission body for POST /v1/custodian/statements.
#include <csignal>
#include <cstdio>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "chain_sim.h"
#include "plumbline/clock.h"

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

int Fail(const std::string& m) {
  std::fprintf(stderr, "chain-sim: %s\n", m.c_str());
  return 2;
}

bool SplitAssign(const std::string& s, std::string* key, plumbline::UInt256* value) {
  const size_t eq = s.find('=');
  if (eq == std::string::npos) return false;
  auto v = plumbline::UInt256::ParseDecimal(s.substr(eq + 1));
  if (!v.ok()) return false;
  *key = s.substr(0, eq);
  *value = *v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using plumbline::sim::RpcNodeSim;
  CLI::App app{"Loopback Ethereum / Solana JSON-RPC nodes and a signing custodian"};
  app.require_subcommand(1);

  auto* serve = app.add_subcommand("serve", "serve JSON-RPC nodes");
  std::vector<int> evm_ports, solana_ports;
  std::string evm_token = "0x00000000000000000000000000000000000000aa", mint = "SimMint1111111111111111111111111111111111111";
  std::string supply = "1000000000000000000000", solana_supply = "0";
  uint32_t evm_decimals = 18, solana_decimals = 9;
  std::vector<std::string> evm_balances, solana_balances, faults;
  serve->add_option("--evm-port", evm_ports, "an EVM node port (repeat)");
  serve->add_option("--solana-port", solana_ports, "a Solana node port (repeat)");
  serve->add_option("--evm-token", evm_token, "ERC-20 contract address");
  serve->add_option("--evm-decimals", evm_decimals, "ERC-20 decimals");
  serve->add_option("--solana-mint", mint, "SPL mint");
  serve->add_option("--solana-decimals", solana_decimals, "SPL decimals");
  serve->add_option("--supply", supply, "EVM totalSupply (base units)");
  serve->add_option("--solana-supply", solana_supply, "SPL supply (base units)");
  serve->add_option("--evm-balance", evm_balances, "ADDRESS=AMOUNT (repeat)");
  serve->add_option("--solana-balance", solana_balances, "ACCOUNT=AMOUNT (repeat)");
  serve->add_option("--fault", faults, "PORT:disagree|lag|error|fork (repeat)");

  auto* sign = app.add_subcommand("sign-statement", "print a signed custodian statement");
  std::string key_file, custodian = "sim-custodian", account = "ACC-1", isin, settled = "0", in_transit = "0";
  uint64_t sequence = 1;
  int64_t as_of = 0;
  sign->add_option("--key", key_file, "Ed25519 PKCS#8 key file (0600)")->required();
  sign->add_option("--custodian", custodian, "custodian id");
  sign->add_option("--account", account, "account");
  sign->add_option("--isin", isin, "ISIN")->required();
  sign->add_option("--settled", settled, "settled shares");
  sign->add_option("--in-transit", in_transit, "in-transit shares");
  sign->add_option("--sequence", sequence, "sequence (increasing)");
  sign->add_option("--as-of", as_of, "as-of Unix ns (default now)");
  CLI11_PARSE(app, argc, argv);

  if (*sign) {
    auto key = plumbline::attest::SigningKey::LoadFile(key_file);
    if (!key.ok()) return Fail(key.status().ToString());
    auto s = plumbline::Decimal::Parse(settled);
    auto t = plumbline::Decimal::Parse(in_transit);
    if (!s.ok() || !t.ok()) return Fail("--settled/--in-transit: not decimals");
    plumbline::attest::CustodianStatement st{custodian, account, isin, *s, *t,
                                             as_of ? as_of : plumbline::SystemClock::Instance().NowUnixNanos(),
                                             sequence};
    std::printf("%s\n", plumbline::sim::SignStatementEd25519(st, *key).c_str());
    return 0;
  }

  std::vector<std::unique_ptr<RpcNodeSim>> nodes;
  auto evm_supply = plumbline::UInt256::ParseDecimal(supply);
  auto sol_supply = plumbline::UInt256::ParseDecimal(solana_supply);
  if (!evm_supply.ok() || !sol_supply.ok()) return Fail("--supply: not an unsigned integer");
  for (int pass = 0; pass < 2; ++pass) {
    const bool evm = pass == 0;
    for (int port : evm ? evm_ports : solana_ports) {
      auto node = RpcNodeSim::Start(evm ? RpcNodeSim::Kind::kEvm : RpcNodeSim::Kind::kSolana, port);
      if (!node.ok()) return Fail(node.status().ToString());
      (*node)->SetToken(evm ? evm_token : mint, evm ? evm_decimals : solana_decimals);
      (*node)->SetSupply(evm ? *evm_supply : *sol_supply);
      for (const auto& b : evm ? evm_balances : solana_balances) {
        std::string k;
        plumbline::UInt256 v;
        if (!SplitAssign(b, &k, &v)) return Fail("balance \"" + b + "\": expected ADDRESS=AMOUNT");
        (*node)->SetBalance(k, v);
      }
      for (const auto& f : faults) {
        if (f.rfind(std::to_string(port) + ":", 0) != 0) continue;
        const std::string what = f.substr(f.find(':') + 1);
        plumbline::sim::NodeFaults nf;
        if (what == "disagree") nf.supply_offset = 1;
        else if (what == "lag") nf.lag_blocks = 100;
        else if (what == "error") nf.rpc_error = true;
        else if (what == "fork") nf.other_fork = true;
        else return Fail("--fault " + f + ": expected disagree|lag|error|fork");
        (*node)->SetFaults(nf);
      }
      std::fprintf(stderr, "chain-sim: %s node on %s\n", evm ? "evm" : "solana", (*node)->url().c_str());
      nodes.push_back(std::move(*node));
    }
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  uint64_t head = 1000;
  while (!g_stop) {
    for (auto& n : nodes) n->SetHead(head);
    ++head;
    for (int i = 0; i < 10 && !g_stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 0;
}
