// Encrypted, integrity-protected backup of the KM store, and its restore into an empty KM
// (KM-05 backup; CC-FDP stored-data integrity).
//
// Format (PERSISTENT):
//   "GMPKIKMB" || u32 big-endian header length || header (JSON: format, version, node,
//   created, counts, sm3 of the content) || 12-byte nonce ||
//   SM4-GCM(key = device DeriveWrappingKey("km-backup-v1", 16), nonce,
//           aad = "GMPKIKMB" || header, content) with its tag.
// The content is JSON: {"tables": {"<table>": [[value, ...], ...]}}, rows in primary-key order;
// integers as numbers, text as strings, blobs as {"b64": "..."}, NULL as null. Escrowed keys stay
// sealed under the device's escrow KEK inside it: the backup adds a second seal, it never unseals.
// The pool is left out (a restored KM tops it up again); so is nothing else.
#include <nlohmann/json.hpp>

#include "crypto/random.h"
#include "crypto/sm3.h"
#include "crypto/sm4.h"
#include "services/km/km_internal.h"

namespace gmpki::km {

using internal::Event;
using nlohmann::json;
using services::Actor;
using services::Permission;

namespace {

constexpr std::string_view kMagic = "GMPKIKMB";
constexpr int kVersion = 1;

struct TableSpec {
  const char* name;
  const char* columns;
  const char* order;
};

// Every table the backup carries, with its columns in a fixed order.
const std::vector<TableSpec>& Tables() {
  static const std::vector<TableSpec> kTables = {
      {"km_cas", "name, tls_fingerprint, status, registered_by, created_unix, updated_unix", "name"},
      {"km_keys",
       "key_id, ca, request_id, subject, enc_public_key, sign_public_key, status, cert_serial, not_after_unix, "
       "created_unix, revoked_unix, revoke_reason, previous_key_id, wrapped",
       "key_id"},
      {"km_archive",
       "key_id, ca, request_id, subject, enc_public_key, sign_public_key, status, cert_serial, not_after_unix, "
       "created_unix, revoked_unix, revoke_reason, previous_key_id, wrapped, archived_unix, retain_until_unix",
       "key_id"},
      {"km_recoveries",
       "id, key_id, requested_by, approved_by, authority, authority_fingerprint, authority_cert, case_ref, "
       "reason, status, created_unix, expires_unix, approved_unix, package",
       "id"},
  };
  return kTables;
}

std::size_t ColumnCount(const char* columns) {
  std::size_t n = 1;
  for (const char* p = columns; *p; ++p) n += *p == ',';
  return n;
}

json ValueToJson(const store::Value& v) {
  if (std::holds_alternative<store::Null>(v)) return nullptr;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return json{{"b64", Base64Encode(std::get<Bytes>(v))}};
}

Result<store::Value> JsonToValue(const json& j) {
  if (j.is_null()) return store::Value(store::Null{});
  if (j.is_number_integer()) return store::Value(j.get<std::int64_t>());
  if (j.is_string()) return store::Value(j.get<std::string>());
  if (j.is_object() && j.contains("b64") && j["b64"].is_string()) {
    GMPKI_ASSIGN_OR_RETURN(auto b, Base64Decode(j["b64"].get<std::string>()));
    return store::Value(std::move(b));
  }
  return Error(ErrorCode::kMalformedInput, "backup content holds a value of an unknown kind");
}

void PutU32(Bytes& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}

Result<SecretBytes> BackupKey(device::CryptoDevice& device) {
  GMPKI_ASSIGN_OR_RETURN(auto session, device.OpenSession());
  return session->DeriveWrappingKey(kBackupContext, 16);
}

}  // namespace

Result<Bytes> KmService::ExportBackup(const Actor& actor, BackupReport* report_out) {
  auto ev = Event(actor, "km.backup.export", "km-store", settings_.node, clock_);
  if (auto st = services::Authorize(actor, Permission::kKmBackup); !st.ok()) {
    (void)audit::RecordRefusal(db_, ev, st.error());
    return st.error();
  }
  json tables = json::object();
  BackupReport report;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    for (const auto& t : Tables()) {
      GMPKI_ASSIGN_OR_RETURN(auto rows, tx->Query(std::string("SELECT ") + t.columns + " FROM " + t.name +
                                                  " ORDER BY " + t.order));
      json arr = json::array();
      for (const auto& r : rows) {
        json row = json::array();
        for (std::size_t i = 0; i < r.size(); ++i) row.push_back(ValueToJson(r.at(i)));
        arr.push_back(std::move(row));
      }
      tables[t.name] = std::move(arr);
    }
  }
  report.cas = static_cast<std::int64_t>(tables["km_cas"].size());
  report.keys = static_cast<std::int64_t>(tables["km_keys"].size());
  report.archived = static_cast<std::int64_t>(tables["km_archive"].size());
  report.recoveries = static_cast<std::int64_t>(tables["km_recoveries"].size());
  std::string content = json{{"tables", std::move(tables)}}.dump();
  auto digest = crypto::Sm3(ByteView(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()));
  report.sm3 = HexEncode(ByteView(digest.data(), digest.size()));
  json header{{"format", "gmpki-km-backup"},
              {"version", kVersion},
              {"node", settings_.node},
              {"created", ToUnixSeconds(clock_.Now())},
              {"counts", {{"cas", report.cas}, {"keys", report.keys}, {"archived", report.archived},
                          {"recoveries", report.recoveries}}},
              {"sm3", report.sm3}};
  std::string header_text = header.dump();

