#include "services/va/ca_status_source.h"

#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace gmpki::va {
namespace {

constexpr const char* kCertColumns = "ca, serial_hex, status, reason, revoked_unix, not_after";
constexpr std::size_t kPollRows = 1000;

}  // namespace

Result<StatusRecord> StatusRecordFromRow(const store::Row& row) {
  StatusRecord r;
  r.ca = row.Text(0);
  r.serial_hex = row.Text(1);
  // PERSISTENT values of certificates.status (ca_service.h).
  const std::string& status = row.Text(2);
  if (status == "good") {
    r.state = CertState::kGood;
  } else if (status == "revoked") {
    r.state = CertState::kRevoked;
  } else if (status == "hold") {
    r.state = CertState::kHold;
  } else {
    return Error(ErrorCode::kInvalidArgument, "certificate " + r.ca + "/" + r.serial_hex +
                                                  " has unknown status '" + status + "'");
  }
  if (r.state != CertState::kGood) {
    r.reason = row.IsNull(3) ? -1 : static_cast<int>(row.Int(3));
    r.revoked_unix = row.IsNull(4) ? 0 : row.Int(4);
  }
  r.not_after = row.Int(5);
  return r;
}

CaStatusSource::CaStatusSource(store::Database& db, StatusIndex& index, const Clock& clock)
    : db_(db), index_(index), clock_(clock) {}

std::int64_t CaStatusSource::cursor() const {
  std::lock_guard lock(mu_);
  return cursor_;
}

Status CaStatusSource::LoadIssuers(store::Transaction& tx, std::size_t* count,
                                   std::size_t* applied) {
  GMPKI_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT name, cert_der, parent, serial_hex FROM cas "
                                             "WHERE cert_der IS NOT NULL"));
  for (const auto& r : rows) {
    const bool is_new = index_.IssuerCert(r.Text(0)).empty();
    GMPKI_RETURN_IF_ERROR(index_.AddIssuer(IssuerRecord{r.Text(0), r.Blob(1)}));
    // A subordinate CA created after the load: its own certificate (a row of its parent's
    // certificates) comes with no outbox row, so it is applied here.
    if (applied == nullptr || !is_new || r.IsNull(2) || r.Text(2).empty() || r.IsNull(3)) {
      continue;
    }
    GMPKI_ASSIGN_OR_RETURN(auto row,
                           tx.QueryOne(std::string("SELECT ") + kCertColumns +
                                           " FROM certificates WHERE ca = ? AND serial_hex = ?",
                                       {r.Text(2), r.Text(3)}));
    if (!row) continue;
    GMPKI_ASSIGN_OR_RETURN(auto rec, StatusRecordFromRow(*row));
    GMPKI_RETURN_IF_ERROR(index_.Apply(rec));
    ++*applied;
  }
  *count = rows.size();
  return OkStatus();
}

Result<LoadStats> CaStatusSource::LoadAll(std::size_t page_rows) {
  std::lock_guard lock(mu_);
  if (page_rows == 0) return Error(ErrorCode::kInvalidArgument, "page_rows must be positive");
  LoadStats stats;
  // One read snapshot: the outbox position and the rows agree.
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto max_id, tx->QueryOne("SELECT MAX(id) FROM outbox"));
  stats.cursor = max_id && !max_id->IsNull(0) ? max_id->Int(0) : 0;
  GMPKI_RETURN_IF_ERROR(LoadIssuers(*tx, &stats.cas, nullptr));
  std::string sql = std::string("SELECT ") + kCertColumns +
                    " FROM certificates WHERE (ca, serial_hex) > (?, ?)"
                    " ORDER BY ca, serial_hex LIMIT " +
                    std::to_string(page_rows);
  std::string last_ca, last_serial;
  while (true) {
    GMPKI_ASSIGN_OR_RETURN(auto rows, tx->Query(sql, {last_ca, last_serial}));
    for (const auto& row : rows) {
      GMPKI_ASSIGN_OR_RETURN(auto rec, StatusRecordFromRow(row));
      GMPKI_RETURN_IF_ERROR(index_.Apply(rec));
    }
    stats.certificates += rows.size();
    if (rows.size() < page_rows) break;
    last_ca = rows.back().Text(0);
    last_serial = rows.back().Text(1);
  }
  (void)tx->Rollback();
  cursor_ = stats.cursor;
  issuer_count_ = stats.cas;
  return stats;
}

Result<std::size_t> CaStatusSource::Poll() {
  std::lock_guard lock(mu_);
  std::size_t applied = 0;
  while (true) {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    // A CA created since the last look (a new root, subordinate or imported CA) is picked up
    // here, before certificates it issues arrive.
    GMPKI_ASSIGN_OR_RETURN(auto n,
                           tx->QueryOne("SELECT COUNT(*) FROM cas WHERE cert_der IS NOT NULL"));
    if (n && n->Int(0) != static_cast<std::int64_t>(issuer_count_)) {
      GMPKI_RETURN_IF_ERROR(LoadIssuers(*tx, &issuer_count_, &applied));
    }
    GMPKI_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT id, topic, payload, created_unix FROM "
                                                "outbox WHERE id > ? ORDER BY id LIMIT " +
                                                    std::to_string(kPollRows),
                                                {cursor_}));
    if (rows.empty()) break;
    // Each row names a certificate; its current row in `certificates` is the truth (several
    // changes of one certificate collapse into its latest state).
    std::set<std::pair<std::string, std::string>> seen;
    const std::int64_t grace_end = ToUnixSeconds(clock_.Now()) - kGapGrace.count();
    std::int64_t last = cursor_;
    bool stopped_at_gap = false;
    for (const auto& r : rows) {
      if (r.Int(0) != last + 1 && r.Int(3) > grace_end) {
        stopped_at_gap = true;
        break;
      }
      last = r.Int(0);
      // Every topic is read (a filtered query would show other topics' ids as gaps).
      if (r.Text(1) != "cert.issued" && r.Text(1) != "cert.status") continue;
      auto p = nlohmann::json::parse(r.Text(2), nullptr, false);
      if (!p.is_object() || !p.contains("ca") || !p.contains("serial") || !p["ca"].is_string() ||
          !p["serial"].is_string()) {
        continue;
      }
      auto key = std::make_pair(p["ca"].get<std::string>(), p["serial"].get<std::string>());
      if (!seen.insert(key).second) continue;
      GMPKI_ASSIGN_OR_RETURN(auto row,
                             tx->QueryOne(std::string("SELECT ") + kCertColumns +
                                              " FROM certificates WHERE ca = ? AND serial_hex = ?",
                                          {key.first, key.second}));
      if (!row) continue;
      GMPKI_ASSIGN_OR_RETURN(auto rec, StatusRecordFromRow(*row));
      GMPKI_RETURN_IF_ERROR(index_.Apply(rec));
      ++applied;
    }
    (void)tx->Rollback();
    cursor_ = last;
    if (stopped_at_gap || rows.size() < kPollRows) break;
  }
  return applied;
}

}  // namespace gmpki::va
