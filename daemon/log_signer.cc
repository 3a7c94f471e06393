#include "plumbline/daemon/log_signer.h"

#include "plumbline/attest/audit.h"
#include "plumbline/attest/merkle.h"
#include "plumbline/attest/note.h"

namespace plumbline::daemon {

namespace merkle = attest::merkle;

Result<std::string> SignLatestCheckpoint(storage::SnapshotStore* store, const attest::SigningKey& key,
                                         std::string_view origin) {
  const uint64_t size = store->TreeSize();
  if (size == 0) return std::string();
  const std::optional<uint64_t> latest_size = store->LatestCheckpointSize();
  if (latest_size == size) return store->LatestCheckpoint();
  if (latest_size && *latest_size > size) {
    return Status::Corruption("the latest checkpoint (size " + std::to_string(*latest_size) +
                              ") is beyond the stored tree (size " + std::to_string(size) + ")");
  }
  auto root = store->RootHash(size);
  if (!root.ok()) return root.status();

  // The new checkpoint must extend the latest signed one: same origin, its root is our tree's
  // root at its size, and a consistency proof from it verifies. Any failure means the stored
  // data changed under us; refuse rather than sign a second history.
  if (latest_size) {
    auto stored = store->LatestCheckpoint();
    if (!stored.ok()) return stored.status();
    auto parsed = attest::note::Parse(*stored);
    auto previous = parsed.ok() ? attest::note::ParseCheckpoint(parsed->text) : Result<attest::note::Checkpoint>(parsed.status());
    if (!previous.ok()) {
      return Status::Corruption("the latest stored checkpoint does not parse: " + previous.status().message());
    }
    if (previous->origin != origin || previous->size != *latest_size) {
      return Status::Corruption("the latest stored checkpoint names origin \"" + previous->origin + "\" and size " +
                                std::to_string(previous->size) + ", expected \"" + std::string(origin) +
                                "\" and " + std::to_string(*latest_size) +
                                " (was the configured origin changed? it must not change for a log)");
    }
    auto proof = store->ConsistencyProof(*latest_size, size);
    if (!proof.ok()) return proof.status();
    if (Status s = merkle::VerifyConsistency(*latest_size, size, *proof, previous->root, *root); !s.ok()) {
      return Status::Corruption("the stored tree of size " + std::to_string(size) +
                                " is not consistent with the signed checkpoint of size " +
                                std::to_string(*latest_size) + ": " + s.message() + "; refusing to sign");
    }
  }

  attest::note::Checkpoint checkpoint{std::string(origin), size, *root, {}};
  attest::note::Note note;
  note.text = attest::note::FormatCheckpoint(checkpoint);
  note.signatures.push_back(attest::note::SignEd25519(note.text, origin, key));
  std::string signed_note = attest::note::Format(note);
  PLUMBLINE_RETURN_IF_ERROR(store->PutCheckpoint(size, *root, signed_note));
  return signed_note;
}

Result<std::string> RotateSigningKey(const Config& config, const attest::SigningKey& current,
                                     const attest::SigningKey& next, const Clock& clock) {
  if (current.KeyId() == next.KeyId()) return Status::InvalidArgument("the new key is the current key");
  auto store = storage::SnapshotStore::Open({config.data_dir, current.KeyId()});
  if (!store.ok()) return store.status();
  auto closing = SignLatestCheckpoint(store->get(), current, config.origin);
  if (!closing.ok()) return closing.status();
  auto history = (*store)->KeyHistory();
  if (!history.ok()) return history.status();
  const uint64_t size = (*store)->TreeSize();
  auto root = (*store)->RootHash(size);
  if (!root.ok()) return root.status();
  attest::audit::KeyAnnouncement a;
  a.origin = config.origin;
  a.rotation = history->size() + 1;
  a.previous_key = current.public_key();
  a.new_key = next.public_key();
  a.tree_size = size;
  a.root = *root;
  a.time_unix_nanos = clock.NowUnixNanos();
  auto envelope = attest::audit::SignKeyAnnouncement(a, current);
  if (!envelope.ok()) return envelope.status();
  PLUMBLINE_RETURN_IF_ERROR((*store)->RotateKey(next.KeyId(), *envelope));
  return envelope;
}

}  // namespace plumbline::daemon
