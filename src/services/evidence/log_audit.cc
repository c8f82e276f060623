// EvidenceLog::Audit: recompute the whole tree from the stored record bytes and compare it
// with every stored node and every signed tree head, in leaf order, stopping at the first
// failure so the report names the lowest leaf concerned.
#include <bit>
#include <map>
#include <string>

#include "services/evidence/evidence_log.h"
#include "services/evidence/log_internal.h"

namespace gmpki::evidence {
namespace {

// Leaves read per query; a power of two so chunks align with subtrees.
constexpr std::uint64_t kAuditChunk = 8192;

std::string Range(std::uint64_t begin, std::uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

// Walks the log; each failing check records itself in the report and returns false.
class Auditor {
 public:
  Auditor(store::Transaction& tx, const crypto::Sm2PublicKey& key, AuditReport& report)
      : tx_(tx), key_(key), report_(report) {}

  Status Run() {
    GMPKI_ASSIGN_OR_RETURN(report_.tree_size, internal::ReadTreeSize(tx_));
    GMPKI_RETURN_IF_ERROR(LoadTreeHeads());
    if (!CheckHeadsAt(0)) return OkStatus();
    for (;;) {
      const std::uint64_t begin = frontier_.size();
      GMPKI_ASSIGN_OR_RETURN(
          auto rows,
          tx_.Query("SELECT leaf_index, kind, time_ms, actor, object, entry, leaf_hash"
                    " FROM evidence_records WHERE leaf_index >= ? ORDER BY leaf_index LIMIT ?",
                    {static_cast<std::int64_t>(begin), static_cast<std::int64_t>(kAuditChunk)}));
      if (rows.empty()) break;
      GMPKI_RETURN_IF_ERROR(LoadNodes(begin, begin + rows.size()));
      for (const store::Row& row : rows) {
        if (!CheckLeaf(row)) return OkStatus();
      }
    }
    const std::uint64_t n = frontier_.size();
    if (n < report_.tree_size) {
      return Fail(n, "leaves " + Range(n, report_.tree_size) +
                         " are missing (deleted or truncated)");
    }
    for (const auto& [size, heads] : heads_) {
      if (size > n) {
        return Fail(n, "a signed tree head covers " + std::to_string(size) +
                           " leaves but the log holds " + std::to_string(n) +
                           " (records deleted and the head rewound)");
      }
    }
    GMPKI_ASSIGN_OR_RETURN(auto count, tx_.QueryOne("SELECT COUNT(*) FROM evidence_nodes"));
    std::uint64_t expected = 0;
    for (std::uint64_t level = 1; level < 64; ++level) expected += n >> level;
    if (!count || count->Int(0) != static_cast<std::int64_t>(expected)) {
      return Fail(n, "the node table holds " + std::to_string(count ? count->Int(0) : -1) +
                         " nodes where a tree of " + std::to_string(n) + " leaves has " +
                         std::to_string(expected));
    }
    report_.unsigned_tail = n - report_.latest_signed_size;
    report_.ok = true;
    return OkStatus();
  }

 private:
  Status Fail(std::uint64_t index, std::string message) {
    report_.ok = false;
    report_.first_bad_index = index;
    report_.message = std::move(message);
    return OkStatus();
  }

  Status LoadTreeHeads() {
    GMPKI_ASSIGN_OR_RETURN(auto rows, tx_.Query("SELECT " + std::string(internal::kSthColumns) +
                                                " FROM evidence_sths ORDER BY tree_size, id"));
    for (const store::Row& row : rows) {
      GMPKI_ASSIGN_OR_RETURN(SignedTreeHead sth, internal::TreeHeadFromRow(row));
      heads_[sth.tree_size].push_back(std::move(sth));
    }
    return OkStatus();
  }

  // The stored nodes completed by leaves [begin, end): node (l, j) completes at leaf
  // (j + 1) * 2^l - 1.
  Status LoadNodes(std::uint64_t begin, std::uint64_t end) {
    nodes_.clear();
    for (int level = 1; level < 64; ++level) {
      const std::uint64_t lo = ((begin + (std::uint64_t{1} << level)) >> level) - 1;
      const std::uint64_t hi = end >> level;
      if (lo >= hi) {
        if ((end >> level) == 0) break;
        continue;
      }
      GMPKI_ASSIGN_OR_RETURN(
          auto rows, tx_.Query("SELECT idx, hash FROM evidence_nodes WHERE level = ? AND idx >= ?"
                               " AND idx < ?",
                               {std::int64_t{level}, static_cast<std::int64_t>(lo),
                                static_cast<std::int64_t>(hi)}));
      for (const store::Row& row : rows) {
        if (!std::holds_alternative<std::int64_t>(row.at(0))) continue;
        nodes_[{level, static_cast<std::uint64_t>(row.Int(0))}] = row.at(1);
      }
    }
    return OkStatus();
  }

  // Checks the tree heads of the current size; false (report filled) on a failure.
  bool CheckHeadsAt(std::uint64_t size) {
    auto it = heads_.find(size);
    if (it == heads_.end()) return true;
    const NodeHash root = frontier_.Root(Sm3TreeHasher());
    for (const SignedTreeHead& sth : it->second) {
      ++report_.tree_heads_checked;
      if (!VerifyTreeHead(sth, key_)) {
        (void)Fail(verified_size_, "the signed tree head of size " + std::to_string(size) +
                                       " does not verify under the log key");
        return false;
      }
      if (sth.root_hash != root) {
        (void)Fail(verified_size_, "the tree of size " + std::to_string(size) +
                                       " does not match its signed tree head: a record in " +
                                       Range(verified_size_, size) + " was changed");
        return false;
      }
    }
    verified_size_ = size;
    report_.latest_signed_size = size;
    return true;
  }

  bool CheckLeaf(const store::Row& row) {
    const std::uint64_t expected = frontier_.size();
    if (!std::holds_alternative<std::int64_t>(row.at(0))) {
      (void)Fail(expected, "a record row has a damaged leaf index");
      return false;
    }
    const auto index = static_cast<std::uint64_t>(row.Int(0));
    if (index >= report_.tree_size) {
      (void)Fail(index, "a record beyond the tree size " + std::to_string(report_.tree_size) +
                            " (inserted)");
      return false;
    }
    if (index != expected) {
      (void)Fail(expected, "the record is missing (deleted)");
      return false;
    }
    const Bytes* entry = std::get_if<Bytes>(&row.at(5));
    auto record = entry ? DecodeRecord(*entry) : Result<EvidenceRecord>(ErrorCode::kInternal, "");
    if (!record) {
      (void)Fail(expected, "the stored record bytes are damaged");
      return false;
    }
    const NodeHash leaf = Sm3TreeHasher().HashLeaf(*entry);
    auto stored = internal::HashFromValue(row.at(6), "leaf hash");
    if (!stored || *stored != leaf) {
      (void)Fail(expected, "the record was changed (its leaf hash does not match its bytes)");
      return false;
    }
    const bool columns_match =
        std::holds_alternative<std::int64_t>(row.at(1)) &&
        row.Int(1) == static_cast<std::uint8_t>(record->kind) &&
        std::holds_alternative<std::int64_t>(row.at(2)) &&
        row.Int(2) == TimeMillis(record->time) &&
        std::holds_alternative<std::string>(row.at(3)) && row.Text(3) == record->actor &&
        std::holds_alternative<std::string>(row.at(4)) && row.Text(4) == record->object;
    if (!columns_match) {
      (void)Fail(expected, "the record's kind/time/actor/object columns were changed");
      return false;
    }
    ++report_.leaves_checked;
    completed_.clear();
    frontier_.Append(Sm3TreeHasher(), leaf, &completed_);
    for (const MerkleFrontier::Node& node : completed_) {
      ++report_.nodes_checked;
      const std::uint64_t first = node.index << node.level;
      const std::uint64_t last = first + (std::uint64_t{1} << node.level);
      auto it = nodes_.find({node.level, node.index});
      auto hash = it == nodes_.end()
                      ? Result<NodeHash>(ErrorCode::kNotFound, "")
                      : internal::HashFromValue(it->second, "node");
      if (!hash || *hash != node.hash) {
        (void)Fail(first, "the stored node over leaves " + Range(first, last) +
                              (hash ? " differs from the recomputed one: records there were "
                                      "changed or reordered"
                                    : " is missing or damaged"));
        return false;
      }
    }
    return CheckHeadsAt(frontier_.size());
  }

  store::Transaction& tx_;
  const crypto::Sm2PublicKey& key_;
  AuditReport& report_;
  MerkleFrontier frontier_;
  std::vector<MerkleFrontier::Node> completed_;
  std::map<std::uint64_t, std::vector<SignedTreeHead>> heads_;
  std::map<std::pair<int, std::uint64_t>, store::Value> nodes_;
  std::uint64_t verified_size_ = 0;  // size of the last signed head that checked out
};

}  // namespace

Result<AuditReport> EvidenceLog::Audit() {
  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db_.BeginReadOnly());
  AuditReport report;
  Auditor auditor(*tx, log_key_, report);
  Status st = auditor.Run();
  if (!st) {
    // A read failure is a storage failure; a damaged row found while reading is a finding.
    if (st.error().code() != ErrorCode::kIntegrityFailure) return st.error();
    report.ok = false;
    report.message = st.error().message();
  }
  (void)tx->Rollback();
  return report;
}

}  // namespace gmpki::evidence
