#include "plumbline/attest/merkle.h"

#include <sodium.h>

#include <bit>
#include <cstring>

#include "plumbline/attest/keys.h"

namespace plumbline::attest::merkle {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

class Sha256 {
 public:
  Sha256() {
    (void)InitCrypto();
    crypto_hash_sha256_init(&state_);
  }
  Sha256& Update(const void* data, size_t size) {
    crypto_hash_sha256_update(&state_, static_cast<const unsigned char*>(data), size);
    return *this;
  }
  Sha256& Update(uint8_t byte) { return Update(&byte, 1); }
  Sha256& Update(const Hash& hash) { return Update(hash.data(), hash.size()); }
  Hash Final() {
    Hash out;
    crypto_hash_sha256_final(&state_, out.data());
    return out;
  }

 private:
  crypto_hash_sha256_state state_;
};

std::string Describe(uint64_t a, const char* relation, uint64_t b) {
  return std::to_string(a) + relation + std::to_string(b);
}

// An inclusion path from leaf `index` to the root of a tree of `size` leaves splits where the
// path stops having a right neighbour: below that level ("inner") siblings may sit on either side;
// above it ("border") the path runs along the right edge of the tree and every sibling is a left
// one. Returns the two lengths; their sum is the proof length. Requires index < size.
struct ProofShape {
  int inner;
  int border;
};
ProofShape InclusionShape(uint64_t index, uint64_t size) {
  const int inner = std::bit_width(index ^ (size - 1));
  const int border = std::popcount(index >> inner);
  return {inner, border};
}

// Hashes `seed` (the node at position `index` on its level) up through `siblings`; bit i of
// `index` says whether the node at level i is a right child (sibling on the left).
Hash ChainInner(Hash seed, std::span<const Hash> siblings, uint64_t index) {
  for (size_t i = 0; i < siblings.size(); ++i) {
    seed = ((index >> i) & 1) ? NodeHash(siblings[i], seed) : NodeHash(seed, siblings[i]);
  }
  return seed;
}

// Like ChainInner, but only left siblings count: the result is the same subtree as it was
// before anything to the right of the path was appended.
Hash ChainInnerLeftOnly(Hash seed, std::span<const Hash> siblings, uint64_t index) {
  for (size_t i = 0; i < siblings.size(); ++i) {
    if ((index >> i) & 1) seed = NodeHash(siblings[i], seed);
  }
  return seed;
}

Hash ChainBorder(Hash seed, std::span<const Hash> left_siblings) {
  for (const Hash& sibling : left_siblings) seed = NodeHash(sibling, seed);
  return seed;
}

Status WrongLength(size_t got, size_t want) {
  return Status::InvalidArgument("proof has " + std::to_string(got) + " hashes; " +
                                 std::to_string(want) + " expected for these tree sizes");
}

Status Mismatch(const char* what, const Hash& got, const Hash& want) {
  return Status::Unauthenticated(std::string(what) + ": proof leads to root " + HashToBase64(got) +
                                 ", expected " + HashToBase64(want));
}

// Largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

}  // namespace

Hash EmptyRoot() { return Sha256().Final(); }

Hash LeafHash(std::string_view leaf_data) {
  return Sha256().Update(kLeafPrefix).Update(leaf_data.data(), leaf_data.size()).Final();
}

Hash NodeHash(const Hash& left, const Hash& right) {
  return Sha256().Update(kNodePrefix).Update(left).Update(right).Final();
}

