#include "services/km/km_service.h"

#include <future>

#include <nlohmann/json.hpp>

#include "crypto/random.h"
#include "services/core/audit_event.h"
#include "services/core/config.h"
#include "services/km/km_internal.h"
#include "x509/certificate.h"
#include "x509/key_envelope.h"

namespace gmpki::km {

using services::Actor;
using services::Permission;

std::vector<store::Migration> KmMigrations() {
  // Block 600 belongs to the KM (store.h, kMigrationBlock). The KM's database is its own: these
  // tables never share a database with the CA's (KM-01).
  return {
      {600, "key management centre",
       "CREATE TABLE km_cas ("
       " name TEXT PRIMARY KEY, tls_fingerprint TEXT NOT NULL UNIQUE, status TEXT NOT NULL,"
       " registered_by TEXT NOT NULL, created_unix INTEGER NOT NULL, updated_unix INTEGER NOT NULL);"
       "CREATE TABLE km_pool ("
       " id {{autoid}}, public_key {{blob}} NOT NULL, wrapped {{blob}} NOT NULL,"
       " created_unix INTEGER NOT NULL);"
       "CREATE TABLE km_keys ("
       " key_id TEXT PRIMARY KEY, ca TEXT NOT NULL, request_id TEXT NOT NULL, subject TEXT NOT NULL,"
       " enc_public_key {{blob}} NOT NULL, sign_public_key {{blob}} NOT NULL, status TEXT NOT NULL,"
       " cert_serial TEXT, not_after_unix INTEGER NOT NULL, created_unix INTEGER NOT NULL,"
       " revoked_unix INTEGER NOT NULL, revoke_reason TEXT NOT NULL, previous_key_id TEXT NOT NULL,"
       " wrapped {{blob}} NOT NULL, UNIQUE (ca, request_id));"
       "CREATE INDEX km_keys_cert ON km_keys(ca, cert_serial);"
       "CREATE TABLE km_archive ("
       " key_id TEXT PRIMARY KEY, ca TEXT NOT NULL, request_id TEXT NOT NULL, subject TEXT NOT NULL,"
       " enc_public_key {{blob}} NOT NULL, sign_public_key {{blob}} NOT NULL, status TEXT NOT NULL,"
       " cert_serial TEXT, not_after_unix INTEGER NOT NULL, created_unix INTEGER NOT NULL,"
       " revoked_unix INTEGER NOT NULL, revoke_reason TEXT NOT NULL, previous_key_id TEXT NOT NULL,"
       " wrapped {{blob}} NOT NULL, archived_unix INTEGER NOT NULL, retain_until_unix INTEGER NOT NULL);"
       "CREATE INDEX km_archive_cert ON km_archive(ca, cert_serial);"
       "CREATE TABLE km_recoveries ("
       " id TEXT PRIMARY KEY, key_id TEXT NOT NULL, requested_by TEXT NOT NULL,"
       " approved_by TEXT NOT NULL, authority TEXT NOT NULL, authority_fingerprint TEXT NOT NULL,"
       " authority_cert {{blob}} NOT NULL, case_ref TEXT NOT NULL, reason TEXT NOT NULL,"
       " status TEXT NOT NULL, created_unix INTEGER NOT NULL, expires_unix INTEGER NOT NULL,"
       " approved_unix INTEGER NOT NULL, package {{blob}})"},
  };
}

namespace internal {

Result<KeyRecord> RowToKey(const store::Row& r, bool archived) {
  KeyRecord k;
  k.key_id = r.Text(0);
  k.ca = r.Text(1);
  k.request_id = r.Text(2);
  k.subject = r.Text(3);
  GMPKI_ASSIGN_OR_RETURN(k.enc_public_key, crypto::Sm2PublicKey::FromPoint(r.Blob(4)));
  GMPKI_ASSIGN_OR_RETURN(k.sign_public_key, crypto::Sm2PublicKey::FromPoint(r.Blob(5)));
  k.status = r.Text(6);
  k.cert_serial = r.IsNull(7) ? "" : r.Text(7);
  k.not_after_unix = r.Int(8);
  k.created_unix = r.Int(9);
  k.revoked_unix = r.Int(10);
  k.revoke_reason = r.Text(11);
  k.previous_key_id = r.Text(12);
  k.archived = archived;
  if (archived && r.size() > 13) k.retain_until_unix = r.Int(13);
  return k;
}

audit::AuditEvent Event(std::string actor, std::string role, std::string action, std::string object,
                        const std::string& node, const Clock& clock) {
  audit::AuditEvent ev;
  ev.actor = std::move(actor);
  ev.role = std::move(role);
  ev.action = std::move(action);
  ev.object = std::move(object);
  ev.node = node;
  ev.time = clock.Now();
  return ev;
}

audit::AuditEvent Event(const Actor& a, std::string action, std::string object, const std::string& node,
                        const Clock& clock) {
  return services::ActorEvent(a, std::move(action), std::move(object), node, clock.Now());
}

Result<std::string> NewId() {
  GMPKI_ASSIGN_OR_RETURN(auto b, crypto::RandomBytes(16));
  return HexEncode(b);
}

Status CheckRequestId(const std::string& id) {
  if (id.empty() || id.size() > 128) {
    return Error(ErrorCode::kInvalidArgument, "request_id must be 1..128 characters");
  }
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == ':' || c == '-';
    if (!ok) return Error(ErrorCode::kInvalidArgument, "request_id may hold only A-Z a-z 0-9 . _ : -");
  }
  return OkStatus();
}

}  // namespace internal

