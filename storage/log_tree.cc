#include "log_tree.h"

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <cstdlib>

namespace plumbline::storage::log_tree {
namespace {

// SHA-256 over up to three pieces, with the algorithm fetched once and a context reused per
// thread (OpenSSL 3's one-shot SHA256() fetches the algorithm on every call).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {}
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Hash32 Digest(std::string_view a, std::string_view b = {}, std::string_view c = {}) {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    Hash32 out{};
    unsigned int len = 0;
    // These calls fail only on allocation failure or a broken OpenSSL install; hashing wrong
    // silently is not an option, so stop.
    if (md == nullptr || ctx_ == nullptr || EVP_DigestInit_ex2(ctx_, md, nullptr) != 1 ||
        EVP_DigestUpdate(ctx_, a.data(), a.size()) != 1 || EVP_DigestUpdate(ctx_, b.data(), b.size()) != 1 ||
        EVP_DigestUpdate(ctx_, c.data(), c.size()) != 1 || EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 ||
        len != out.size()) {
      std::abort();
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

Sha256& ThreadHasher() {
  thread_local Sha256 hasher;
  return hasher;
}

std::string_view View(const Hash32& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

}  // namespace

Hash32 EmptyRoot() { return ThreadHasher().Digest({}); }

Hash32 LeafHash(std::string_view leaf_data) {
  return ThreadHasher().Digest(std::string_view("\x00", 1), leaf_data);
}

Hash32 NodeHash(const Hash32& left, const Hash32& right) {
  return ThreadHasher().Digest(std::string_view("\x01", 1), View(left), View(right));
}

std::vector<NodeId> Cover(Range range) {
  std::vector<NodeId> out;
  uint64_t lo = range.lo;
  while (lo < range.hi) {
    int level =
        std::min(lo == 0 ? 64 : std::countr_zero(lo), static_cast<int>(std::bit_width(range.hi - lo)) - 1);
    out.push_back(NodeId{static_cast<uint8_t>(level), lo >> level});
    lo += uint64_t{1} << level;
  }
  return out;
}

Hash32 FoldCover(const Hash32* hashes, size_t count) {
  Hash32 acc = hashes[count - 1];
  for (size_t i = count - 1; i-- > 0;) acc = NodeHash(hashes[i], acc);
  return acc;
}

std::vector<Range> InclusionRanges(uint64_t index, uint64_t size) {
  // PATH(m, D[lo:hi]): split at k, the largest power of two < hi - lo; the sibling range is
  // appended after the path inside the half holding m. Collected top down, returned bottom up.
  std::vector<Range> ranges;
  uint64_t lo = 0, hi = size;
  while (hi - lo > 1) {
    uint64_t k = std::bit_floor(hi - lo - 1);
    if (index < lo + k) {
      ranges.push_back({lo + k, hi});
      hi = lo + k;
    } else {
      ranges.push_back({lo, lo + k});
      lo += k;
    }
  }
  std::reverse(ranges.begin(), ranges.end());
  return ranges;
}

std::vector<Range> ConsistencyRanges(uint64_t size1, uint64_t size2) {
  // SUBPROOF(m, D[lo:hi], b) with m = size1 - lo; collected top down, returned bottom up.
  std::vector<Range> ranges;
  if (size1 == 0 || size1 == size2) return ranges;
  uint64_t lo = 0, hi = size2;
  bool complete_subtree = true;  // b: D[lo:hi] is (so far) the old tree's own subtree
  while (size1 != hi) {
    uint64_t k = std::bit_floor(hi - lo - 1);
    if (size1 - lo <= k) {
      ranges.push_back({lo + k, hi});
      hi = lo + k;
    } else {
      ranges.push_back({lo, lo + k});
      lo += k;
      complete_subtree = false;
    }
  }
  if (!complete_subtree) ranges.push_back({lo, hi});
  std::reverse(ranges.begin(), ranges.end());
  return ranges;
}

}  // namespace plumbline::storage::log_tree
