// Internal to gmpki_evidence: reading stored nodes, records and tree heads inside a transaction.
#pragma once

#include <cstdint>
#include <optional>

#include "services/evidence/merkle.h"
#include "services/evidence/tree_head.h"
#include "store/store.h"

namespace gmpki::evidence::internal {

// Columns of evidence_sths read by TreeHeadFromRow, in order.
inline constexpr std::string_view kSthColumns = "tree_size, timestamp_ms, root_hash, signature";

// kIntegrityFailure unless `v` is a 32-byte blob.
Result<NodeHash> HashFromValue(const store::Value& v, std::string_view what);

// Reads node (level, index): level 0 from evidence_records.leaf_hash, higher levels from
// evidence_nodes. kIntegrityFailure when the node is missing (the tree is damaged).
NodeSource StoredNodes(store::Transaction& tx);

// The tree size in evidence_head.
Result<std::uint64_t> ReadTreeSize(store::Transaction& tx);

Result<SignedTreeHead> TreeHeadFromRow(const store::Row& row);
// The latest tree head (largest size, then latest timestamp) or nullopt.
Result<std::optional<SignedTreeHead>> ReadLatestTreeHead(store::Transaction& tx);

}  // namespace gmpki::evidence::internal
