// Review and search of the audit trail (CC-FAU: reviewable, searchable).
#include "audit/audit.h"
#include "audit/chain.h"

namespace gmpki::audit {
namespace {

constexpr std::int64_t kMaxLimit = 10000;

// Number of characters (code points) in UTF-8 text, as SQL substr() counts them on both
// backends. Continuation bytes 10xxxxxx do not start a character.
std::int64_t Utf8Length(std::string_view s) {
  std::int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

Result<std::vector<AuditRecord>> SearchAudit(store::Transaction& tx, const AuditQuery& q) {
  if (q.limit < 1 || q.limit > kMaxLimit) {
    return Error(ErrorCode::kInvalidArgument,
                 "audit search limit must be 1.." + std::to_string(kMaxLimit));
  }
  if (q.offset < 0) return Error(ErrorCode::kInvalidArgument, "audit search offset is negative");

  std::string sql = "SELECT " + std::string(internal::kRecordColumns) + " FROM audit_records";
  std::vector<store::Value> params;
  std::string where;
  auto add = [&](std::string_view clause) {
    where += where.empty() ? " WHERE " : " AND ";
    where += clause;
  };
  if (q.actor) {
    add("actor = ?");
    params.emplace_back(*q.actor);
  }
  if (q.action) {
    add("action = ?");
    params.emplace_back(*q.action);
  }
  if (q.object_prefix && !q.object_prefix->empty()) {
    // Not LIKE: SQLite's LIKE ignores ASCII case and both treat % and _ as wildcards. The
    // CAST keeps PostgreSQL's substr(text, int, int) signature with a 64-bit parameter.
    add("substr(object, 1, CAST(? AS INTEGER)) = ?");
    params.emplace_back(Utf8Length(*q.object_prefix));
    params.emplace_back(*q.object_prefix);
  }
  if (q.outcome) {
    add("outcome = ?");
    params.emplace_back(static_cast<std::int64_t>(*q.outcome));
  }
  if (q.from) {
    add("time_unix >= ?");
    params.emplace_back(ToUnixSeconds(*q.from));
  }
  if (q.to) {
    add("time_unix < ?");
    params.emplace_back(ToUnixSeconds(*q.to));
  }
  sql += where;
  sql += q.newest_first ? " ORDER BY seq DESC" : " ORDER BY seq";
  sql += " LIMIT ? OFFSET ?";
  params.emplace_back(q.limit);
  params.emplace_back(q.offset);

  GMPKI_ASSIGN_OR_RETURN(std::vector<store::Row> rows, tx.Query(sql, params));
  std::vector<AuditRecord> out;
  out.reserve(rows.size());
  for (const store::Row& row : rows) {
    GMPKI_ASSIGN_OR_RETURN(AuditRecord r, internal::RecordFromRow(row));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace gmpki::audit