namespace {

using internal::Event;
using internal::kKeyColumns;
using internal::RowToKey;
using nlohmann::json;

audit::AuditEvent CaEvent(const KmCa& ca, std::string action, std::string object, const std::string& node,
                          const Clock& clock) {
  return Event("ca:" + ca.name, "ca-system", std::move(action), std::move(object), node, clock);
}

Result<KmCa> RowToCa(const store::Row& r) {
  return KmCa{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4), r.Int(5)};
}

constexpr const char* kCaColumns = "name, tls_fingerprint, status, registered_by, created_unix, updated_unix";

bool IsLowerHex(const std::string& s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Result<x509::Certificate> ParseRecipientCertificate(ByteView data, const char* field) {
  if (data.empty()) return Error(ErrorCode::kInvalidArgument, std::string(field) + " is required");
  auto cert = x509::Certificate::Parse(data);
  if (!cert.ok()) {
    return Error(ErrorCode::kInvalidArgument, std::string(field) + " is not a usable SM2 certificate: " +
                                                  cert.error().message());
  }
  return std::move(*cert);
}

}  // namespace

KmService::KmService(store::Database& db, device::CryptoDevice& device, const Clock& clock,
                     KmSettings settings)
    : db_(db), device_(device), clock_(clock), settings_(std::move(settings)) {}

// ---------------------------------------------------------------- CA registry

Result<KmCa> KmService::RegisterCa(const Actor& actor, const std::string& name,
                                   const std::string& tls_fingerprint, bool replace) {
  auto ev = Event(actor, replace ? "km.ca.replace-certificate" : "km.ca.register", "km-ca:" + name, settings_.node,
                  clock_);
  ev.detail = json{{"tls_fingerprint", tls_fingerprint}}.dump();
  auto refuse = [&](Error e) -> Error {
    (void)audit::RecordRefusal(db_, ev, e);
    return e;
  };
  if (auto st = services::Authorize(actor, Permission::kKmManage); !st.ok()) return refuse(st.error());
  if (!services::IsValidRaName(name)) {
    return refuse(Error(ErrorCode::kInvalidArgument, "CA name must be 1..64 of a-z, 0-9 and '-'"));
  }
  if (tls_fingerprint.size() != 64 || !IsLowerHex(tls_fingerprint)) {
    return refuse(Error(ErrorCode::kInvalidArgument,
                        "tls_fingerprint must be the 64 lower-case hex digits of the SM3 fingerprint"));
  }
  std::int64_t now = ToUnixSeconds(clock_.Now());
  KmCa ca{name, tls_fingerprint, "active", actor.name, now, now};
  GMPKI_RETURN_IF_ERROR(audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    if (replace) {
      GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT created_unix, registered_by FROM km_cas WHERE name = ?", {name}));
      if (!row) return Error(ErrorCode::kNotFound, "no CA node named '" + name + "' is registered");
      ca.created_unix = row->Int(0);
      ca.registered_by = row->Text(1);
      auto u = tx.Exec("UPDATE km_cas SET tls_fingerprint = ?, status = 'active', updated_unix = ? WHERE name = ?",
                       {tls_fingerprint, now, name});
      if (!u.ok() && u.error().code() == ErrorCode::kAlreadyExists) {
        return Error(ErrorCode::kAlreadyExists, "this TLS certificate belongs to another registered CA node");
      }
      if (!u.ok()) return u.error();
      return OkStatus();
    }
    auto r = tx.Exec("INSERT INTO km_cas (name, tls_fingerprint, status, registered_by, created_unix, "
                     "updated_unix) VALUES (?, ?, 'active', ?, ?, ?)",
                     {name, tls_fingerprint, actor.name, now, now});
    if (!r.ok() && r.error().code() == ErrorCode::kAlreadyExists) {
      return Error(ErrorCode::kAlreadyExists, "a CA named '" + name + "' or with this TLS certificate is "
                                              "already registered");
    }
    if (!r.ok()) return r.error();
    return OkStatus();
  }));
  return ca;
}

