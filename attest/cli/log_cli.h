// The `attest` commands for the append-only log (docs/log.md): offline bundle verification and
// the incremental audit of a running log. Same conventions as verify.h: each returns the exit
// code, results go to `out`, errors to `err` as "attest: <what failed>: <why>".
#pragma once

#include <iosfwd>
#include <string>

#include "plumbline/clock.h"

namespace plumbline::attest::cli {

// attest verify-bundle FILE --key PUB [--key-history FILE] [--origin ORIGIN]
// Verifies a c2sp.org/tlog-proof bundle (GET /v1/snapshots/{seq}/bundle) with no network: the
// checkpoint signature, the inclusion proof and the snapshot's signature. `key_history_path`
// (optional) is a saved GET /v1/keys/history body, needed when the bundle was signed by a key
// rotated in after PUB. Prints "OK bundle seq=... tree_size=... root=... key_id=...
// payload_sha256=...". Exit 0, 1 (verification failed or malformed bundle), 2 (usage, key),
// 3 (file unreadable).
int RunVerifyBundle(const std::string& path, const std::string& pub_path, const std::string& key_history_path,
                    const std::string& origin, std::ostream& out, std::ostream& err);

struct AuditOptions {
  std::string base_url;        // http(s)://host:port of the daemon
  std::string pub_path;        // pinned log key (SPKI PEM)
  std::string state_dir;       // remembered state (DIR/state.json), created if missing
  std::string witness_key;     // optional: PKCS#8 key to cosign the checkpoint with
  std::string witness_name;    // required with witness_key
};

// attest audit URL --key PUB --state DIR [--witness-key K --witness-name N]
// Fetches the key history and the latest checkpoint, verifies the checkpoint's signature, checks
// it is consistent with the checkpoint remembered in DIR (RFC 9162 consistency proof; same root
// for the same size; never a smaller tree), then fetches and verifies every new snapshot
// (signature under the key valid for its sequence and time, sequence, origin, chain link) and
// checks that all snapshots hash to the checkpoint's root (inclusion). Only then is the new state
// written (atomically). With a witness key it then cosigns the checkpoint (cosignature/v1,
// timestamp from `clock`) and POSTs it to /v1/log/cosignatures.
// An inconsistent log prints "INCONSISTENT" on stdout and stderr, saves the two checkpoints and
// the proof in DIR/evidence-<time>/, leaves the state unchanged and returns 1.
// Exit 0 ok, 1 verification failed / inconsistent, 2 usage, 3 network or file errors.
int RunAudit(const AuditOptions& options, const Clock& clock, std::ostream& out, std::ostream& err);

}  // namespace plumbline::attest::cli
