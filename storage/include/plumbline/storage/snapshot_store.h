// SnapshotStore: signed snapshots in RocksDB, by sequence number, and the RFC 6962 / RFC 9162
// Merkle log over them, with the log's checkpoints, witness cosignatures and the key history.
//
// Durability: Append() returns only after a synced write (WriteOptions::sync = true, unless
// StoreOptions::sync_writes is false), and callers publish a snapshot (serve it, count it) only
// after Append() succeeded, so nothing that was ever served can be lost in a crash. The same holds
// for checkpoints, cosignatures and key rotations: each is one synced, atomic WriteBatch.
//
// The log: snapshot `sequence` is leaf `sequence - 1`; the leaf data are the exact envelope bytes
// stored; leaf hash = SHA-256(0x00 || envelope), node hash = SHA-256(0x01 || left || right). The
// store keeps the hash of every complete (perfect) subtree, written by Append() in the same
// WriteBatch as the snapshot (after a crash either the snapshot and its nodes are there or
// neither). Roots of any size and inclusion / consistency proofs (RFC 9162 2.1.3 / 2.1.4) are
// composed from at most ~2*log2(n) stored subtree hashes, read in one MultiGet: O(log n) reads at
// any size; no leaf is ever rehashed (bench/log_bench.cc: ~80 µs per proof, ~9 µs per latest root at
// 10 million leaves on 2 vCPU).
//
// Ownership: a data directory belongs to one signing key at a time (meta/key_id). The first Open()
// records the key id; RotateKey() replaces it and appends an announcement to the key history.
// Open() with a non-empty StoreOptions::key_id other than the current key fails with
// FailedPrecondition ("rotated out" if it is an earlier key of this directory). Open() with an
// empty key_id skips the check; the caller then compares CurrentKeyId() itself.
//
// Integrity at Open(): RocksDB runs with paranoid_checks and WAL recovery mode
// kAbsoluteConsistency (a synced WAL record that fails its checksum stops the start; it is never
// silently truncated). Open() then runs DB::VerifyChecksum(), which reads every SST file in full:
// one sequential read of the whole directory per start (about 230 bytes per 200-byte snapshot;
// measured 0.45 s for 10 million snapshots, 2.3 GB, from the page cache on 2 vCPU; from a cold
// disk it is bounded by the disk's read rate, e.g. ~5 s at 500 MB/s). Then it checks the
// structure: the log's tree size equals the last sequence, the right-edge subtree hashes exist, the
// last leaf hash matches the last stored envelope, and the root of the latest checkpoint's size
// equals the root recorded with that checkpoint. Any failure is Corruption with a message saying
// what is wrong and that the directory must be restored from a backup; a failed Open() does not
// modify the stored data.
//
// Layout (column family "default"; u64 values are 8 bytes big-endian):
//   "meta/format"                       -> "plumbline-snapshots-v2"
//   "meta/key_id"                       -> current signing key id
//   "snap/" + u64 seq                   -> canonical DSSE envelope JSON (seq >= 1)
//   "node/" + u8 level + u64 index      -> 32-byte hash of the perfect subtree covering leaves
//                                          [index << level, (index + 1) << level); level 0 = leaves
//   "ckpt/" + u64 tree_size             -> 32-byte root || signed note
//   "cosig/" + u64 tree_size + name     -> witness signature line
//   "keyhist/" + u64 n                  -> announcement record of the n-th rotation (n >= 1)
//   "keyid/" + key_id                   -> u64 n: the key became current at rotation n (0 = initial)
// A directory of format "plumbline-snapshots-v1" (snapshots only) is upgraded in place by Open():
// the log nodes are computed from the stored snapshots (one pass, O(n)), and the format is set to
// v2 in the last synced batch; an interrupted upgrade is redone at the next Open().
//
// Thread safety: all methods may be called concurrently. Writes (Append, PutCheckpoint,
// PutCosignature, RotateKey) are serialized internally; Append calls must come in sequence order.
// Readers never see a tree size whose nodes are not yet stored.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plumbline/status.h"

namespace plumbline::storage {

using Hash32 = std::array<uint8_t, 32>;

struct StoreOptions {
  std::string path;  // data directory; created if missing (only when key_id is non-empty)
  // The signing key this directory belongs to. A new directory must be bound to a key: Open() of
  // a fresh directory with an empty key_id is InvalidArgument (and creates nothing). On an
  // existing directory a non-empty key_id must equal the current key (FailedPrecondition
  // otherwise, saying so if the key was rotated out); an empty key_id skips this check.
  std::string key_id;
  // true: every write is synced (fdatasync) before it returns; required for a daemon. false
  // (benchmarks and bulk tests only): writes go to the WAL without sync, so a machine crash can
  // lose the latest writes, and kAbsoluteConsistency may then refuse the torn WAL tail at Open()
  // (Corruption). A process crash alone loses nothing.
  bool sync_writes = true;
};

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;