Status KmService::SuspendCa(const Actor& actor, const std::string& name) {
  auto ev = Event(actor, "km.ca.suspend", "km-ca:" + name, settings_.node, clock_);
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kKmManage));
  return audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto n, tx.Exec("UPDATE km_cas SET status = 'suspended', updated_unix = ? "
                                           "WHERE name = ?",
                                           {ToUnixSeconds(clock_.Now()), name}));
    if (n == 0) return Error(ErrorCode::kNotFound, "no CA named '" + name + "' is registered");
    return OkStatus();
  });
}

Status KmService::ResumeCa(const Actor& actor, const std::string& name) {
  auto ev = Event(actor, "km.ca.resume", "km-ca:" + name, settings_.node, clock_);
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kKmManage));
  return audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto n, tx.Exec("UPDATE km_cas SET status = 'active', updated_unix = ? "
                                           "WHERE name = ?",
                                           {ToUnixSeconds(clock_.Now()), name}));
    if (n == 0) return Error(ErrorCode::kNotFound, "no CA named '" + name + "' is registered");
    return OkStatus();
  });
}

Result<std::vector<KmCa>> KmService::ListCas(const Actor& actor) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kKmRead));
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto rows, tx->Query(std::string("SELECT ") + kCaColumns + " FROM km_cas ORDER BY name"));
  std::vector<KmCa> out;
  for (const auto& r : rows) {
    GMPKI_ASSIGN_OR_RETURN(auto c, RowToCa(r));
    out.push_back(std::move(c));
  }
  return out;
}

Result<KmCa> KmService::AuthenticateCa(const std::string& tls_fingerprint) {
  std::optional<store::Row> row;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(row, tx->QueryOne(std::string("SELECT ") + kCaColumns +
                                                 " FROM km_cas WHERE tls_fingerprint = ?",
                                             {tls_fingerprint}));
  }
  auto ev = Event("tls:" + tls_fingerprint.substr(0, 16), "", "km.ca.authenticate", "", settings_.node, clock_);
  if (!row) {
    Error e(ErrorCode::kUnauthenticated, "this TLS client certificate belongs to no CA registered with the KM");
    (void)audit::RecordRefusal(db_, ev, e);
    return e;
  }
  GMPKI_ASSIGN_OR_RETURN(auto ca, RowToCa(*row));
  if (ca.status != "active") {
    ev.object = "km-ca:" + ca.name;
    Error e(ErrorCode::kPermissionDenied, "CA '" + ca.name + "' is suspended at this KM");
    (void)audit::RecordRefusal(db_, ev, e);
    return e;
  }
  return ca;
}

// ---------------------------------------------------------------- CA requests

Result<KeyRecord> KmService::LoadKey(store::Transaction& tx, const std::string& where,
                                     const std::vector<store::Value>& params, bool include_archive) {
  GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne(std::string("SELECT ") + kKeyColumns + " FROM km_keys WHERE " +
                                                   where,
                                               params));
  if (row) return RowToKey(*row, false);
  if (include_archive) {
    GMPKI_ASSIGN_OR_RETURN(row, tx.QueryOne(std::string("SELECT ") + kKeyColumns +
                                                ", retain_until_unix FROM km_archive WHERE " + where,
                                            params));
    if (row) return RowToKey(*row, true);
  }
  return Error(ErrorCode::kNotFound, "no such escrowed key");
}

