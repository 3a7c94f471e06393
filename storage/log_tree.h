// Internal to plumbline_storage: RFC 6962 / RFC 9162 Merkle tree arithmetic over stored perfect
// subtrees. Pure functions, no I/O.
//
// Every range the RFC 9162 recursions (MTH, PATH, SUBPROOF) ever hash is [lo, hi) with lo a
// multiple of the largest power of two <= hi - lo: either a perfect subtree or the right edge of
// one. Cover() splits such a range into the perfect subtrees it consists of, left to right, and
// FoldCover() recombines their hashes the way MTH does (right to left), so a range costs at most
// log2(hi - lo) + 1 stored hashes.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "plumbline/storage/snapshot_store.h"

namespace plumbline::storage::log_tree {

// The perfect subtree with leaves [index << level, (index + 1) << level).
struct NodeId {
  uint8_t level = 0;
  uint64_t index = 0;
  bool operator==(const NodeId&) const = default;
};

struct Range {
  uint64_t lo = 0;
  uint64_t hi = 0;  // exclusive
};

Hash32 EmptyRoot();                                        // SHA-256("")
Hash32 LeafHash(std::string_view leaf_data);               // SHA-256(0x00 || data)
Hash32 NodeHash(const Hash32& left, const Hash32& right);  // SHA-256(0x01 || left || right)

// Perfect subtrees covering [lo, hi), left to right (empty for an empty range).
std::vector<NodeId> Cover(Range range);

// MTH of a range from the hashes of its Cover(), in the same order. `hashes` must be non-empty.
Hash32 FoldCover(const Hash32* hashes, size_t count);

// The ranges whose MTH make up PATH(index, D[0:size]), in proof order. Requires index < size.
std::vector<Range> InclusionRanges(uint64_t index, uint64_t size);

// The ranges whose MTH make up PROOF(size1, D[0:size2]), in proof order. Requires
// size1 <= size2; empty when size1 == 0 or size1 == size2.
std::vector<Range> ConsistencyRanges(uint64_t size1, uint64_t size2);

// Appends leaves to the right edge of a tree: the frontier holds the hashes of the perfect
// subtrees covering [0, size) (Cover({0, size})), largest first.
class Frontier {
 public:
  struct Entry {
    NodeId id;
    Hash32 hash;
  };
  Frontier() = default;
  Frontier(uint64_t size, std::vector<Entry> entries) : size_(size), entries_(std::move(entries)) {}

  // Adds leaf `size()` with hash `leaf_hash`; calls emit(NodeId, hash) for the leaf and for every
  // subtree it completes, bottom up.
  template <typename Emit>
  void Push(const Hash32& leaf_hash, Emit&& emit) {
    NodeId id{0, size_};
    Hash32 carry = leaf_hash;
    emit(id, carry);
    while (!entries_.empty() && entries_.back().id.level == id.level) {
      carry = NodeHash(entries_.back().hash, carry);
      entries_.pop_back();
      id = NodeId{static_cast<uint8_t>(id.level + 1), id.index >> 1};
      emit(id, carry);
    }
    entries_.push_back({id, carry});
    ++size_;
  }

  uint64_t size() const { return size_; }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  uint64_t size_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace plumbline::storage::log_tree