  Bytes out(kMagic.begin(), kMagic.end());
  PutU32(out, static_cast<std::uint32_t>(header_text.size()));
  out.insert(out.end(), header_text.begin(), header_text.end());
  Bytes aad(out.begin(), out.begin() + kMagic.size());
  aad.insert(aad.end(), header_text.begin(), header_text.end());
  GMPKI_ASSIGN_OR_RETURN(auto nonce, crypto::RandomBytes(crypto::kSm4GcmIvSize));
  GMPKI_ASSIGN_OR_RETURN(auto key, BackupKey(device_));
  Bytes plain(content.begin(), content.end());
  SecureZero(content.data(), content.size());
  auto sealed = crypto::Sm4GcmSeal(key.view(), nonce, aad, plain);
  SecureZero(plain.data(), plain.size());
  if (!sealed.ok()) return sealed.error();
  out.insert(out.end(), nonce.begin(), nonce.end());
  out.insert(out.end(), sealed->begin(), sealed->end());

  ev.detail = json{{"cas", report.cas}, {"keys", report.keys}, {"archived", report.archived},
                   {"recoveries", report.recoveries}, {"sm3", report.sm3}}
                  .dump();
  GMPKI_RETURN_IF_ERROR(audit::RunAudited(db_, ev, [](store::Transaction&) { return OkStatus(); }));
  if (report_out) *report_out = report;
  return out;
}

