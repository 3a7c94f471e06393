// attest: the auditor's command-line tool. Verifies Plumbline DSSE envelopes and snapshot chains
// with nothing but a public key; verifies offline log bundles and audits a running log
// (docs/log.md); also makes and inspects Ed25519 signing keys.
//
// Exit codes (also printed by --help):
//   0  verified (or the command succeeded)
//   1  verification failed: signature, payload type, canonical form, key id, chain link,
//      sequence, or a malformed envelope / payload
//   2  usage error: bad arguments, unusable key file, refusing to overwrite a key
//   3  input unavailable: file unreadable, network error, HTTP status other than 200
// Errors go to stderr as "attest: <what failed>: <why>".
#include <cstdint>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "plumbline/attest/snapshot.h"
#include "log_cli.h"
#include "verify.h"

namespace {

constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  verified\n"
    "  1  verification failed (signature, payload type, canonical form, key id, chain link,\n"
    "     sequence, malformed envelope)\n"
    "  2  usage error (bad arguments, unusable key file, key file already exists)\n"
    "  3  input unavailable (file unreadable, network error, HTTP non-200)\n";

int Main(int argc, char** argv) {
  namespace cli = plumbline::attest::cli;
  CLI::App app{"attest: verify Plumbline signed snapshots and manage Ed25519 keys", "attest"};
  app.footer(kExitCodesHelp);
  app.require_subcommand(1);

  std::string prefix;
  auto* keygen = app.add_subcommand("keygen", "Create PREFIX.key (PKCS#8, mode 0600) and "
                                              "PREFIX.pub (SPKI PEM); print key_id=<hex>");
  keygen->add_option("--out", prefix, "Path prefix of the new key files")->required();

  std::string private_key;
  auto* pubkey = app.add_subcommand("pubkey", "Print the SPKI PEM public key of a private key");
  pubkey->add_option("--key", private_key, "PKCS#8 PEM Ed25519 private key")->required();

  std::string source, pub_path;
  std::string type(plumbline::attest::kSnapshotPayloadType);
  auto* verify = app.add_subcommand(
      "verify", "Verify one DSSE envelope; prints "
                "'OK snapshot seq=<n> time=<ns> key_id=<hex> payload_sha256=<hex>'");
  verify->add_option("SOURCE", source, "Envelope file, '-' for stdin, or http(s):// URL")
      ->required();
  verify->add_option("--key", pub_path, "SPKI PEM Ed25519 public key")->required();
  verify->add_option("--type", type, "Expected payloadType")->capture_default_str();

  std::string base_url;
  uint64_t from = 0, to = 0;
  auto* chain = app.add_subcommand(
      "verify-chain", "Fetch BASEURL/v1/snapshots/{n} for n in FROM..TO, verify each and the "
                      "previous_hash links; one line per snapshot and a summary");
  chain->add_option("BASEURL", base_url, "Daemon base URL, e.g. http://127.0.0.1:8080")
      ->required();
  chain->add_option("--from", from, "First sequence (>= 1)")->required();
  chain->add_option("--to", to, "Last sequence (>= FROM)")->required();
  chain->add_option("--key", pub_path, "SPKI PEM Ed25519 public key")->required();

  std::string bundle_path, key_history, origin;
  auto* verify_bundle = app.add_subcommand(
      "verify-bundle", "Verify an offline bundle (GET /v1/snapshots/{seq}/bundle, c2sp.org/tlog-proof) "
                       "with no network: checkpoint signature, inclusion proof, snapshot signature");
  verify_bundle->add_option("FILE", bundle_path, "Bundle file, or '-' for stdin")->required();
  verify_bundle->add_option("--key", pub_path, "SPKI PEM public key of the log (pinned)")->required();
  verify_bundle->add_option("--key-history", key_history,
                            "Saved GET /v1/keys/history body, for bundles signed by a later key");
  verify_bundle->add_option("--origin", origin, "Expected log origin (default: the bundle's own)");

  plumbline::attest::cli::AuditOptions audit_options;
  auto* audit = app.add_subcommand(
      "audit", "Check a running log against the state remembered in DIR: checkpoint signature, "
               "consistency with the remembered checkpoint, every new snapshot's signature, chain "
               "link and inclusion; remember the new state; optionally cosign as a witness");
  audit->add_option("URL", audit_options.base_url, "Daemon base URL, e.g. http://127.0.0.1:8420")->required();
  audit->add_option("--key", audit_options.pub_path, "SPKI PEM public key of the log (pinned)")->required();
  audit->add_option("--state", audit_options.state_dir, "Directory of the remembered state")->required();
  audit->add_option("--witness-key", audit_options.witness_key, "PKCS#8 key to cosign the checkpoint with");
  audit->add_option("--witness-name", audit_options.witness_name, "The witness's key name");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "attest: usage: " << e.what() << " (try --help)\n";
    return cli::kExitUsage;
  }

  if (keygen->parsed()) return cli::RunKeygen(prefix, std::cout, std::cerr);
  if (pubkey->parsed()) return cli::RunPubkey(private_key, std::cout, std::cerr);
  if (verify->parsed()) return cli::RunVerify(source, pub_path, type, std::cout, std::cerr);
  if (chain->parsed()) return cli::RunVerifyChain(base_url, from, to, pub_path, std::cout, std::cerr);
  if (verify_bundle->parsed()) {
    return cli::RunVerifyBundle(bundle_path, pub_path, key_history, origin, std::cout, std::cerr);
  }
  if (audit->parsed()) return cli::RunAudit(audit_options, plumbline::SystemClock::Instance(), std::cout, std::cerr);
  return cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "attest: internal error: " << e.what() << "\n";
    return 1;
  }
}
