// RFC 9162 §2.1 Merkle math: the RFC's proof algorithms against a naive recursive
// implementation of the definitions, on every tree size 1..64 and every pair of sizes, and
// against the published SHA-256 vectors (testdata/rfc6962_sha256.vec names its source).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "services/evidence/merkle.h"

namespace gmpki::evidence {
namespace {

// ---- A test-only SHA-256 (FIPS 180-4 §6.2), so the SHA-256 vectors can be checked without a
// second home for OpenSSL. Checked below against the FIPS 180-2 Appendix B.1 "abc" example.
class Sha256 {
 public:
  void Update(ByteView data) {
    for (std::uint8_t b : data) {
      block_[fill_++] = b;
      ++length_;
      if (fill_ == 64) Compress();
    }
  }
  NodeHash Final() {
    const std::uint64_t bits = length_ * 8;
    const std::uint8_t one = 0x80, zero = 0;
    Update(ByteView(&one, 1));
    while (fill_ != 56) Update(ByteView(&zero, 1));
    for (int s = 56; s >= 0; s -= 8) {
      const auto b = static_cast<std::uint8_t>(bits >> s);
      Update(ByteView(&b, 1));
    }
    NodeHash out;
    for (int i = 0; i < 8; ++i) {
      for (int j = 0; j < 4; ++j) out[4 * i + j] = static_cast<std::uint8_t>(h_[i] >> (24 - 8 * j));
    }
    return out;
  }

