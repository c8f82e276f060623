// CRLs (CA-03): full and delta CRLs with CRL number and next update (RFC 5280 §5), for the
// whole CA or for one partition (§5.2.5 issuingDistributionPoint; README "CRL partitions").
#include <algorithm>
#include <chrono>
#include <map>

#include "services/ca/ca_internal.h"
#include "x509/extensions.h"
#include "x509/pem.h"

namespace gmpki::ca {
namespace {

int HexNibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// serial_hex (upper-case, no leading zeros, possibly odd length) to big-endian bytes, straight
// into `out`: a full CRL converts up to millions of rows, so no temporary strings.
Status SerialFromHex(const std::string& hex, Bytes& out) {
  out.resize((hex.size() + 1) / 2);
  std::size_t i = 0, o = 0;
  if (hex.size() % 2) {
    int v = HexNibble(hex[0]);
    if (v < 0) return Error(ErrorCode::kInternal, "bad serial in database: " + hex);
    out[o++] = static_cast<std::uint8_t>(v);
    i = 1;
  }
  for (; i < hex.size(); i += 2) {
    int hi = HexNibble(hex[i]), lo = HexNibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return Error(ErrorCode::kInternal, "bad serial in database: " + hex);
    out[o++] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return OkStatus();
}

}  // namespace

std::string CaService::CrlUrl(const std::string& ca, std::optional<std::int64_t> partition) const {
  std::string url = settings_.public_base_url + "/crl/" + ca;
  if (partition) url += "-p" + std::to_string(*partition);
  return url + ".crl";
}

Result<std::optional<std::int64_t>> CaService::NextCrlPartition(const std::string& ca) {
  if (settings_.crl_partition_size <= 0) return std::optional<std::int64_t>();
  const std::int64_t size = settings_.crl_partition_size;
  std::lock_guard lock(partition_mu_);
  auto it = partition_seq_.find(ca);
  if (it == partition_seq_.end()) {
    // Continue after the certificates already stored: the highest partition in use and how
    // full it is. Several nodes each keep their own counter, so a partition may end up with
    // up to (nodes x size) certificates; correctness only needs the stored partition to be the
    // one in the certificate's CRL DP, which it always is.
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(
        auto row, tx->QueryOne("SELECT crl_partition, COUNT(*) FROM certificates WHERE ca = ? AND"
                               " crl_partition = (SELECT MAX(crl_partition) FROM certificates"
                               " WHERE ca = ?) GROUP BY crl_partition",
                               {ca, ca}));
    std::int64_t seq = 0;
    if (row && !row->IsNull(0)) seq = row->Int(0) * size + row->Int(1);
    it = partition_seq_.emplace(ca, seq).first;
  }
  return std::optional<std::int64_t>(it->second++ / size);
}

std::string CrlResult::Pem() const { return x509::PemEncode(x509::kPemCrl, der); }

Result<CrlResult> CaService::IssueCrl(const services::Actor& actor, const std::string& ca,
                                      bool delta) {
  return IssueCrlFor(actor, ca, std::nullopt, delta);
}

Result<CrlResult> CaService::IssuePartitionCrl(const services::Actor& actor, const std::string& ca,
                                               std::int64_t partition, bool delta) {
  if (partition < 0) {
    return Error(ErrorCode::kInvalidArgument, "CRL partition numbers are not negative");
  }
  return IssueCrlFor(actor, ca, partition, delta);
}

Result<CrlResult> CaService::IssueCrlFor(const services::Actor& actor, const std::string& ca,
                                         std::optional<std::int64_t> partition, bool delta) {
  std::string object = "ca:" + ca;
  if (partition) object += "/p" + std::to_string(*partition);
  return Audited<CrlResult>(
      actor, delta ? "crl.issue-delta" : "crl.issue", object, services::Permission::kCrlIssue,
      [&](store::Transaction& tx, audit::AuditEvent& ev) -> Result<CrlResult> {
        GMPKI_ASSIGN_OR_RETURN(auto issuer, LoadIssuer(tx, ca));
        // The UPDATE takes the CA row's lock first, so two nodes never hand out one number.
        // Full, delta and partition CRLs share the CA's counter: numbers strictly increase
        // within every scope (RFC 5280 §5.2.3) and status_crl compares across them.
        GMPKI_RETURN_IF_ERROR(
            tx.Exec("UPDATE cas SET crl_number = crl_number + 1 WHERE name = ?", {ca}));
        GMPKI_ASSIGN_OR_RETURN(
            auto nrow,
            tx.QueryOne("SELECT crl_number, last_full_crl FROM cas WHERE name = ?", {ca}));
        const auto number = static_cast<std::uint64_t>(nrow->Int(0));
        auto base = static_cast<std::uint64_t>(nrow->Int(1));
        if (partition) {
          // A partition's delta is against that partition's latest full CRL (same scope,
          // RFC 5280 §5.2.4).
          GMPKI_ASSIGN_OR_RETURN(
              auto brow, tx.QueryOne("SELECT MAX(number) FROM crls WHERE ca = ? AND"
                                     " crl_partition = ? AND delta_base IS NULL",
                                     {ca, *partition}));
          base = brow && !brow->IsNull(0) ? static_cast<std::uint64_t>(brow->Int(0)) : 0;
        }
        if (delta && base == 0) {
          return Error(ErrorCode::kFailedPrecondition,
                       "CA '" + ca + "'" +
                           (partition ? " partition " + std::to_string(*partition) : "") +
                           " has no full CRL yet; a delta CRL needs a base");
        }
        x509::CrlSpec spec;
        spec.issuer = issuer.cert->subject();
        spec.this_update = clock_.Now();
        spec.next_update = spec.this_update + std::chrono::hours(settings_.crl_validity_hours);
        spec.crl_number = number;
        if (delta) spec.delta_base = base;
        if (partition) {
          // Only end-entity certificates get partitions (CA certificates name the full CRL),
          // hence onlyContainsUserCerts (RFC 5280 §5.2.5).
          spec.issuing_distribution_point =
              x509::IssuingDistributionPointValue{{CrlUrl(ca, partition)}, true, false};
        }
        // status_crl holds the CA's CRL number current when the status changed, i.e. the last
        // CRL issued before the change. A full CRL lists every revoked or held certificate of
        // its scope; a delta CRL lists the changes made since its base was issued
        // (status_crl >= base), released holds as removeFromCRL (RFC 5280 §5.2.4, §5.3.1).
        std::string sql = "SELECT serial_hex, reason, revoked_unix FROM certificates WHERE ca = ?";
        std::vector<store::Value> params{ca};
        if (partition) {
          sql += " AND crl_partition = ?";
          params.emplace_back(*partition);
        }
        if (delta) {
          sql += " AND status_crl >= ? AND (status <> 'good' OR reason = 8)";
          params.emplace_back(static_cast<std::int64_t>(base));
        } else {
          sql += " AND status <> 'good'";
        }
        // Serials are 16 octets (x509::GenerateSerial), so text order is numeric order and
        // BuildCrl's duplicate check stays linear.
        sql += " ORDER BY serial_hex";
        // Streamed (no Row per entry): with the partial covering indexes of migration 205 a
        // full CRL of a million entries reads only index pages, already in serial order.
        GMPKI_RETURN_IF_ERROR(tx.QueryEach(sql, params, [&spec](const store::Row& r) -> Status {
          x509::RevokedEntry& e = spec.entries.emplace_back();
          GMPKI_RETURN_IF_ERROR(SerialFromHex(r.Text(0), e.serial));
          if (!r.IsNull(1)) e.reason = static_cast<x509::RevocationReason>(r.Int(1));
          e.revocation_date = FromUnixSeconds(r.IsNull(2) ? 0 : r.Int(2));
          return OkStatus();
        }));
        GMPKI_ASSIGN_OR_RETURN(auto der, x509::BuildCrl(spec, issuer.signer));
        GMPKI_RETURN_IF_ERROR(tx.Exec(
            "INSERT INTO crls (ca, number, delta_base, this_update, next_update, der,"
            " crl_partition) VALUES (?, ?, ?, ?, ?, ?, ?)",
            {ca, static_cast<std::int64_t>(number),
             delta ? store::Value(static_cast<std::int64_t>(base)) : store::Value(store::Null{}),
             ToUnixSeconds(spec.this_update), ToUnixSeconds(spec.next_update), der,
             partition ? store::Value(*partition) : store::Value(store::Null{})}));
        if (!delta && !partition) {
          GMPKI_RETURN_IF_ERROR(tx.Exec("UPDATE cas SET last_full_crl = ? WHERE name = ?",
                                        {static_cast<std::int64_t>(number), ca}));
        }
        nlohmann::json payload{{"ca", ca}, {"number", number}};
        if (partition) payload["partition"] = *partition;
        GMPKI_RETURN_IF_ERROR(tx.Exec(
            "INSERT INTO outbox (topic, payload, created_unix) VALUES (?, ?, ?)",
            {std::string("crl.issued"), payload.dump(), ToUnixSeconds(spec.this_update)}));
        nlohmann::json detail{{"number", number},
                              {"entries", spec.entries.size()},
                              {"delta_base", delta ? nlohmann::json(base) : nlohmann::json()}};
        if (partition) detail["partition"] = *partition;
        ev.detail = detail.dump();
        CrlResult out;
        out.partition = partition;
        out.number = number;
        out.delta_base = spec.delta_base;
        out.entries = spec.entries.size();
        out.der = std::move(der);
        return out;
      });
}

Result<std::vector<CrlResult>> CaService::IssueChangedPartitionCrls(const services::Actor& actor,
                                                                    const std::string& ca,
                                                                    bool all_partitions) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, services::Permission::kCrlIssue));
  std::vector<std::int64_t> due;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(
        auto top, tx->QueryOne("SELECT MAX(crl_partition) FROM certificates WHERE ca = ?", {ca}));
    if (!top || top->IsNull(0)) return std::vector<CrlResult>{};
    const std::int64_t max_partition = top->Int(0);
    // Each partition's latest full CRL number.
    GMPKI_ASSIGN_OR_RETURN(
        auto latest_rows,
        tx->Query("SELECT crl_partition, MAX(number) FROM crls WHERE ca = ? AND"
                  " crl_partition IS NOT NULL AND delta_base IS NULL GROUP BY crl_partition",
                  {ca}));
    std::map<std::int64_t, std::int64_t> latest;
    std::int64_t oldest = 0;
    for (const auto& r : latest_rows) {
      latest[r.Int(0)] = r.Int(1);
      oldest = latest.size() == 1 ? r.Int(1) : std::min(oldest, r.Int(1));
    }
    // Status changes (revoked, held, released) at or after a partition's latest CRL number:
    // status_crl is the CA's CRL number current at the change, so a change made before CRL n
    // was issued has status_crl < n. Only changes since the oldest of those CRLs can matter,
    // which the (ca, status_crl) index finds without reading the CA's other certificates.
    std::map<std::int64_t, std::int64_t> newest_change;
    if (!latest.empty() && !all_partitions) {
      GMPKI_ASSIGN_OR_RETURN(
          auto changes,
          tx->Query("SELECT crl_partition, MAX(status_crl) FROM certificates WHERE ca = ? AND"
                    " status_crl >= ? AND crl_partition IS NOT NULL AND"
                    " (status <> 'good' OR reason = 8) GROUP BY crl_partition",
                    {ca, oldest}));
      for (const auto& r : changes) newest_change[r.Int(0)] = r.Int(1);
    }
    // Every partition in use needs a CRL at its distribution point, even an empty one.
    for (std::int64_t p = 0; p <= max_partition; ++p) {
      auto l = latest.find(p);
      auto c = newest_change.find(p);
      if (all_partitions || l == latest.end() ||
          (c != newest_change.end() && c->second >= l->second)) {
        due.push_back(p);
      }
    }
  }
  std::vector<CrlResult> out;
  for (std::int64_t p : due) {
    GMPKI_ASSIGN_OR_RETURN(CrlResult r, IssueCrlFor(actor, ca, p, false));
    out.push_back(std::move(r));
  }
  return out;
}