Result<std::pair<crypto::Sm2PublicKey, Bytes>> KmService::LoadWrapped(store::Transaction& tx,
                                                                      const std::string& key_id) {
  GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT enc_public_key, wrapped FROM km_keys WHERE key_id = ?",
                                               {key_id}));
  if (!row) {
    GMPKI_ASSIGN_OR_RETURN(row, tx.QueryOne("SELECT enc_public_key, wrapped FROM km_archive WHERE key_id = ?",
                                            {key_id}));
  }
  if (!row) return Error(ErrorCode::kNotFound, "no escrowed key '" + key_id + "'");
  GMPKI_ASSIGN_OR_RETURN(auto pub, crypto::Sm2PublicKey::FromPoint(row->Blob(0)));
  return std::make_pair(std::move(pub), row->Blob(1));
}

Result<KeyDelivery> KmService::Deliver(const KeyRecord& key, ByteView wrapped, ByteView sign_certificate_der) {
  GMPKI_ASSIGN_OR_RETURN(auto cert, x509::Certificate::Parse(sign_certificate_der));
  GMPKI_ASSIGN_OR_RETURN(auto session, device_.OpenSession());
  KeyDelivery d;
  d.key = key;
  {
    GMPKI_ASSIGN_OR_RETURN(auto parts, session->EnvelopeWrappedKey(kEscrowContext, wrapped, key.enc_public_key,
                                                                   cert.public_key(),
                                                                   device::EnvelopeForm::kSm4Ecb64));
    x509::EcbKeyEnvelope env{std::move(parts.encrypted_cek), std::move(parts.ciphertext), key.enc_public_key};
    GMPKI_ASSIGN_OR_RETURN(d.skf_blob, x509::EncodeSkfEnvelopedKeyBlob(env));
    GMPKI_ASSIGN_OR_RETURN(d.sm2_enveloped_key, x509::EncodeSm2EnvelopedKey(env));
  }
  {
    GMPKI_ASSIGN_OR_RETURN(auto parts, session->EnvelopeWrappedKey(kEscrowContext, wrapped, key.enc_public_key,
                                                                   cert.public_key(),
                                                                   device::EnvelopeForm::kSm4CbcDer));
    x509::CbcKeyEnvelope env{std::move(parts.encrypted_cek), std::move(parts.iv), std::move(parts.ciphertext),
                             key.enc_public_key};
    x509::RecipientId rid = x509::RecipientIdFromCertificate(cert);
    GMPKI_ASSIGN_OR_RETURN(d.enveloped_data, x509::EncodeGmEnvelopedData(env, rid));
  }
  return d;
}

