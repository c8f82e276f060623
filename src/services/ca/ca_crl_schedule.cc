// The CRL schedule (RFC 5280 §5; issue #6 item 2): what the server's timer runs so that every
// CA's CRLs are regenerated on schedule, well ahead of nextUpdate, and promptly after a
// revocation, hold or release. Policy in README.md "CRL schedule".
#include <algorithm>

#include "services/ca/ca_internal.h"

namespace gmpki::ca {

namespace {

struct FullScope {
  std::int64_t full_number = 0;       // latest full CRL (0: none)
  std::int64_t full_next_update = 0;  // its nextUpdate
  std::int64_t latest_number = 0;     // latest CRL of the full scope, full or delta
  std::int64_t newest_change = -1;    // highest status_crl of a change after the full CRL
  std::int64_t listed = 0;            // revoked and held certificates
};

Result<FullScope> ReadFullScope(store::Database& db, const std::string& ca) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db.BeginReadOnly());
  FullScope s;
  GMPKI_ASSIGN_OR_RETURN(
      auto full, tx->QueryOne("SELECT number, next_update FROM crls WHERE ca = ? AND"
                              " crl_partition IS NULL AND delta_base IS NULL"
                              " ORDER BY number DESC LIMIT 1",
                              {ca}));
  if (full) {
    s.full_number = full->Int(0);
    s.full_next_update = full->Int(1);
  }
  GMPKI_ASSIGN_OR_RETURN(
      auto latest,
      tx->QueryOne("SELECT MAX(number) FROM crls WHERE ca = ? AND crl_partition IS NULL", {ca}));
  if (latest && !latest->IsNull(0)) s.latest_number = latest->Int(0);
  if (s.full_number > 0) {
    // status_crl is the CA's CRL number current at the change (ca_certs.cc ChangeStatus): a
    // change made after CRL n was issued has status_crl >= n.
    GMPKI_ASSIGN_OR_RETURN(
        auto ch, tx->QueryOne("SELECT MAX(status_crl) FROM certificates WHERE ca = ? AND"
                              " status_crl >= ? AND (status <> 'good' OR reason = 8)",
                              {ca, s.full_number}));
    if (ch && !ch->IsNull(0)) s.newest_change = ch->Int(0);
  }
  // Counted from the partial covering index of migration 205, without touching the table.
  GMPKI_ASSIGN_OR_RETURN(
      auto n, tx->QueryOne("SELECT COUNT(*) FROM certificates WHERE ca = ? AND status <> 'good'",
                           {ca}));
  if (n) s.listed = n->Int(0);
  return s;
}

}  // namespace

Result<CrlRefreshReport> CaService::RefreshCrls(const services::Actor& actor,
                                                const CrlRefreshPolicy& policy) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, services::Permission::kCrlIssue));
  CrlRefreshReport report;
  std::vector<std::string> cas;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(auto rows,
                           tx->Query("SELECT name FROM cas WHERE status = 'active' AND external = 0"
                                     " AND key_label IS NOT NULL ORDER BY name"));
    for (const auto& r : rows) cas.push_back(r.Text(0));
  }
  const std::int64_t now = ToUnixSeconds(clock_.Now());
  const std::int64_t validity = std::int64_t{settings_.crl_validity_hours} * 3600;
  const std::int64_t margin = static_cast<std::int64_t>(
      static_cast<double>(validity) * std::clamp(policy.refresh_fraction, 0.0, 1.0));
  for (const std::string& ca : cas) {
    // One CA's failure (its key unusable, say) must not stop the others' CRLs: it is reported
    // and retried at the next tick.
    auto one = [&]() -> Status {
      GMPKI_ASSIGN_OR_RETURN(FullScope s, ReadFullScope(db_, ca));
      const bool due = s.full_number == 0 || s.full_next_update - now <= margin;
      const bool changed = s.newest_change >= 0;
      if (due || (changed && s.listed <= policy.full_on_change_max_entries)) {
        GMPKI_ASSIGN_OR_RETURN(CrlResult r, IssueCrlFor(actor, ca, std::nullopt, false));
        report.issued.push_back(std::move(r));
      } else if (changed && policy.delta_crls && s.newest_change >= s.latest_number) {
        // A large CA: the change goes out at once in a delta against the current full CRL;
        // the full one follows on its schedule.
        GMPKI_ASSIGN_OR_RETURN(CrlResult r, IssueCrlFor(actor, ca, std::nullopt, true));
        report.issued.push_back(std::move(r));
      }
      if (settings_.crl_partition_size > 0) {
        GMPKI_ASSIGN_OR_RETURN(bool stale, PartitionCrlsNearExpiry(ca, now + margin));
        GMPKI_ASSIGN_OR_RETURN(auto parts, IssueChangedPartitionCrls(actor, ca, stale));
        for (auto& r : parts) report.issued.push_back(std::move(r));
      }
      return OkStatus();
    };
    if (Status st = one(); !st.ok()) report.failures.emplace_back(ca, st.error());
  }
  return report;
}

Result<bool> CaService::PartitionCrlsNearExpiry(const std::string& ca, std::int64_t horizon) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  // The oldest "latest full CRL" among the partitions decides: re-issuing all of them together
  // keeps their nextUpdates aligned.
  GMPKI_ASSIGN_OR_RETURN(
      auto row, tx->QueryOne("SELECT MIN(nu) FROM (SELECT MAX(next_update) AS nu FROM crls WHERE"
                             " ca = ? AND crl_partition IS NOT NULL AND delta_base IS NULL"
                             " GROUP BY crl_partition) AS latest",
                             {ca}));
  if (!row || row->IsNull(0)) return false;
  return row->Int(0) <= horizon;
}

}  // namespace gmpki::ca
