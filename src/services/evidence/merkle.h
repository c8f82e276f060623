// Merkle tree math of RFC 9162 (Certificate Transparency 2.0) section 2.1, with a pluggable
// 32-byte hash: SM3 for the evidence log, SHA-256 in the tests to check the published RFC 6962
// vectors. Pure functions over hashes; no I/O (the log reads stored nodes through a NodeSource).
//
// Definitions (RFC 9162 §2.1.1), HASH being the configured hash:
//   MTH({})        = HASH()
//   MTH({d(0)})    = HASH(0x00 || d(0))
//   MTH(D[n])      = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of two < n.
// The leaf prefix 0x00 and the node prefix 0x01 keep a leaf from ever being read as a node.
//
// Node addressing: node (level, index) is the complete subtree of 2^level leaves
// [index * 2^level, (index + 1) * 2^level); level 0 nodes are the leaf hashes. Every range that
// the RFC's recursions ask for is either such a node or splits into O(log n) of them, so a log
// that stores every complete node answers any proof with O(log n) reads.
//
// Thread safety: all functions are thread-safe; MerkleFrontier is a value (one owner).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace gmpki::evidence {

inline constexpr std::size_t kNodeHashSize = 32;
using NodeHash = std::array<std::uint8_t, kNodeHashSize>;

// The hash function of a tree. `digest` hashes the concatenation of its parts (so a node hash
// needs no copy into one buffer).
class TreeHasher {
 public:
  using Digest = NodeHash (*)(std::span<const ByteView> parts);
  explicit constexpr TreeHasher(Digest digest) : digest_(digest) {}

  NodeHash EmptyRoot() const;                                        // HASH()
  NodeHash HashLeaf(ByteView entry) const;                           // HASH(0x00 || entry)
  NodeHash HashChildren(const NodeHash& left, const NodeHash& right) const;  // HASH(0x01||l||r)

 private:
  Digest digest_;
};

// SM3 (GB/T 32905), the hash of the gmpki evidence log.
const TreeHasher& Sm3TreeHasher();

// Largest power of two strictly less than n. REQUIRES: n >= 2.
std::uint64_t SplitPoint(std::uint64_t n);

// A leaf range [begin, end) whose MTH is one element of a proof.
struct LeafRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  bool operator==(const LeafRange&) const = default;
};

// The ranges of PATH(index, D[size]) (RFC 9162 §2.1.3.1), in proof order (leaf's sibling
// first). kInvalidArgument unless index < size.
Result<std::vector<LeafRange>> InclusionProofRanges(std::uint64_t index, std::uint64_t size);

// The ranges of PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1), in proof order. Empty when
// old_size == 0 or old_size == new_size. kInvalidArgument when old_size > new_size.
Result<std::vector<LeafRange>> ConsistencyProofRanges(std::uint64_t old_size,
                                                      std::uint64_t new_size);

// Reads the stored hash of node (level, index). Must fail (not invent) when the node is absent.
using NodeSource = std::function<Result<NodeHash>(int level, std::uint64_t index)>;

// MTH of leaves [begin, end) from complete nodes: the range itself when it is a complete aligned
// subtree, else split as MTH does. REQUIRES: begin < end and begin a multiple of the largest
// power of two <= end - begin (true of every range the proofs and roots ask for); otherwise
// kInvalidArgument.
Result<NodeHash> RangeHash(const TreeHasher& h, const NodeSource& nodes, LeafRange range);

// MTH(D[size]) (the empty-tree hash when size == 0).
Result<NodeHash> RootFromNodes(const TreeHasher& h, const NodeSource& nodes, std::uint64_t size);

// MTH of the given leaf hashes, computed bottom-up (no stored nodes).
NodeHash RootFromLeafHashes(const TreeHasher& h, std::span<const NodeHash> leaf_hashes);

// RFC 9162 §2.1.3.2: recomputes the root from `leaf_hash` at `index` in a tree of `size` and
// `proof`. kIntegrityFailure when the proof has the wrong length for (index, size) or the
// recomputed root differs from `root`; kInvalidArgument when index >= size.
Result<NodeHash> RootFromInclusionProof(const TreeHasher& h, std::uint64_t index,
                                        std::uint64_t size, const NodeHash& leaf_hash,
                                        std::span<const NodeHash> proof);
Status VerifyInclusion(const TreeHasher& h, std::uint64_t index, std::uint64_t size,
                       const NodeHash& leaf_hash, std::span<const NodeHash> proof,
                       const NodeHash& root);

// RFC 9162 §2.1.4.2: checks that the tree of `new_size` with `new_root` extends the tree of
// `old_size` with `old_root`. old_size == 0: any roots, the proof must be empty (an empty tree
// is a prefix of every tree). old_size == new_size: empty proof and equal roots.
// kIntegrityFailure when the proof does not verify; kInvalidArgument when old_size > new_size.
Status VerifyConsistency(const TreeHasher& h, std::uint64_t old_size, std::uint64_t new_size,
                         std::span<const NodeHash> proof, const NodeHash& old_root,
                         const NodeHash& new_root);

// The right edge of an append-only tree: one complete subtree per set bit of the size, largest
// first ("compact range" over [0, size)). Appending a leaf completes zero or more nodes, which
// the log stores; the root is folded from the edge in O(log n).
class MerkleFrontier {
 public:
  struct Node {
    int level = 0;
    std::uint64_t index = 0;
    NodeHash hash{};
  };

  MerkleFrontier() = default;
  // Loads the edge of a tree of `size` from stored nodes (one read per set bit of size).
  static Result<MerkleFrontier> Load(const NodeSource& nodes, std::uint64_t size);

  std::uint64_t size() const { return size_; }
  const std::vector<Node>& edge() const { return edge_; }

  // Appends a leaf hash as leaf `size()`; `completed` receives every node of level >= 1 that
  // the leaf completes, lowest level first.
  void Append(const TreeHasher& h, const NodeHash& leaf_hash, std::vector<Node>* completed);
  NodeHash Root(const TreeHasher& h) const;

 private:
  std::uint64_t size_ = 0;
  std::vector<Node> edge_;  // decreasing level
};

}  // namespace gmpki::evidence
