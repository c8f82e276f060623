#include "services/evidence/merkle.h"

#include <bit>
#include <string>

#include "crypto/sm3.h"

namespace gmpki::evidence {
namespace {

constexpr std::uint8_t kLeafPrefix = 0x00;  // RFC 9162 §2.1.1
constexpr std::uint8_t kNodePrefix = 0x01;

NodeHash Sm3Digest(std::span<const ByteView> parts) {
  crypto::Sm3Hasher hasher;
  for (ByteView p : parts) hasher.Update(p);
  return hasher.Final();
}

ByteView View(const NodeHash& h) { return ByteView(h.data(), h.size()); }

// Largest power of two <= n, n >= 1.
std::uint64_t FloorPow2(std::uint64_t n) { return std::bit_floor(n); }

// PATH(m, D[begin:end]) of RFC 9162 §2.1.3.1, appended to `out` in proof order.
void PathRanges(std::uint64_t m, std::uint64_t begin, std::uint64_t end,
                std::vector<LeafRange>* out) {
  const std::uint64_t n = end - begin;
  if (n <= 1) return;  // PATH(0, {d(0)}) = {}
  const std::uint64_t k = SplitPoint(n);
  if (m < k) {
    PathRanges(m, begin, begin + k, out);  // PATH(m, D[0:k]) : MTH(D[k:n])
    out->push_back({begin + k, end});
  } else {
    PathRanges(m - k, begin + k, end, out);  // PATH(m - k, D[k:n]) : MTH(D[0:k])
    out->push_back({begin, begin + k});
  }
}

// SUBPROOF(m, D[begin:end], b) of RFC 9162 §2.1.4.1.
void SubproofRanges(std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool b,
                    std::vector<LeafRange>* out) {
  const std::uint64_t n = end - begin;
  if (m == n) {
    // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}.
    if (!b) out->push_back({begin, end});
    return;
  }
  const std::uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubproofRanges(m, begin, begin + k, b, out);  // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
    out->push_back({begin + k, end});
  } else {
    // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
    SubproofRanges(m - k, begin + k, end, false, out);
    out->push_back({begin, begin + k});
  }
}

Error ProofMismatch(const std::string& what) {
  return Error(ErrorCode::kIntegrityFailure, what);
}

}  // namespace

NodeHash TreeHasher::EmptyRoot() const { return digest_({}); }

NodeHash TreeHasher::HashLeaf(ByteView entry) const {
  const std::uint8_t prefix = kLeafPrefix;
  const ByteView parts[] = {ByteView(&prefix, 1), entry};
  return digest_(std::span<const ByteView>(parts, 2));
}

NodeHash TreeHasher::HashChildren(const NodeHash& left, const NodeHash& right) const {
  const std::uint8_t prefix = kNodePrefix;
  const ByteView parts[] = {ByteView(&prefix, 1), View(left), View(right)};
  return digest_(std::span<const ByteView>(parts, 3));
}

const TreeHasher& Sm3TreeHasher() {
  static const TreeHasher hasher(&Sm3Digest);
  return hasher;
}

std::uint64_t SplitPoint(std::uint64_t n) { return std::bit_floor(n - 1); }

Result<std::vector<LeafRange>> InclusionProofRanges(std::uint64_t index, std::uint64_t size) {
  if (index >= size) {
    return Error(ErrorCode::kInvalidArgument, "leaf index " + std::to_string(index) +
                                                  " is not below tree size " +
                                                  std::to_string(size));
  }
  std::vector<LeafRange> out;
  PathRanges(index, 0, size, &out);
  return out;
}

Result<std::vector<LeafRange>> ConsistencyProofRanges(std::uint64_t old_size,
                                                      std::uint64_t new_size) {
  if (old_size > new_size) {
    return Error(ErrorCode::kInvalidArgument, "consistency proof from size " +
                                                  std::to_string(old_size) + " to smaller size " +
                                                  std::to_string(new_size));
  }
  std::vector<LeafRange> out;
  // RFC 9162 §2.1.4.1 defines PROOF for 0 < m < n; the empty tree and an unchanged tree need
  // no proof.
  if (old_size == 0 || old_size == new_size) return out;
  SubproofRanges(old_size, 0, new_size, true, &out);
  return out;
}

Result<NodeHash> RangeHash(const TreeHasher& h, const NodeSource& nodes, LeafRange range) {
  if (range.begin >= range.end) {
    return Error(ErrorCode::kInvalidArgument, "empty leaf range");
  }
  const std::uint64_t n = range.end - range.begin;
  const std::uint64_t p = FloorPow2(n);
  if (range.begin % p != 0) {
    return Error(ErrorCode::kInvalidArgument, "leaf range [" + std::to_string(range.begin) +
                                                  ", " + std::to_string(range.end) +
                                                  ") is not a subtree of the log");
  }
  if (p == n) return nodes(std::countr_zero(n), range.begin / n);
  const std::uint64_t k = SplitPoint(n);
  GMPKI_ASSIGN_OR_RETURN(NodeHash left, RangeHash(h, nodes, {range.begin, range.begin + k}));
  GMPKI_ASSIGN_OR_RETURN(NodeHash right, RangeHash(h, nodes, {range.begin + k, range.end}));
  return h.HashChildren(left, right);
}

Result<NodeHash> RootFromNodes(const TreeHasher& h, const NodeSource& nodes, std::uint64_t size) {
  if (size == 0) return h.EmptyRoot();
  return RangeHash(h, nodes, {0, size});
}

NodeHash RootFromLeafHashes(const TreeHasher& h, std::span<const NodeHash> leaf_hashes) {
  MerkleFrontier f;
  for (const NodeHash& leaf : leaf_hashes) f.Append(h, leaf, nullptr);
  return f.Root(h);
}