 private:
  static std::uint32_t Rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void Compress() {
    static constexpr std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      w[i] = (std::uint32_t{block_[4 * i]} << 24) | (std::uint32_t{block_[4 * i + 1]} << 16) |
             (std::uint32_t{block_[4 * i + 2]} << 8) | block_[4 * i + 3];
    }
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6],
                  h = h_[7];
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 =
          h + (Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 =
          (Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d;
    h_[4] += e; h_[5] += f; h_[6] += g; h_[7] += h;
    fill_ = 0;
  }

  std::uint32_t h_[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::uint8_t block_[64] = {};
  std::size_t fill_ = 0;
  std::uint64_t length_ = 0;
};

NodeHash Sha256Digest(std::span<const ByteView> parts) {
  Sha256 s;
  for (ByteView p : parts) s.Update(p);
  return s.Final();
}

const TreeHasher kSha256Hasher(&Sha256Digest);

std::string Hex(const NodeHash& h) { return HexEncode(ByteView(h.data(), h.size())); }

NodeHash FromHex(const std::string& hex) {
  auto b = HexDecode(hex);
  EXPECT_TRUE(b && b->size() == kNodeHashSize) << hex;
  NodeHash h{};
  if (b && b->size() == kNodeHashSize) std::copy(b->begin(), b->end(), h.begin());
  return h;
}

// ---- The naive implementation: RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 written as recursions
// over copies of the leaf list, exactly as the RFC states them.
using Leaves = std::vector<NodeHash>;  // leaf hashes
Leaves Slice(const Leaves& d, std::size_t b, std::size_t e) {
  return Leaves(d.begin() + static_cast<std::ptrdiff_t>(b),
                d.begin() + static_cast<std::ptrdiff_t>(e));
}
std::size_t K(std::size_t n) {
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
NodeHash NaiveMth(const TreeHasher& h, const Leaves& d) {
  if (d.empty()) return h.EmptyRoot();
  if (d.size() == 1) return d[0];
  const std::size_t k = K(d.size());
  return h.HashChildren(NaiveMth(h, Slice(d, 0, k)), NaiveMth(h, Slice(d, k, d.size())));
}
Leaves NaivePath(const TreeHasher& h, std::size_t m, const Leaves& d) {
  if (d.size() == 1) return {};
  const std::size_t k = K(d.size());
  Leaves out;
  if (m < k) {
    out = NaivePath(h, m, Slice(d, 0, k));
    out.push_back(NaiveMth(h, Slice(d, k, d.size())));
  } else {
    out = NaivePath(h, m - k, Slice(d, k, d.size()));
    out.push_back(NaiveMth(h, Slice(d, 0, k)));
  }
  return out;
}
Leaves NaiveSubproof(const TreeHasher& h, std::size_t m, const Leaves& d, bool b) {
  if (m == d.size()) return b ? Leaves{} : Leaves{NaiveMth(h, d)};
  const std::size_t k = K(d.size());
  Leaves out;
  if (m <= k) {
    out = NaiveSubproof(h, m, Slice(d, 0, k), b);
    out.push_back(NaiveMth(h, Slice(d, k, d.size())));
  } else {
    out = NaiveSubproof(h, m - k, Slice(d, k, d.size()), false);
    out.push_back(NaiveMth(h, Slice(d, 0, k)));
  }
  return out;
}

// Stored complete nodes of a tree, as the log keeps them.
NodeSource InMemoryNodes(const TreeHasher& h, const Leaves& d) {
  return [&h, &d](int level, std::uint64_t index) -> Result<NodeHash> {
    const std::size_t w = std::size_t{1} << level;
    const std::size_t b = index * w;
    if (b + w > d.size()) return Error(ErrorCode::kNotFound, "no such node");
    return NaiveMth(h, Slice(d, b, b + w));
  };
}

Result<Leaves> Resolve(const TreeHasher& h, const NodeSource& nodes,
                       const std::vector<LeafRange>& ranges) {
  Leaves out;
  for (const LeafRange& r : ranges) {
    GMPKI_ASSIGN_OR_RETURN(NodeHash x, RangeHash(h, nodes, r));
    out.push_back(x);
  }
  return out;
}

Leaves RandomLeaves(const TreeHasher& h, std::size_t n, std::mt19937_64& rng) {
  Leaves d;
  for (std::size_t i = 0; i < n; ++i) {
    Bytes entry(rng() % 40);
    for (auto& b : entry) b = static_cast<std::uint8_t>(rng());
    d.push_back(h.HashLeaf(entry));
  }
  return d;
}

// req: AS-06
TEST(Merkle, Sha256TestImplementationMatchesFips180Example) {
  const ByteView abc = AsBytes("abc");
  EXPECT_EQ(Hex(Sha256Digest(std::span<const ByteView>(&abc, 1))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// req: AS-06
TEST(Merkle, ProofsMatchTheNaiveDefinitionsOnEverySizeAndPairUpTo64) {
  std::mt19937_64 rng(9162);
  const TreeHasher& h = Sm3TreeHasher();
  const Leaves all = RandomLeaves(h, 64, rng);
  std::map<std::size_t, NodeHash> roots;
  for (std::size_t n = 1; n <= 64; ++n) {
    const Leaves d = Slice(all, 0, n);
    const NodeSource nodes = InMemoryNodes(h, d);
    const NodeHash root = NaiveMth(h, d);
    roots[n] = root;
    ASSERT_EQ(RootFromLeafHashes(h, d), root) << n;
    auto from_nodes = RootFromNodes(h, nodes, n);
    ASSERT_TRUE(from_nodes) << from_nodes.error().ToString();
    ASSERT_EQ(*from_nodes, root) << n;
    for (std::size_t m = 0; m < n; ++m) {
      auto ranges = InclusionProofRanges(m, n);
      ASSERT_TRUE(ranges);
      auto proof = Resolve(h, nodes, *ranges);
      ASSERT_TRUE(proof) << proof.error().ToString();
      ASSERT_EQ(*proof, NaivePath(h, m, d)) << "PATH(" << m << ", D[" << n << "])";
      ASSERT_TRUE(VerifyInclusion(h, m, n, d[m], *proof, root)) << m << " in " << n;
      // The same proof for any other leaf, size or root fails.
      EXPECT_FALSE(VerifyInclusion(h, m, n, d[(m + 1) % n], *proof, root).ok() && n > 1);
      EXPECT_FALSE(VerifyInclusion(h, m, 2 * n, d[m], *proof, root));
      if (!proof->empty()) {
        Leaves bad = *proof;
        bad[rng() % bad.size()][rng() % kNodeHashSize] ^= 0x10;
        EXPECT_FALSE(VerifyInclusion(h, m, n, d[m], bad, root));
        bad = *proof;
        bad.pop_back();
        EXPECT_FALSE(VerifyInclusion(h, m, n, d[m], bad, root));
      }
      Leaves longer = *proof;
      longer.push_back(root);
      EXPECT_FALSE(VerifyInclusion(h, m, n, d[m], longer, root));
    }
  }
  for (std::size_t n = 1; n <= 64; ++n) {
    const Leaves d = Slice(all, 0, n);
    const NodeSource nodes = InMemoryNodes(h, d);
    for (std::size_t m = 1; m <= n; ++m) {
      auto ranges = ConsistencyProofRanges(m, n);
      ASSERT_TRUE(ranges);
      auto proof = Resolve(h, nodes, *ranges);
      ASSERT_TRUE(proof);
      const Leaves naive = m == n ? Leaves{} : NaiveSubproof(h, m, d, true);
      ASSERT_EQ(*proof, naive) << "PROOF(" << m << ", D[" << n << "])";
      ASSERT_TRUE(VerifyConsistency(h, m, n, *proof, roots[m], roots[n])) << m << " -> " << n;
      if (m < n) {
        EXPECT_FALSE(VerifyConsistency(h, m, n, *proof, roots[n], roots[m]));
        EXPECT_FALSE(VerifyConsistency(h, m, n, {}, roots[m], roots[n]));
        Leaves bad = *proof;
        bad[rng() % bad.size()][rng() % kNodeHashSize] ^= 0x01;
        EXPECT_FALSE(VerifyConsistency(h, m, n, bad, roots[m], roots[n]));
        EXPECT_FALSE(VerifyConsistency(h, m, 2 * n, *proof, roots[m], roots[n]));
      }
    }
    EXPECT_TRUE(VerifyConsistency(h, 0, n, {}, h.EmptyRoot(), roots[n]));
    EXPECT_FALSE(VerifyConsistency(h, n, n - 1, {}, roots[n], roots[n]));
  }
}

// req: AS-06
TEST(Merkle, FrontierEmitsEveryCompleteNodeAndLoadsBack) {
  std::mt19937_64 rng(6962);
  const TreeHasher& h = Sm3TreeHasher();
  const Leaves d = RandomLeaves(h, 100, rng);
  MerkleFrontier f;
  std::size_t emitted = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    std::vector<MerkleFrontier::Node> done;
    f.Append(h, d[i], &done);
    for (const auto& node : done) {
      const std::size_t w = std::size_t{1} << node.level;
      ASSERT_EQ(node.hash, NaiveMth(h, Slice(d, node.index * w, (node.index + 1) * w)));
      ASSERT_EQ((node.index + 1) * w, i + 1) << "a node is emitted by its last leaf";
    }
    emitted += done.size();
    ASSERT_EQ(f.Root(h), NaiveMth(h, Slice(d, 0, i + 1)));
    const Leaves prefix = Slice(d, 0, i + 1);
    auto loaded = MerkleFrontier::Load(InMemoryNodes(h, prefix), i + 1);
    ASSERT_TRUE(loaded);
    ASSERT_EQ(loaded->Root(h), f.Root(h));
  }
  EXPECT_EQ(emitted, 100u / 2 + 100u / 4 + 100u / 8 + 100u / 16 + 100u / 32 + 100u / 64);
}

// req: AS-06
TEST(Merkle, RejectsRangesThatAreNotSubtreesAndOutOfRangeArguments) {
  const TreeHasher& h = Sm3TreeHasher();
  const NodeSource none = [](int, std::uint64_t) -> Result<NodeHash> {
    return Error(ErrorCode::kNotFound, "none");
  };
  EXPECT_EQ(RangeHash(h, none, {1, 3}).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(RangeHash(h, none, {2, 2}).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(RangeHash(h, none, {0, 4}).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(InclusionProofRanges(5, 5).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ConsistencyProofRanges(6, 5).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(ConsistencyProofRanges(0, 5)->empty());
  EXPECT_EQ(RootFromInclusionProof(h, 0, 0, NodeHash{}, {}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(SplitPoint(2), 1u);
  EXPECT_EQ(SplitPoint(8), 4u);
  EXPECT_EQ(SplitPoint(9), 8u);
}

struct Vectors {
  std::vector<Bytes> leaves;
  std::map<std::size_t, NodeHash> roots;
  struct Proof {
    std::uint64_t a, b;
    Leaves hashes;
  };
  std::vector<Proof> inclusion, consistency;
};

Vectors LoadVectors() {
  Vectors v;
  std::ifstream in(std::string(GMPKI_SOURCE_DIR) +
                   "/src/services/evidence/testdata/rfc6962_sha256.vec");
  EXPECT_TRUE(in.good());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    std::istringstream head(line.substr(0, eq)), tail(line.substr(eq + 1));
    std::string kind;
    head >> kind;
    if (kind == "leaf") {
      std::string hex;
      tail >> hex;
      v.leaves.push_back(*HexDecode(hex));
    } else if (kind == "root") {
      std::size_t n;
      std::string hex;
      head >> n;
      tail >> hex;
      v.roots[n] = FromHex(hex);
    } else {
      Vectors::Proof p;
      head >> p.a >> p.b;
      for (std::string hex; tail >> hex;) p.hashes.push_back(FromHex(hex));
      (kind == "inclusion" ? v.inclusion : v.consistency).push_back(p);
    }
  }
  return v;
}

// req: AS-06
TEST(Merkle, Sha256PublishedVectorsRootsInclusionAndConsistency) {
  const Vectors v = LoadVectors();
  ASSERT_EQ(v.leaves.size(), 8u);
  ASSERT_EQ(v.roots.size(), 9u);
  ASSERT_EQ(v.inclusion.size(), 4u);
  ASSERT_EQ(v.consistency.size(), 4u);
  const TreeHasher& h = kSha256Hasher;
  Leaves d;
  for (const Bytes& leaf : v.leaves) d.push_back(h.HashLeaf(leaf));
  for (const auto& [n, root] : v.roots) {
    EXPECT_EQ(Hex(RootFromLeafHashes(h, Slice(d, 0, n))), Hex(root)) << "size " << n;
  }
  const NodeSource nodes = InMemoryNodes(h, d);
  for (const auto& p : v.inclusion) {
    const Leaves prefix = Slice(d, 0, p.b);
    auto proof = Resolve(h, InMemoryNodes(h, prefix), *InclusionProofRanges(p.a, p.b));
    ASSERT_TRUE(proof);
    EXPECT_EQ(*proof, p.hashes) << "inclusion " << p.a << " " << p.b;
    EXPECT_TRUE(VerifyInclusion(h, p.a, p.b, d[p.a], p.hashes, v.roots.at(p.b)));
  }
  for (const auto& p : v.consistency) {
    const Leaves prefix = Slice(d, 0, p.b);
    auto proof = Resolve(h, InMemoryNodes(h, prefix), *ConsistencyProofRanges(p.a, p.b));
    ASSERT_TRUE(proof);
    EXPECT_EQ(*proof, p.hashes) << "consistency " << p.a << " " << p.b;
    EXPECT_TRUE(VerifyConsistency(h, p.a, p.b, p.hashes, v.roots.at(p.a), v.roots.at(p.b)));
    EXPECT_FALSE(VerifyConsistency(h, p.a, p.b, p.hashes, v.roots.at(p.b), v.roots.at(p.a)));
  }
}

}  // namespace
}  // namespace gmpki::evidence
