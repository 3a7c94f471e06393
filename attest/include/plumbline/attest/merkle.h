// RFC 6962 / RFC 9162 Merkle tree hashing and proof verification for the snapshot log.
//
// Hashing (RFC 9162 section 2.1.1), SHA-256 throughout:
//   MTH({})      = SHA-256("")
//   leaf hash    = SHA-256(0x00 || leaf data)
//   node hash    = SHA-256(0x01 || left || right)
// The prefixes keep a leaf from ever being mistaken for an inner node.
//
// Verification needs no storage: an auditor holding a checkpoint (tree size, root) and a proof
// can run everything here offline. Proof generation lives with the stored tree (storage/).
//
// Errors of the verifiers:
//   - InvalidArgument: the question is malformed before any hash is computed (index >= size,
//     size1 > size2, size1 == 0, a proof of the wrong length for the sizes given). A proof of the
//     wrong length is never accepted, even if its hashes happen to chain to the root.
//   - Unauthenticated: well-formed, but the hashes do not lead to the expected root(s).
// Either way the proof must be rejected; only OK means verified.
//
// Thread safety: free functions are pure. Frontier is a value: const members may be called from
// several threads at once, Append() needs exclusive access.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plumbline/status.h"

namespace plumbline::attest::merkle {

using Hash = std::array<uint8_t, 32>;

// Root of the empty tree: SHA-256 of the empty string.
Hash EmptyRoot();
// SHA-256(0x00 || leaf_data).
Hash LeafHash(std::string_view leaf_data);
// SHA-256(0x01 || left || right).
Hash NodeHash(const Hash& left, const Hash& right);

// Standard base64 with padding (44 characters), the form used in checkpoints and proofs.
std::string HashToBase64(const Hash& hash);
// Strict base64 (see Base64Decode in keys.h) of exactly 32 bytes, else InvalidArgument.
Result<Hash> HashFromBase64(std::string_view text);

// Verifies that `leaf_hash` is the leaf at `leaf_index` in the tree of `tree_size` leaves whose
// root is `root` (RFC 9162 section 2.1.3.2). `proof` runs from the leaf's sibling up to a child
// of the root. InvalidArgument if leaf_index >= tree_size or the proof has the wrong length for
// (leaf_index, tree_size); Unauthenticated if it does not lead to `root`.
Status VerifyInclusion(uint64_t leaf_index, uint64_t tree_size, const Hash& leaf_hash,
                       std::span<const Hash> proof, const Hash& root);

// The root that `proof` implies for `leaf_hash` at `leaf_index` in a tree of `tree_size` leaves.
// The result means nothing until compared with a trusted root. InvalidArgument as above.
Result<Hash> RootFromInclusionProof(uint64_t leaf_index, uint64_t tree_size, const Hash& leaf_hash,
                                    std::span<const Hash> proof);

// Verifies that the tree of `size1` leaves with root `root1` is a prefix of the tree of `size2`
// leaves with root `root2` (RFC 9162 section 2.1.4.2).
//   - size1 > size2: InvalidArgument.
//   - size1 == 0: InvalidArgument. A proof from the empty tree is meaningless (every tree extends
//     it, and nothing ties root1 to anything), RFC 9162 requires 0 < size1, and the
//     transparency-dev test vectors reject it. A client with no earlier checkpoint has nothing to
//     check and should not call this.
//   - size1 == size2: valid iff the proof is empty (else InvalidArgument) and root1 == root2
//     (else Unauthenticated).
//   - otherwise: InvalidArgument for a proof of the wrong length (including empty), and
//     Unauthenticated unless the proof reproduces both root1 and root2.
Status VerifyConsistency(uint64_t size1, uint64_t size2, std::span<const Hash> proof,
                         const Hash& root1, const Hash& root2);

// MTH over the given leaf hashes (RFC 9162 section 2.1.1), computed directly from the definition.
// O(n) time and O(log n) stack; meant as the reference for tests and small trees.
Hash RootOf(std::span<const Hash> leaf_hashes);

// The right edge of a growing tree: the roots of its perfect subtrees, one per set bit of the
// size, largest first. O(log n) memory; Append() is amortized O(1) hashes, Root() O(log n).
// Root() after n appends equals RootOf() of those n leaf hashes.
class Frontier {
 public:
  Frontier() = default;
  // Resumes a frontier saved from subtrees() and size() (e.g. an auditor's remembered state).
  // InvalidArgument unless there is exactly one subtree per set bit of `size`.
  static Result<Frontier> FromSubtrees(uint64_t size, std::vector<Hash> subtrees);

  void Append(const Hash& leaf_hash);
  Hash Root() const;  // EmptyRoot() while size() == 0
  uint64_t size() const { return size_; }
  const std::vector<Hash>& subtrees() const { return subtrees_; }

 private:
  std::vector<Hash> subtrees_;  // subtree roots, leftmost (largest) first
  uint64_t size_ = 0;
};

}  // namespace plumbline::attest::merkle