Result<BackupReport> KmService::ImportBackup(const Actor& actor, ByteView backup) {
  auto ev = Event(actor, "km.backup.import", "km-store", settings_.node, clock_);
  auto refuse = [&](Error e) -> Error {
    (void)audit::RecordRefusal(db_, ev, e);
    return e;
  };
  if (auto st = services::Authorize(actor, Permission::kKmBackup); !st.ok()) return refuse(st.error());
  const std::size_t min = kMagic.size() + 4 + crypto::kSm4GcmIvSize + crypto::kSm4GcmTagSize;
  if (backup.size() < min || !std::equal(kMagic.begin(), kMagic.end(), backup.begin())) {
    return refuse(Error(ErrorCode::kMalformedInput, "not a gmpki KM backup (bad magic or truncated)"));
  }
  std::size_t hlen = 0;
  for (int i = 0; i < 4; ++i) hlen = (hlen << 8) | backup[kMagic.size() + i];
  if (hlen > backup.size() - min) return refuse(Error(ErrorCode::kMalformedInput, "KM backup header is truncated"));
  std::string header_text(reinterpret_cast<const char*>(backup.data() + kMagic.size() + 4), hlen);
  json header = json::parse(header_text, nullptr, false);
  if (!header.is_object() || header.value("format", "") != "gmpki-km-backup" || header.value("version", 0) != kVersion) {
    return refuse(Error(ErrorCode::kMalformedInput, "KM backup header is not a version-1 gmpki KM backup"));
  }
  Bytes aad(kMagic.begin(), kMagic.end());
  aad.insert(aad.end(), header_text.begin(), header_text.end());
  ByteView nonce = backup.subspan(kMagic.size() + 4 + hlen, crypto::kSm4GcmIvSize);
  ByteView sealed = backup.subspan(kMagic.size() + 4 + hlen + crypto::kSm4GcmIvSize);
  GMPKI_ASSIGN_OR_RETURN(auto key, BackupKey(device_));
  auto plain = crypto::Sm4GcmOpen(key.view(), nonce, aad, sealed);
  if (!plain.ok()) {
    return refuse(Error(ErrorCode::kIntegrityFailure,
                        "the KM backup does not verify: it was altered, or made by a KM whose device holds "
                        "another master key (restore the device from the same custodian shares first)"));
  }
  std::string content(plain->begin(), plain->end());
  SecureZero(plain->data(), plain->size());
  auto digest = crypto::Sm3(ByteView(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()));
  BackupReport report;
  report.sm3 = HexEncode(ByteView(digest.data(), digest.size()));
  if (report.sm3 != header.value("sm3", "")) {
    SecureZero(content.data(), content.size());
    return refuse(Error(ErrorCode::kIntegrityFailure, "the KM backup's content digest does not match its header"));
  }
  json doc = json::parse(content, nullptr, false);
  SecureZero(content.data(), content.size());
  if (!doc.is_object() || !doc.contains("tables") || !doc["tables"].is_object()) {
    return refuse(Error(ErrorCode::kMalformedInput, "KM backup content is not a table set"));
  }
  Status st = audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    for (const auto& t : Tables()) {
      GMPKI_ASSIGN_OR_RETURN(auto count, tx.QueryOne(std::string("SELECT COUNT(*) FROM ") + t.name));
      if (count->Int(0) != 0) {
        return Error(ErrorCode::kFailedPrecondition, std::string("a KM backup is restored into an empty KM only; ") +
                                                         t.name + " holds rows");
      }
    }
    for (const auto& t : Tables()) {
      const json& rows = doc["tables"].contains(t.name) ? doc["tables"][t.name] : json::array();
      if (!rows.is_array()) return Error(ErrorCode::kMalformedInput, std::string("backup table ") + t.name);
      std::size_t ncol = ColumnCount(t.columns);
      std::string sql = std::string("INSERT INTO ") + t.name + " (" + t.columns + ") VALUES (";
      for (std::size_t i = 0; i < ncol; ++i) sql += i ? ", ?" : "?";
      sql += ")";
      for (const auto& row : rows) {
        if (!row.is_array() || row.size() != ncol) {
          return Error(ErrorCode::kMalformedInput, std::string("a row of backup table ") + t.name +
                                                       " has the wrong number of columns");
        }
        std::vector<store::Value> params;
        for (const auto& v : row) {
          GMPKI_ASSIGN_OR_RETURN(auto val, JsonToValue(v));
          params.push_back(std::move(val));
        }
        GMPKI_RETURN_IF_ERROR(tx.Exec(sql, params));
      }
    }
    return OkStatus();
  });
  if (!st.ok()) return st.error();
  const json& tables = doc["tables"];
  auto size = [&](const char* n) { return tables.contains(n) ? static_cast<std::int64_t>(tables[n].size()) : 0; };
  report.cas = size("km_cas");
  report.keys = size("km_keys");
  report.archived = size("km_archive");
  report.recoveries = size("km_recoveries");
  return report;
}

}  // namespace gmpki::km