Result<NodeHash> RootFromInclusionProof(const TreeHasher& h, std::uint64_t index,
                                        std::uint64_t size, const NodeHash& leaf_hash,
                                        std::span<const NodeHash> proof) {
  // RFC 9162 §2.1.3.2, step by step.
  // 1. leaf_index >= tree_size fails.
  if (index >= size) {
    return Error(ErrorCode::kInvalidArgument, "leaf index " + std::to_string(index) +
                                                  " is not below tree size " +
                                                  std::to_string(size));
  }
  // 2.-3.
  std::uint64_t fn = index, sn = size - 1;
  NodeHash r = leaf_hash;
  // 4.
  for (const NodeHash& p : proof) {
    if (sn == 0) return ProofMismatch("inclusion proof is longer than the tree is deep");  // 4a
    if ((fn & 1) != 0 || fn == sn) {                                                       // 4b
      r = h.HashChildren(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = h.HashChildren(r, p);
    }
    fn >>= 1;  // 4c
    sn >>= 1;
  }
  // 5. sn must be 0 (the proof was long enough).
  if (sn != 0) return ProofMismatch("inclusion proof is shorter than the tree is deep");
  return r;
}

Status VerifyInclusion(const TreeHasher& h, std::uint64_t index, std::uint64_t size,
                       const NodeHash& leaf_hash, std::span<const NodeHash> proof,
                       const NodeHash& root) {
  GMPKI_ASSIGN_OR_RETURN(NodeHash r, RootFromInclusionProof(h, index, size, leaf_hash, proof));
  if (r != root) {
    return ProofMismatch("inclusion proof of leaf " + std::to_string(index) + " in tree size " +
                         std::to_string(size) + " does not lead to the root hash");
  }
  return OkStatus();
}

Status VerifyConsistency(const TreeHasher& h, std::uint64_t old_size, std::uint64_t new_size,
                         std::span<const NodeHash> proof, const NodeHash& old_root,
                         const NodeHash& new_root) {
  if (old_size > new_size) {
    return Error(ErrorCode::kInvalidArgument, "consistency from size " + std::to_string(old_size) +
                                                  " to smaller size " + std::to_string(new_size));
  }
  if (old_size == 0) {
    if (!proof.empty()) return ProofMismatch("consistency proof from the empty tree is not empty");
    return OkStatus();
  }
  if (old_size == new_size) {
    if (!proof.empty()) return ProofMismatch("consistency proof of equal sizes is not empty");
    if (old_root != new_root) return ProofMismatch("equal tree sizes with different root hashes");
    return OkStatus();
  }
  // RFC 9162 §2.1.4.2, step by step (0 < first < second).
  // 1. An empty path fails.
  if (proof.empty()) return ProofMismatch("consistency proof is empty");
  // 2. If first is an exact power of 2, prepend first_hash.
  std::vector<NodeHash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  // 3.
  std::uint64_t fn = old_size - 1, sn = new_size - 1;
  // 4.
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  // 5.
  NodeHash fr = path[0], sr = path[0];
  // 6.
  for (std::size_t i = 1; i < path.size(); ++i) {
    const NodeHash& c = path[i];
    if (sn == 0) return ProofMismatch("consistency proof is longer than the tree is deep");  // 6a
    if ((fn & 1) != 0 || fn == sn) {                                                         // 6b
      fr = h.HashChildren(c, fr);
      sr = h.HashChildren(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = h.HashChildren(sr, c);
    }
    fn >>= 1;  // 6c
    sn >>= 1;
  }
  // 7.
  if (sn != 0) return ProofMismatch("consistency proof is shorter than the tree is deep");
  if (fr != old_root) {
    return ProofMismatch("consistency proof does not lead to the root of size " +
                         std::to_string(old_size));
  }
  if (sr != new_root) {
    return ProofMismatch("consistency proof does not lead to the root of size " +
                         std::to_string(new_size));
  }
  return OkStatus();
}

Result<MerkleFrontier> MerkleFrontier::Load(const NodeSource& nodes, std::uint64_t size) {
  MerkleFrontier f;
  f.size_ = size;
  std::uint64_t begin = 0;
  for (int level = 63; level >= 0; --level) {
    const std::uint64_t width = std::uint64_t{1} << level;
    if ((size & width) == 0) continue;
    GMPKI_ASSIGN_OR_RETURN(NodeHash hash, nodes(level, begin >> level));
    f.edge_.push_back({level, begin >> level, hash});
    begin += width;
  }
  return f;
}

void MerkleFrontier::Append(const TreeHasher& h, const NodeHash& leaf_hash,
                            std::vector<Node>* completed) {
  edge_.push_back({0, size_, leaf_hash});
  ++size_;
  // Two subtrees of equal height on the edge are siblings: merge them into their parent.
  while (edge_.size() >= 2 && edge_[edge_.size() - 2].level == edge_.back().level) {
    const Node right = edge_.back();
    edge_.pop_back();
    Node& left = edge_.back();
    left.hash = h.HashChildren(left.hash, right.hash);
    left.level += 1;
    left.index >>= 1;
    if (completed != nullptr) completed->push_back(left);
  }
}

NodeHash MerkleFrontier::Root(const TreeHasher& h) const {
  if (edge_.empty()) return h.EmptyRoot();
  // MTH splits at the largest power of two, so the root is the edge folded from the right.
  NodeHash r = edge_.back().hash;
  for (std::size_t i = edge_.size() - 1; i-- > 0;) r = h.HashChildren(edge_[i].hash, r);
  return r;
}

}  // namespace gmpki::evidence
