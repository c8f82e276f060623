// Reading the stored tree: nodes, size and tree heads (log_internal.h).
#include <string>

#include "services/evidence/log_internal.h"

namespace gmpki::evidence::internal {

Result<NodeHash> HashFromValue(const store::Value& v, std::string_view what) {
  const Bytes* b = std::get_if<Bytes>(&v);
  if (b == nullptr || b->size() != kNodeHashSize) {
    return Error(ErrorCode::kIntegrityFailure, std::string(what) + " is not a 32-byte hash");
  }
  NodeHash h;
  std::copy(b->begin(), b->end(), h.begin());
  return h;
}

NodeSource StoredNodes(store::Transaction& tx) {
  return [&tx](int level, std::uint64_t index) -> Result<NodeHash> {
    const auto idx = static_cast<std::int64_t>(index);
    std::optional<store::Row> row;
    if (level == 0) {
      GMPKI_ASSIGN_OR_RETURN(
          row, tx.QueryOne("SELECT leaf_hash FROM evidence_records WHERE leaf_index = ?", {idx}));
    } else {
      GMPKI_ASSIGN_OR_RETURN(
          row, tx.QueryOne("SELECT hash FROM evidence_nodes WHERE level = ? AND idx = ?",
                           {std::int64_t{level}, idx}));
    }
    const std::string name =
        "evidence node (" + std::to_string(level) + ", " + std::to_string(index) + ")";
    if (!row) return Error(ErrorCode::kIntegrityFailure, name + " is missing");
    return HashFromValue(row->at(0), name);
  };
}

Result<std::uint64_t> ReadTreeSize(store::Transaction& tx) {
  GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT tree_size FROM evidence_head WHERE id = 1"));
  if (!row || !std::holds_alternative<std::int64_t>(row->at(0)) || row->Int(0) < 0) {
    return Error(ErrorCode::kIntegrityFailure, "the evidence head row is missing or damaged");
  }
  return static_cast<std::uint64_t>(row->Int(0));
}

Result<SignedTreeHead> TreeHeadFromRow(const store::Row& row) {
  if (!std::holds_alternative<std::int64_t>(row.at(0)) ||
      !std::holds_alternative<std::int64_t>(row.at(1)) ||
      !std::holds_alternative<Bytes>(row.at(3)) || row.Int(0) < 0) {
    return Error(ErrorCode::kIntegrityFailure, "a stored evidence tree head is damaged");
  }
  SignedTreeHead sth;
  sth.tree_size = static_cast<std::uint64_t>(row.Int(0));
  sth.timestamp_ms = row.Int(1);
  GMPKI_ASSIGN_OR_RETURN(sth.root_hash, HashFromValue(row.at(2), "tree head root hash"));
  sth.signature = row.Blob(3);
  return sth;
}

Result<std::optional<SignedTreeHead>> ReadLatestTreeHead(store::Transaction& tx) {
  GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT " + std::string(kSthColumns) +
                                                " FROM evidence_sths ORDER BY tree_size DESC,"
                                                " timestamp_ms DESC, id DESC LIMIT 1"));
  if (!row) return std::optional<SignedTreeHead>();
  GMPKI_ASSIGN_OR_RETURN(SignedTreeHead sth, TreeHeadFromRow(*row));
  return std::optional<SignedTreeHead>(std::move(sth));
}

}  // namespace gmpki::evidence::internal