std::string HashToBase64(const Hash& hash) {
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

Result<Hash> HashFromBase64(std::string_view text) {
  // libsodium 1.0.18 (Debian 12), under Base64Decode, reads every byte >= 0x80 as '/', so the
  // alphabet is checked here first: otherwise one hash would have many accepted spellings.
  if (text.find_first_not_of(kBase64Alphabet) != std::string_view::npos) {
    return Status::InvalidArgument("hash: not strict standard base64 (character outside A-Z a-z 0-9 + / =)");
  }
  Result<std::string> bytes = Base64Decode(text);
  if (!bytes.ok()) return bytes.status().WithContext("hash");
  if (bytes->size() != std::tuple_size_v<Hash>) {
    return Status::InvalidArgument("hash must be 32 bytes, got " + std::to_string(bytes->size()));
  }
  Hash hash;
  std::memcpy(hash.data(), bytes->data(), hash.size());
  return hash;
}

Result<Hash> RootFromInclusionProof(uint64_t leaf_index, uint64_t tree_size, const Hash& leaf_hash,
                                    std::span<const Hash> proof) {
  if (leaf_index >= tree_size) {
    return Status::InvalidArgument("leaf index must be below the tree size: " +
                                   Describe(leaf_index, " >= ", tree_size));
  }
  const ProofShape shape = InclusionShape(leaf_index, tree_size);
  const size_t want = static_cast<size_t>(shape.inner + shape.border);
  if (proof.size() != want) return WrongLength(proof.size(), want);
  const Hash subtree = ChainInner(leaf_hash, proof.first(shape.inner), leaf_index);
  return ChainBorder(subtree, proof.subspan(shape.inner));
}

Status VerifyInclusion(uint64_t leaf_index, uint64_t tree_size, const Hash& leaf_hash,
                       std::span<const Hash> proof, const Hash& root) {
  Result<Hash> computed = RootFromInclusionProof(leaf_index, tree_size, leaf_hash, proof);
  if (!computed.ok()) return computed.status();
  if (*computed != root) return Mismatch("inclusion", *computed, root);
  return Status::Ok();
}

Status VerifyConsistency(uint64_t size1, uint64_t size2, std::span<const Hash> proof,
                         const Hash& root1, const Hash& root2) {
  if (size1 > size2) {
    return Status::InvalidArgument("consistency: the first tree is larger than the second: " +
                                   Describe(size1, " > ", size2));
  }
  if (size1 == 0) {
    return Status::InvalidArgument(
        "consistency: a proof from the empty tree (size 0) is meaningless; there is nothing to check");
  }
  if (size1 == size2) {
    if (!proof.empty()) return WrongLength(proof.size(), 0);
    if (root1 != root2) return Mismatch("consistency (equal sizes)", root1, root2);
    return Status::Ok();
  }

  // The proof is the inclusion path of leaf size1-1 in the larger tree, started not at the leaf
  // but at the largest perfect subtree that ends at leaf size1-1 (height `shift`). When the old
  // tree is itself perfect that subtree is the old tree, whose root the verifier already holds,
  // so the proof omits it; otherwise the proof starts with it.
  ProofShape shape = InclusionShape(size1 - 1, size2);
  const int shift = std::countr_zero(size1);
  shape.inner -= shift;  // shift < inner because size1 < size2
  const bool old_tree_is_perfect = size1 == (uint64_t{1} << shift);
  const size_t seeded = old_tree_is_perfect ? 0 : 1;
  const size_t want = seeded + static_cast<size_t>(shape.inner + shape.border);
  if (proof.size() != want) return WrongLength(proof.size(), want);

  const Hash seed = old_tree_is_perfect ? root1 : proof[0];
  const std::span<const Hash> path = proof.subspan(seeded);
  const std::span<const Hash> inner = path.first(shape.inner);
  const std::span<const Hash> border = path.subspan(shape.inner);
  const uint64_t position = (size1 - 1) >> shift;  // of the seed subtree on its level

  // Old root: the seed grown by the left siblings only (nodes that already existed at size1).
  const Hash old_root = ChainBorder(ChainInnerLeftOnly(seed, inner, position), border);
  if (old_root != root1) return Mismatch("consistency (old tree)", old_root, root1);
  const Hash new_root = ChainBorder(ChainInner(seed, inner, position), border);
  if (new_root != root2) return Mismatch("consistency (new tree)", new_root, root2);
  return Status::Ok();
}

Hash RootOf(std::span<const Hash> leaf_hashes) {
  if (leaf_hashes.empty()) return EmptyRoot();
  if (leaf_hashes.size() == 1) return leaf_hashes[0];
  const uint64_t k = SplitPoint(leaf_hashes.size());
  return NodeHash(RootOf(leaf_hashes.first(k)), RootOf(leaf_hashes.subspan(k)));
}

Result<Frontier> Frontier::FromSubtrees(uint64_t size, std::vector<Hash> subtrees) {
  if (subtrees.size() != static_cast<size_t>(std::popcount(size))) {
    return Status::InvalidArgument("frontier of size " + std::to_string(size) + " needs " +
                                   std::to_string(std::popcount(size)) + " subtree hashes, got " +
                                   std::to_string(subtrees.size()));
  }
  Frontier f;
  f.subtrees_ = std::move(subtrees);
  f.size_ = size;
  return f;
}

void Frontier::Append(const Hash& leaf_hash) {
  // Each trailing one bit of the old size is a perfect subtree of the same height as the one
  // being carried; merge them like a binary increment.
  Hash carry = leaf_hash;
  for (uint64_t s = size_; s & 1; s >>= 1) {
    carry = NodeHash(subtrees_.back(), carry);
    subtrees_.pop_back();
  }
  subtrees_.push_back(carry);
  ++size_;
}

Hash Frontier::Root() const {
  if (subtrees_.empty()) return EmptyRoot();
  Hash root = subtrees_.back();
  for (size_t i = subtrees_.size() - 1; i-- > 0;) root = NodeHash(subtrees_[i], root);
  return root;
}

}  // namespace plumbline::attest::merkle