Result<KeyDelivery> KmService::ApplyKey(const KmCa& ca, const ApplyKeyRequest& request) {
  auto ev = CaEvent(ca, "km.key.apply", "km-request:" + ca.name + "/" + request.request_id, settings_.node,
                    clock_);
  auto refuse = [&](Error e) -> Error {
    (void)audit::RecordRefusal(db_, ev, e);
    return e;
  };
  if (auto st = internal::CheckRequestId(request.request_id); !st.ok()) return refuse(st.error());
  auto cert = ParseRecipientCertificate(request.sign_certificate, "sign_certificate");
  if (!cert.ok()) return refuse(cert.error());
  std::int64_t now = ToUnixSeconds(clock_.Now());
  if (request.not_after_unix <= now) {
    return refuse(Error(ErrorCode::kInvalidArgument, "not_after must lie in the future"));
  }
  const crypto::Sm2PublicKey& sign_pub = cert->public_key();
  std::string subject = cert->subject().ToString();

  KeyRecord rec;
  Bytes wrapped;
  bool repeat = false;
  GMPKI_ASSIGN_OR_RETURN(std::string key_id, internal::NewId());
  ev.object = "km-key:" + key_id;
  ev.detail = json{{"request_id", request.request_id},
                   {"subject", subject},
                   {"sign_certificate", cert->fingerprint_hex()},
                   {"previous_key_id", request.previous_key_id}}
                  .dump();
  Status st = audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    auto existing = LoadKey(tx, "ca = ? AND request_id = ?", {ca.name, request.request_id}, true);
    if (existing.ok()) {
      if (!(existing->sign_public_key == sign_pub)) {
        return Error(ErrorCode::kConflict, "request_id '" + request.request_id +
                                               "' was used for another signing key");
      }
      if (existing->status == "revoked") {
        return Error(ErrorCode::kConflict, "the key of request '" + request.request_id +
                                               "' is revoked and is never delivered again");
      }
      rec = *existing;
      GMPKI_ASSIGN_OR_RETURN(auto w, LoadWrapped(tx, rec.key_id));
      wrapped = std::move(w.second);
      repeat = true;
      return OkStatus();
    }
    if (existing.error().code() != ErrorCode::kNotFound) return existing.error();
    if (!request.previous_key_id.empty()) {
      auto prev = LoadKey(tx, "key_id = ? AND ca = ?", {request.previous_key_id, ca.name}, true);
      if (!prev.ok()) {
        return Error(ErrorCode::kNotFound, "previous_key_id '" + request.previous_key_id +
                                               "' names no key of this CA");
      }
    }
    // Claim the oldest pool entry; a concurrent node may take it first (DELETE changes nothing),
    // then try the next one. An empty pool generates on demand.
    std::int64_t after = 0;
    crypto::Sm2PublicKey enc_pub;
    for (int attempt = 0;; ++attempt) {
      GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT id, public_key, wrapped FROM km_pool WHERE id > ? "
                                                   "ORDER BY id LIMIT 1",
                                                   {after}));
      if (!row || attempt >= 8) {
        GMPKI_ASSIGN_OR_RETURN(auto session, device_.OpenSession());
        GMPKI_ASSIGN_OR_RETURN(auto fresh, session->GenerateWrappedKeyPairs(kEscrowContext, 1));
        enc_pub = fresh.at(0).public_key;
        wrapped = std::move(fresh.at(0).wrapped_private);
        break;
      }
      after = row->Int(0);
      GMPKI_ASSIGN_OR_RETURN(auto n, tx.Exec("DELETE FROM km_pool WHERE id = ?", {after}));
      if (n == 1) {
        GMPKI_ASSIGN_OR_RETURN(enc_pub, crypto::Sm2PublicKey::FromPoint(row->Blob(1)));
        wrapped = row->Blob(2);
        break;
      }
    }
    rec = KeyRecord{key_id, ca.name, request.request_id, subject, enc_pub, sign_pub, "issued", "",
                    request.not_after_unix, now, 0, "", request.previous_key_id};
    auto ins = tx.Exec(std::string("INSERT INTO km_keys (") + kKeyColumns +
                           ", wrapped) VALUES (?, ?, ?, ?, ?, ?, 'issued', NULL, ?, ?, 0, '', ?, ?)",
                       {key_id, ca.name, request.request_id, subject, Bytes(enc_pub.point().begin(), enc_pub.point().end()),
                        Bytes(sign_pub.point().begin(), sign_pub.point().end()), request.not_after_unix, now,
                        request.previous_key_id, wrapped});
    if (!ins.ok()) return ins.error();
    return OkStatus();
  });
  if (!st.ok()) return st.error();
  (void)repeat;
  return Deliver(rec, wrapped, cert->der());
}

Status KmService::BindCertificate(const KmCa& ca, const std::string& key_id, const std::string& cert_serial) {
  auto ev = CaEvent(ca, "km.key.bind", "km-key:" + key_id, settings_.node, clock_);
  ev.detail = json{{"cert_serial", cert_serial}}.dump();
  if (cert_serial.empty() || cert_serial.size() > 128) {
    Error e(ErrorCode::kInvalidArgument, "cert_serial must be 1..128 characters (\"<ca>:<serial hex>\")");
    (void)audit::RecordRefusal(db_, ev, e);
    return e;
  }
  return audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto key, LoadKey(tx, "key_id = ? AND ca = ?", {key_id, ca.name}, false));
    if (key.status == "revoked") return Error(ErrorCode::kConflict, "key " + key_id + " is revoked");
    if (!key.cert_serial.empty()) {
      if (key.cert_serial == cert_serial) return OkStatus();
      return Error(ErrorCode::kConflict, "key " + key_id + " is already bound to certificate " + key.cert_serial);
    }
    GMPKI_ASSIGN_OR_RETURN(auto n, tx.Exec("UPDATE km_keys SET status = 'active', cert_serial = ? WHERE key_id = ? "
                                           "AND status = 'issued'",
                                           {cert_serial, key_id}));
    if (n != 1) return Error(ErrorCode::kConflict, "key " + key_id + " changed state meanwhile");
    return OkStatus();
  });
}