  // Opens or creates the store at options.path; see the file comment for the checks made.
  // Errors: InvalidArgument (fresh directory without key_id), FailedPrecondition (another key,
  // another format, foreign data), Corruption (checksums or log structure; restore from backup),
  // IOError.
  static Result<std::unique_ptr<SnapshotStore>> Open(const StoreOptions& options);

  // ---- Snapshots -------------------------------------------------------------------------------

  // Stores `envelope_json` as snapshot `sequence`, which must be LastSequence()+1 (1 when empty);
  // otherwise FailedPrecondition. The leaf hash and every subtree completed by this leaf are
  // written in the same synced WriteBatch. IOError if the write fails (nothing is stored then).
  virtual Status Append(uint64_t sequence, std::string_view envelope_json) = 0;

  // NotFound if no such sequence.
  virtual Result<std::string> Get(uint64_t sequence) const = 0;

  // Highest stored sequence, or nullopt when empty.
  virtual std::optional<uint64_t> LastSequence() const = 0;

  // ---- The Merkle log --------------------------------------------------------------------------

  // Number of leaves == LastSequence().value_or(0).
  virtual uint64_t TreeSize() const = 0;

  // MTH of the first `tree_size` leaves; SHA-256("") for 0. InvalidArgument if
  // tree_size > TreeSize(). Corruption if a stored subtree hash is missing or malformed.
  virtual Result<Hash32> RootHash(uint64_t tree_size) const = 0;

  // Hash of leaf `leaf_index` (snapshot leaf_index + 1). InvalidArgument if
  // leaf_index >= TreeSize().
  virtual Result<Hash32> LeafHash(uint64_t leaf_index) const = 0;

  // PATH(leaf_index, D[0:tree_size]) in RFC 9162 2.1.3.1 order (the sibling nearest the leaf
  // first). InvalidArgument if leaf_index >= tree_size or tree_size > TreeSize().
  virtual Result<std::vector<Hash32>> InclusionProof(uint64_t leaf_index, uint64_t tree_size) const = 0;

  // PROOF(size1, D[0:size2]) per RFC 9162 2.1.4.1. Empty when size1 == 0 or size1 == size2.
  // InvalidArgument if size1 > size2 or size2 > TreeSize().
  virtual Result<std::vector<Hash32>> ConsistencyProof(uint64_t size1, uint64_t size2) const = 0;

  // ---- Checkpoints -----------------------------------------------------------------------------
  // The log's signed notes (C2SP tlog-checkpoint), one per tree size, never overwritten, stored
  // synced together with the root they commit to. The store does not parse the note.

  // Stores `signed_note` as the checkpoint of `tree_size` with root `root`. FailedPrecondition if
  // tree_size > TreeSize(), if root != RootHash(tree_size), if tree_size is below the latest
  // stored checkpoint's size, or if a different note is already stored for that size. Storing the
  // same bytes again for an already stored size is OK and changes nothing (idempotent retry).
  // InvalidArgument if signed_note is empty.
  virtual Status PutCheckpoint(uint64_t tree_size, const Hash32& root, std::string_view signed_note) = 0;

  // The note with the largest tree size. NotFound when none.
  virtual Result<std::string> LatestCheckpoint() const = 0;

  // NotFound if no checkpoint was stored for that size.
  virtual Result<std::string> CheckpointAt(uint64_t tree_size) const = 0;

  // Tree size of LatestCheckpoint(), nullopt when none.
  virtual std::optional<uint64_t> LatestCheckpointSize() const = 0;

  // ---- Witness cosignatures --------------------------------------------------------------------

  // Stores (synced) `signature_line` (verbatim; C2SP tlog-cosignature) of witness `witness_name`
  // on the checkpoint of `tree_size`, replacing that witness's earlier line for the same size.
  // NotFound if no checkpoint at that size. InvalidArgument if witness_name is empty or contains
  // a newline, or signature_line is empty.
  virtual Status PutCosignature(uint64_t tree_size, std::string_view witness_name,
                                std::string_view signature_line) = 0;

  // (witness_name, signature_line) pairs on the checkpoint of `tree_size`, sorted by name
  // (bytewise); empty if none. NotFound if no checkpoint at that size.
  virtual Result<std::vector<std::pair<std::string, std::string>>> Cosignatures(uint64_t tree_size) const = 0;

  // ---- Key history -----------------------------------------------------------------------------

  // The key id meta/key_id names now.
  virtual std::string CurrentKeyId() const = 0;

  // One synced batch: appends `announcement` to the key history and makes `new_key_id` the
  // current key. InvalidArgument if either is empty; FailedPrecondition if new_key_id is already
  // in the history (the initial key and every rotated-in key are; a key is never reused).
  virtual Status RotateKey(std::string_view new_key_id, std::string_view announcement) = 0;

  // The announcement records, oldest first (empty before the first rotation).
  virtual Result<std::vector<std::string>> KeyHistory() const = 0;
};

}  // namespace plumbline::storage
