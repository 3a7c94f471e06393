// The daemon's side of the append-only log: signing checkpoints and rotating the signing key.
//
// Checkpoint rule (the one place the daemon signs a checkpoint): only the root of the tree as it
// is stored, synced, right now, and only after checking that this tree extends the latest stored
// checkpoint (its root is the stored tree's root at that size, and an RFC 9162 consistency proof
// from it to the new size verifies). The signed note is stored (synced) by PutCheckpoint before
// anyone is shown it. Since the stored tree only ever grows by synced appends, and Ed25519 is
// deterministic, a crash anywhere (before or after signing, before or after storing) can at worst
// leave a snapshot without a checkpoint, which the next start signs; two inconsistent
// checkpoints can never be signed.
//
// Thread safety: call from the publishing thread (or at start-up before it runs).
#pragma once

#include <string>
#include <string_view>

#include "plumbline/attest/keys.h"
#include "plumbline/clock.h"
#include "plumbline/daemon/config.h"
#include "plumbline/status.h"
#include "plumbline/storage/snapshot_store.h"

namespace plumbline::daemon {

// Signs and stores the checkpoint of store->TreeSize() (C2SP tlog-checkpoint as a signed note,
// key name = origin) unless it is already stored; returns the stored note ("" for an empty log).
// Corruption if the stored tree does not extend the latest stored checkpoint or that checkpoint
// does not parse; IOError if storing fails.
Result<std::string> SignLatestCheckpoint(storage::SnapshotStore* store, const attest::SigningKey& key,
                                         std::string_view origin);

// `plumbline rotate-key`: with the daemon stopped, makes `next` the signing key of the data
// directory config.data_dir, which must belong to `current`. First signs the checkpoint of the
// current tree with `current` (closing its window with a checkpoint), then stores (synced, with
// SnapshotStore::RotateKey) a key announcement (attest/audit.h) signed by `current` naming `next`,
// the tree size and root, and clock.NowUnixNanos() as the new key's start. Returns the
// announcement envelope. FailedPrecondition if the directory is in use, belongs to another key, or
// `next` was used before.
Result<std::string> RotateSigningKey(const Config& config, const attest::SigningKey& current,
                                     const attest::SigningKey& next, const Clock& clock);

}  // namespace plumbline::daemon