Status KmService::RevokeKey(const KmCa& ca, const std::string& cert_serial, const std::string& reason) {
  auto ev = CaEvent(ca, "km.key.revoke", "km-cert:" + ca.name + "/" + cert_serial, settings_.node, clock_);
  ev.detail = json{{"reason", reason}}.dump();
  if (reason.empty() || reason.size() > 64) {
    Error e(ErrorCode::kInvalidArgument, "reason must be 1..64 characters");
    (void)audit::RecordRefusal(db_, ev, e);
    return e;
  }
  return audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto key, LoadKey(tx, "ca = ? AND cert_serial = ?", {ca.name, cert_serial}, true));
    if (key.status == "revoked") return OkStatus();
    const char* table = key.archived ? "km_archive" : "km_keys";
    GMPKI_RETURN_IF_ERROR(tx.Exec(std::string("UPDATE ") + table +
                                      " SET status = 'revoked', revoked_unix = ?, revoke_reason = ? WHERE key_id = ?",
                                  {ToUnixSeconds(clock_.Now()), reason, key.key_id}));
    return OkStatus();
  });
}

Result<KeyDelivery> KmService::RestoreKey(const KmCa& ca, const RestoreKeyRequest& request) {
  auto ev = CaEvent(ca, "km.key.restore", "km-cert:" + ca.name + "/" + request.cert_serial, settings_.node,
                    clock_);
  auto refuse = [&](Error e) -> Error {
    (void)audit::RecordRefusal(db_, ev, e);
    return e;
  };
  if (auto st = internal::CheckRequestId(request.request_id); !st.ok()) return refuse(st.error());
  auto cert = ParseRecipientCertificate(request.sign_certificate, "sign_certificate");
  if (!cert.ok()) return refuse(cert.error());
  ev.detail = json{{"request_id", request.request_id}, {"sign_certificate", cert->fingerprint_hex()}}.dump();
  KeyRecord key;
  Bytes wrapped;
  GMPKI_RETURN_IF_ERROR(audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    auto k = LoadKey(tx, "ca = ? AND cert_serial = ?", {ca.name, request.cert_serial}, true);
    if (!k.ok()) {
      return Error(ErrorCode::kNotFound, "no escrowed key for certificate " + request.cert_serial + " of CA " +
                                             ca.name);
    }
    if (k->status == "revoked") {
      return Error(ErrorCode::kConflict, "the key of certificate " + request.cert_serial +
                                             " is revoked and is never delivered again");
    }
    if (k->archived || k->not_after_unix < ToUnixSeconds(clock_.Now())) {
      return Error(ErrorCode::kFailedPrecondition, "the key of certificate " + request.cert_serial +
                                                       " has expired; only judicial recovery can reach it");
    }
    key = std::move(*k);
    GMPKI_ASSIGN_OR_RETURN(auto w, LoadWrapped(tx, key.key_id));
    wrapped = std::move(w.second);
    // The new carrier's signing key is the one further deliveries are made for.
    const auto& p = cert->public_key().point();
    GMPKI_RETURN_IF_ERROR(tx.Exec("UPDATE km_keys SET sign_public_key = ? WHERE key_id = ?",
                                  {Bytes(p.begin(), p.end()), key.key_id}));
    key.sign_public_key = cert->public_key();
    return OkStatus();
  }));
  return Deliver(key, wrapped, cert->der());
}

// ---------------------------------------------------------------- reads

Result<KeyRecord> KmService::GetKey(const Actor& actor, const std::string& key_id) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kKmRead));
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  auto k = LoadKey(*tx, "key_id = ?", {key_id}, true);
  if (!k.ok() && k.error().code() == ErrorCode::kNotFound) {
    return Error(ErrorCode::kNotFound, "no escrowed key '" + key_id + "'");
  }
  return k;
}

