// CRLs (CA-03): full and delta CRLs with CRL number and next update (RFC 5280 §5).
#include <chrono>

#include "services/ca/ca_internal.h"
#include "x509/extensions.h"
#include "x509/pem.h"

namespace gmpki::ca {

Result<CrlResult> CaService::IssueCrl(const services::Actor& actor, const std::string& ca, bool delta) {
  return Audited<CrlResult>(
      actor, delta ? "crl.issue-delta" : "crl.issue", "ca:" + ca, services::Permission::kCrlIssue,
      [&](store::Transaction& tx, audit::AuditEvent& ev) -> Result<CrlResult> {
        GMPKI_ASSIGN_OR_RETURN(auto issuer, LoadIssuer(tx, ca));
        // The UPDATE takes the CA row's lock first, so two nodes never hand out one number.
        GMPKI_RETURN_IF_ERROR(tx.Exec("UPDATE cas SET crl_number = crl_number + 1 WHERE name = ?", {ca}));
        GMPKI_ASSIGN_OR_RETURN(auto nrow, tx.QueryOne("SELECT crl_number, last_full_crl FROM cas WHERE name = ?", {ca}));
        const auto number = static_cast<std::uint64_t>(nrow->Int(0));
        const auto base = static_cast<std::uint64_t>(nrow->Int(1));
        if (delta && base == 0) {
          return Error(ErrorCode::kFailedPrecondition,
                       "CA '" + ca + "' has no full CRL yet; a delta CRL needs a base");
        }
        x509::CrlSpec spec;
        spec.issuer = issuer.cert->subject();
        spec.this_update = clock_.Now();
        spec.next_update = spec.this_update + std::chrono::hours(settings_.crl_validity_hours);
        spec.crl_number = number;
        if (delta) spec.delta_base = base;
        // status_crl holds the CA's CRL number current when the status changed, i.e. the last
        // CRL issued before the change. A full CRL lists every revoked or held certificate; a
        // delta CRL lists the changes made since its base was issued (status_crl >= base),
        // released holds as removeFromCRL (RFC 5280 §5.2.4, §5.3.1).
        std::string sql = "SELECT serial_hex, status, reason, revoked_unix FROM certificates WHERE ca = ?";
        std::vector<store::Value> params{ca};
        if (delta) {
          sql += " AND status_crl >= ? AND (status <> 'good' OR reason = 8)";
          params.push_back(static_cast<std::int64_t>(base));
        } else {
          sql += " AND status <> 'good'";
        }
        sql += " ORDER BY serial_hex";
        GMPKI_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, params));
        for (const auto& r : rows) {
          x509::RevokedEntry e;
          GMPKI_ASSIGN_OR_RETURN(e.serial, HexDecode((r.Text(0).size() % 2 ? "0" : "") + r.Text(0)));
          e.revocation_date = FromUnixSeconds(r.IsNull(3) ? 0 : r.Int(3));
          if (!r.IsNull(2)) e.reason = static_cast<x509::RevocationReason>(r.Int(2));
          spec.entries.push_back(std::move(e));
        }
        GMPKI_ASSIGN_OR_RETURN(auto der, x509::BuildCrl(spec, issuer.signer));
        GMPKI_RETURN_IF_ERROR(tx.Exec(
            "INSERT INTO crls (ca, number, delta_base, this_update, next_update, der) VALUES (?, ?, ?, ?, ?, ?)",
            {ca, static_cast<std::int64_t>(number),
             delta ? store::Value(static_cast<std::int64_t>(base)) : store::Value(store::Null{}),
             ToUnixSeconds(spec.this_update), ToUnixSeconds(spec.next_update), der}));
        if (!delta) {
          GMPKI_RETURN_IF_ERROR(tx.Exec("UPDATE cas SET last_full_crl = ? WHERE name = ?",
                                        {static_cast<std::int64_t>(number), ca}));
        }
        GMPKI_RETURN_IF_ERROR(tx.Exec("INSERT INTO outbox (topic, payload, created_unix) VALUES (?, ?, ?)",
                                      {std::string("crl.issued"),
                                       nlohmann::json{{"ca", ca}, {"number", number}}.dump(),
                                       ToUnixSeconds(spec.this_update)}));
        ev.detail = nlohmann::json{{"number", number}, {"entries", spec.entries.size()},
                                   {"delta_base", delta ? nlohmann::json(base) : nlohmann::json()}}
                        .dump();
        CrlResult out;
        out.number = number;
        out.delta_base = spec.delta_base;
        out.entries = spec.entries.size();
        out.pem = x509::PemEncode(x509::kPemCrl, der);
        out.der = std::move(der);
        return out;
      });
}

Result<Bytes> CaService::LatestCrl(const std::string& ca, bool delta) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  std::string sql = std::string("SELECT der FROM crls WHERE ca = ? AND delta_base IS ") +
                    (delta ? "NOT NULL" : "NULL") + " ORDER BY number DESC LIMIT 1";
  GMPKI_ASSIGN_OR_RETURN(auto row, tx->QueryOne(sql, {ca}));
  if (!row) {
    return Error(ErrorCode::kNotFound,
                 std::string("no ") + (delta ? "delta " : "") + "CRL issued yet for CA '" + ca + "'");
  }
  return row->Blob(0);
}

}  // namespace gmpki::ca