Result<Bytes> CaService::LatestCrl(const std::string& ca, bool delta) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  std::string sql = std::string("SELECT der FROM crls WHERE ca = ? AND crl_partition IS NULL AND"
                                " delta_base IS ") +
                    (delta ? "NOT NULL" : "NULL") + " ORDER BY number DESC LIMIT 1";
  GMPKI_ASSIGN_OR_RETURN(auto row, tx->QueryOne(sql, {ca}));
  if (!row) {
    return Error(ErrorCode::kNotFound,
                 std::string("no ") + (delta ? "delta " : "") + "CRL issued yet for CA '" + ca +
                     "'");
  }
  return row->Blob(0);
}

Result<Bytes> CaService::LatestPartitionCrl(const std::string& ca, std::int64_t partition,
                                            bool delta) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  std::string sql = std::string("SELECT der FROM crls WHERE ca = ? AND crl_partition = ? AND"
                                " delta_base IS ") +
                    (delta ? "NOT NULL" : "NULL") + " ORDER BY number DESC LIMIT 1";
  GMPKI_ASSIGN_OR_RETURN(auto row, tx->QueryOne(sql, {ca, partition}));
  if (!row) {
    return Error(ErrorCode::kNotFound, std::string("no ") + (delta ? "delta " : "") +
                                           "CRL issued yet for partition " +
                                           std::to_string(partition) + " of CA '" + ca + "'");
  }
  return row->Blob(0);
}

}  // namespace gmpki::ca