Result<KeyRecord> KmService::FindByCertificate(const Actor& actor, const std::string& ca,
                                               const std::string& cert_serial) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kKmRead));
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  auto k = LoadKey(*tx, "ca = ? AND cert_serial = ?", {ca, cert_serial}, true);
  if (!k.ok() && k.error().code() == ErrorCode::kNotFound) {
    return Error(ErrorCode::kNotFound, "no escrowed key for certificate " + cert_serial + " of CA " + ca);
  }
  return k;
}

Result<PoolState> KmService::State(const Actor& actor) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kKmRead));
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  PoolState s;
  GMPKI_ASSIGN_OR_RETURN(auto a, tx->QueryOne("SELECT COUNT(*) FROM km_pool"));
  GMPKI_ASSIGN_OR_RETURN(auto k, tx->QueryOne("SELECT COUNT(*) FROM km_keys"));
  GMPKI_ASSIGN_OR_RETURN(auto r, tx->QueryOne("SELECT COUNT(*) FROM km_archive"));
  s.available = a->Int(0);
  s.escrowed = k->Int(0);
  s.archived = r->Int(0);
  return s;
}

// ---------------------------------------------------------------- pool

Result<std::int64_t> KmService::PoolAvailable() {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto a, tx->QueryOne("SELECT COUNT(*) FROM km_pool"));
  return a->Int(0);
}

Result<std::size_t> KmService::RefillPool(std::size_t target) {
  // Two stages overlap: the device generates (and seals) the next batch on another thread while
  // this one stores the current batch, so the refill runs at the rate of the slower stage.
  GMPKI_ASSIGN_OR_RETURN(std::shared_ptr<device::Session> gen_session, device_.OpenSession());
  auto generate = [gen_session](std::size_t n) {
    return gen_session->GenerateWrappedKeyPairs(kEscrowContext, n);
  };
  auto deficit = [&]() -> Result<std::size_t> {
    // Re-read each round: another node on the same database may be filling the pool too.
    GMPKI_ASSIGN_OR_RETURN(std::int64_t available, PoolAvailable());
    if (static_cast<std::size_t>(available) >= target) return std::size_t{0};
    return target - static_cast<std::size_t>(available);
  };
  std::size_t added = 0;
  GMPKI_ASSIGN_OR_RETURN(std::size_t short_by, deficit());
  if (short_by == 0) return added;
  auto next = std::async(std::launch::async, generate, std::min(settings_.pool_batch, short_by));
  while (next.valid()) {
    GMPKI_ASSIGN_OR_RETURN(auto pairs, next.get());
    // Start the next batch before storing this one (the pool is short by at least these pairs).
    GMPKI_ASSIGN_OR_RETURN(short_by, deficit());
    std::size_t more = short_by > pairs.size() ? std::min(settings_.pool_batch, short_by - pairs.size()) : 0;
    if (more > 0) next = std::async(std::launch::async, generate, more);
    auto ev = Event("system", "", "km.pool.generate", "km-pool", settings_.node, clock_);
    ev.detail = json{{"count", pairs.size()}}.dump();
    std::int64_t now = ToUnixSeconds(clock_.Now());
    Status st = audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
      // One multi-row INSERT per 128 pairs: a round trip per row would dominate on PostgreSQL.
      constexpr std::size_t kRowsPerStatement = 128;
      for (std::size_t i = 0; i < pairs.size(); i += kRowsPerStatement) {
        std::size_t end = std::min(pairs.size(), i + kRowsPerStatement);
        std::string sql = "INSERT INTO km_pool (public_key, wrapped, created_unix) VALUES " +
                          store::ValuesPlaceholders(end - i, 3);
        std::vector<store::Value> params;
        params.reserve(3 * (end - i));
        for (std::size_t k = i; k < end; ++k) {
          const auto& pt = pairs[k].public_key.point();
          params.emplace_back(Bytes(pt.begin(), pt.end()));
          params.emplace_back(pairs[k].wrapped_private);
          params.emplace_back(now);
        }
        GMPKI_RETURN_IF_ERROR(tx.Exec(sql, params));
      }
      return OkStatus();
    });
    if (!st.ok()) {
      if (next.valid()) (void)next.get();  // never leave the generator running past return
      return st.error();
    }
    added += pairs.size();
  }
  return added;
}

}  // namespace gmpki::km
