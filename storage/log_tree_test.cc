// The Merkle log of SnapshotStore against an independent, naive reference written directly from
// the recursive definitions of RFC 6962 section 2.1 (MTH, PATH, PROOF / SUBPROOF) over an
// in-memory vector of leaf hashes, and against the RFC 6962 test vectors.
#include <openssl/sha.h>

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "plumbline/storage/snapshot_store.h"
#include "store_test_support.h"

namespace plumbline::storage {
namespace {

using testing::Hex;

// ---- The reference: RFC 6962 2.1, literally --------------------------------------------------

Hash32 Sha256(const std::string& bytes) {
  Hash32 out{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out.data());
  return out;
}

std::string Bytes(const Hash32& h) { return std::string(h.begin(), h.end()); }

Hash32 RefLeaf(const std::string& data) { return Sha256(std::string(1, '\x00') + data); }
Hash32 RefNode(const Hash32& l, const Hash32& r) {
  return Sha256(std::string(1, '\x01') + Bytes(l) + Bytes(r));
}

using Leaves = std::span<const Hash32>;

// The largest power of two smaller than n (n > 1).
size_t SplitPoint(size_t n) {
  size_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

Hash32 MTH(Leaves d) {
  if (d.empty()) return Sha256("");
  if (d.size() == 1) return d[0];
  size_t k = SplitPoint(d.size());
  return RefNode(MTH(d.subspan(0, k)), MTH(d.subspan(k)));
}

std::vector<Hash32> PATH(size_t m, Leaves d) {
  if (d.size() == 1) return {};
  size_t k = SplitPoint(d.size());
  std::vector<Hash32> out;
  if (m < k) {
    out = PATH(m, d.subspan(0, k));
    out.push_back(MTH(d.subspan(k)));
  } else {
    out = PATH(m - k, d.subspan(k));
    out.push_back(MTH(d.subspan(0, k)));
  }
  return out;
}

std::vector<Hash32> SUBPROOF(size_t m, Leaves d, bool b) {
  if (m == d.size()) return b ? std::vector<Hash32>{} : std::vector<Hash32>{MTH(d)};
  size_t k = SplitPoint(d.size());
  std::vector<Hash32> out;
  if (m <= k) {
    out = SUBPROOF(m, d.subspan(0, k), b);
    out.push_back(MTH(d.subspan(k)));
  } else {
    out = SUBPROOF(m - k, d.subspan(k), false);
    out.push_back(MTH(d.subspan(0, k)));
  }
  return out;
}

std::vector<Hash32> PROOF(size_t m, Leaves d) {
  if (m == 0) return {};  // RFC 9162: no proof is needed from the empty tree
  return SUBPROOF(m, d, true);
}

std::vector<std::string> HexAll(const std::vector<Hash32>& hashes) {
  std::vector<std::string> out;
  for (const Hash32& h : hashes) out.push_back(Hex(h));
  return out;
}

// ---- Tests -------------------------------------------------------------------------------------

using LogTreeTest = testing::StoreTest;

std::string LeafData(size_t i) { return "{\"snapshot\":" + std::to_string(i + 1) + "}"; }

// Compares every root, leaf hash, inclusion proof and consistency proof of the store's current
// tree with the reference.
void ExpectMatchesReference(const SnapshotStore& store, const std::vector<Hash32>& leaves) {
  Leaves all(leaves);
  ASSERT_EQ(store.TreeSize(), leaves.size());
  for (size_t n = 0; n <= leaves.size(); ++n) {
    auto root = store.RootHash(n);
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    ASSERT_EQ(Hex(*root), Hex(MTH(all.first(n)))) << "size " << n;
    for (size_t m = 0; m < n; ++m) {
      auto proof = store.InclusionProof(m, n);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      ASSERT_EQ(HexAll(*proof), HexAll(PATH(m, all.first(n)))) << "inclusion of " << m << " in " << n;
    }
    for (size_t m = 0; m <= n; ++m) {
      auto proof = store.ConsistencyProof(m, n);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      ASSERT_EQ(HexAll(*proof), HexAll(PROOF(m, all.first(n)))) << "consistency " << m << " -> " << n;
    }
  }
  for (size_t i = 0; i < leaves.size(); ++i) {
    auto leaf = store.LeafHash(i);
    ASSERT_TRUE(leaf.ok()) << leaf.status().ToString();
    ASSERT_EQ(Hex(*leaf), Hex(leaves[i]));
  }
}

TEST_F(LogTreeTest, EveryRootAndProofUpTo70LeavesMatchesTheReferenceAcrossReopen) {
  constexpr size_t kFirst = 41, kTotal = 70;
  std::vector<Hash32> leaves;
  {
    auto store = MustOpen(Opts(std::string(64, 'a'), /*sync=*/false));
    ASSERT_TRUE(store);
    for (size_t i = 0; i < kFirst; ++i) {
      ASSERT_TRUE(store->Append(i + 1, LeafData(i)).ok());
      leaves.push_back(RefLeaf(LeafData(i)));
    }
    ExpectMatchesReference(*store, leaves);
  }
  auto store = MustOpen(Opts(std::string(64, 'a'), /*sync=*/false));
  ASSERT_TRUE(store);
  ExpectMatchesReference(*store, leaves);  // the same roots and proofs after reopening
  for (size_t i = kFirst; i < kTotal; ++i) {
    ASSERT_TRUE(store->Append(i + 1, LeafData(i)).ok());
    leaves.push_back(RefLeaf(LeafData(i)));
  }
  ExpectMatchesReference(*store, leaves);
  store.reset();
  store = MustOpen(Opts(std::string(64, 'a'), /*sync=*/false));
  ASSERT_TRUE(store);
  ExpectMatchesReference(*store, leaves);
}

// The leaves of the RFC 6962 test vectors (testvectors/rfc6962/testdata, the happy paths; the
// expected hashes below are copied from there, hex instead of base64).
const std::vector<std::string>& RfcLeaves() {
  static const std::vector<std::string> leaves = {
      std::string(),
      std::string("\x00", 1),
      "\x10",
      "\x20\x21",
      "\x30\x31",
      "\x40\x41\x42\x43",
      "\x50\x51\x52\x53\x54\x55\x56\x57",
      "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
  };
  return leaves;
}

TEST_F(LogTreeTest, Rfc6962TestVectors) {
  auto store = MustOpen();
  ASSERT_TRUE(store);
  EXPECT_EQ(Hex(*store->RootHash(0)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  for (size_t i = 0; i < RfcLeaves().size(); ++i) ASSERT_TRUE(store->Append(i + 1, RfcLeaves()[i]).ok());

  EXPECT_EQ(Hex(*store->LeafHash(0)), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  EXPECT_EQ(Hex(*store->RootHash(8)), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  EXPECT_EQ(Hex(*store->RootHash(2)), "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125");
  EXPECT_EQ(Hex(*store->RootHash(3)), "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77");
  EXPECT_EQ(Hex(*store->RootHash(5)), "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4");
  EXPECT_EQ(Hex(*store->RootHash(6)), "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef");
  EXPECT_EQ(Hex(*store->RootHash(7)), "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c");

  EXPECT_EQ(Hex(*store->LeafHash(5)), "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658");
  EXPECT_EQ(HexAll(*store->InclusionProof(5, 8)),
            (std::vector<std::string>{"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                                      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  EXPECT_EQ(HexAll(*store->InclusionProof(0, 8)),
            (std::vector<std::string>{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                                      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  EXPECT_EQ(HexAll(*store->InclusionProof(2, 3)),
            (std::vector<std::string>{"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}));
  EXPECT_EQ(HexAll(*store->InclusionProof(1, 5)),
            (std::vector<std::string>{"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                                      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}));
  EXPECT_TRUE(store->InclusionProof(0, 1)->empty());

  EXPECT_EQ(HexAll(*store->ConsistencyProof(1, 8)),
            (std::vector<std::string>{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                                      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  EXPECT_EQ(HexAll(*store->ConsistencyProof(6, 8)),
            (std::vector<std::string>{"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                                      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  EXPECT_EQ(HexAll(*store->ConsistencyProof(2, 5)),
            (std::vector<std::string>{"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}));
  EXPECT_EQ(HexAll(*store->ConsistencyProof(6, 7)),
            (std::vector<std::string>{"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                                      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                                      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  EXPECT_TRUE(store->ConsistencyProof(1, 1)->empty());
  EXPECT_TRUE(store->ConsistencyProof(0, 8)->empty());
}

TEST_F(LogTreeTest, OutOfRangeRequestsAreInvalidArgument) {
  auto store = MustOpen();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->TreeSize(), 0u);
  EXPECT_EQ(store->RootHash(1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->LeafHash(0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->InclusionProof(0, 0).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(store->ConsistencyProof(0, 0)->empty());

  for (uint64_t seq = 1; seq <= 5; ++seq) ASSERT_TRUE(store->Append(seq, LeafData(seq - 1)).ok());
  EXPECT_EQ(store->TreeSize(), 5u);
  EXPECT_EQ(store->LastSequence(), 5u);
  EXPECT_EQ(store->RootHash(6).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->RootHash(UINT64_MAX).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->LeafHash(5).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->InclusionProof(5, 5).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->InclusionProof(3, 3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->InclusionProof(0, 6).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->InclusionProof(UINT64_MAX, UINT64_MAX).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->ConsistencyProof(3, 2).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->ConsistencyProof(2, 6).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->ConsistencyProof(6, 6).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(store->ConsistencyProof(5, 5)->empty());
  EXPECT_TRUE(store->ConsistencyProof(0, 5)->empty());
}

TEST_F(LogTreeTest, ARefusedAppendStoresNeitherSnapshotNorNodes) {
  auto store = MustOpen();
  ASSERT_TRUE(store);
  for (uint64_t seq = 1; seq <= 7; ++seq) ASSERT_TRUE(store->Append(seq, LeafData(seq - 1)).ok());
  Hash32 root = *store->RootHash(7);
  EXPECT_EQ(store->Append(9, "gap").code(), Code::kFailedPrecondition);
  EXPECT_EQ(store->Append(7, "rewrite").code(), Code::kFailedPrecondition);
  EXPECT_EQ(store->Append(0, "zero").code(), Code::kFailedPrecondition);
  EXPECT_EQ(store->TreeSize(), 7u);
  EXPECT_EQ(store->RootHash(7).value(), root);
  store.reset();
  // Reopening runs the structure checks: leaf count == last sequence, right edge present.
  store = MustOpen();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->TreeSize(), 7u);
  EXPECT_EQ(store->RootHash(7).value(), root);
  EXPECT_EQ(store->Get(8).status().code(), Code::kNotFound);
  ASSERT_TRUE(store->Append(8, LeafData(7)).ok());
  std::vector<Hash32> leaves;
  for (size_t i = 0; i < 8; ++i) leaves.push_back(RefLeaf(LeafData(i)));
  EXPECT_EQ(Hex(*store->RootHash(8)), Hex(MTH(leaves)));
}

TEST_F(LogTreeTest, ProofsAtPowerOfTwoBoundariesOfALargerTree) {
  // 1,100 leaves: levels up to 10, sizes around 512 and 1024 (not every pair; spot checks).
  constexpr size_t kTotal = 1100;
  auto store = MustOpen(Opts(std::string(64, 'a'), /*sync=*/false));
  ASSERT_TRUE(store);
  std::vector<Hash32> leaves;
  for (size_t i = 0; i < kTotal; ++i) {
    ASSERT_TRUE(store->Append(i + 1, LeafData(i)).ok());
    leaves.push_back(RefLeaf(LeafData(i)));
  }
  Leaves all(leaves);
  for (size_t n : {511, 512, 513, 1023, 1024, 1025, 1100}) {
    EXPECT_EQ(Hex(*store->RootHash(n)), Hex(MTH(all.first(n))));
    for (size_t m : {size_t{0}, size_t{1}, n / 3, n / 2, n - 1}) {
      EXPECT_EQ(HexAll(*store->InclusionProof(m, n)), HexAll(PATH(m, all.first(n)))) << m << " " << n;
    }
    for (size_t m : {size_t{1}, size_t{255}, size_t{256}, size_t{257}, n / 2, n - 1, n}) {
      EXPECT_EQ(HexAll(*store->ConsistencyProof(m, n)), HexAll(PROOF(m, all.first(n)))) << m << " " << n;
    }
  }
}

}  // namespace
}  // namespace plumbline::storage
