// CMP clients: the reference/secret table (secrets SM4-GCM encrypted at rest), its management
// operations, the demo client, and the migrations.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "audit/audit.h"
#include "crypto/random.h"
#include "crypto/sm4.h"
#include "services/ca/profiles.h"
#include "services/cmp/cmp_internal.h"

namespace gmpki::cmp {
namespace {

using services::Actor;
using services::Permission;

constexpr std::string_view kWrapContext = "cmp-secret-v1";
constexpr std::string_view kDemoReference = "demo-ra";

// The AAD binds a ciphertext to its row: a secret copied to another reference does not open.
Bytes Aad(const std::string& reference) { return ToBytes(std::string(kWrapContext) + "|" + reference); }

Result<std::string> RandomSecret() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  while (out.size() < 32) {
    GMPKI_ASSIGN_OR_RETURN(auto r, crypto::RandomBytes(32));
    for (std::uint8_t b : r) {
      // Rejection sampling: 248 = 4 * 62, so every character is equally likely.
      if (b < 248 && out.size() < 32) out.push_back(kAlphabet[b % 62]);
    }
  }
  return out;
}

std::string JoinProfiles(const std::vector<std::string>& p) {
  std::string s;
  for (const auto& x : p) s += (s.empty() ? "" : ",") + x;
  return s;
}

std::vector<std::string> SplitProfiles(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

CmpClient RowToClient(const store::Row& r) {
  CmpClient c;
  c.reference = r.Text(0);
  c.ca = r.Text(1);
  c.profiles = SplitProfiles(r.Text(2));
  c.status = r.Text(3);
  c.created_unix = r.Int(4);
  c.protection = r.Text(5);
  if (c.protection == kProtectionSignature && !r.IsNull(6)) {
    c.cert_issuer_ca = r.Text(6);
    c.cert_serial_hex = r.Text(7);
    c.cert_key_id_hex = r.Text(8);
    c.cert_fingerprint = r.Text(9);
  }
  return c;
}

// Columns 0..9 of RowToClient; FROM kClientFrom.
constexpr const char* kClientColumns =
    "c.reference, c.ca, c.profiles, c.status, c.created_unix, c.protection, k.issuer_ca,"
    " k.serial_hex, k.key_id, k.fingerprint";
constexpr const char* kClientFrom =
    " FROM cmp_clients c LEFT JOIN cmp_client_certs k ON k.reference = c.reference";


}  // namespace

std::vector<store::Migration> CmpMigrations() {
  return {
      {400, "cmp clients and transactions",
       "CREATE TABLE cmp_clients ("
       " reference TEXT PRIMARY KEY, ca TEXT NOT NULL, profiles TEXT NOT NULL,"
       " status TEXT NOT NULL, secret_iv {{blob}} NOT NULL, secret_ct {{blob}} NOT NULL,"
       " created_unix INTEGER NOT NULL);"
       // One certificate or revocation request per transactionID and client (RFC 4210 §5.1.1:
       // a transactionID in use is refused), so a replayed request never acts twice.
       "CREATE TABLE cmp_transactions ("
       " reference TEXT NOT NULL, transaction_id TEXT NOT NULL, body INTEGER NOT NULL,"
       " created_unix INTEGER NOT NULL, PRIMARY KEY (reference, transaction_id))"},
      // Signature-protected clients (RFC 4210 §5.1.3.3): the registered certificate, found by
      // its SKI (the senderKID, RFC 9483 §3.1) or its SM3 fingerprint (extraCerts).
      {401, "cmp signature clients",
       "ALTER TABLE cmp_clients ADD COLUMN protection TEXT NOT NULL DEFAULT 'mac';"
       "CREATE TABLE cmp_client_certs ("
       " reference TEXT PRIMARY KEY, issuer_ca TEXT NOT NULL, serial_hex TEXT NOT NULL,"
       " key_id TEXT NOT NULL UNIQUE, fingerprint TEXT NOT NULL UNIQUE,"
       " cert_der {{blob}} NOT NULL)"},
  };
}

bool ValidReference(std::string_view r) {
  if (r.empty() || r.size() > 64) return false;
  return std::all_of(r.begin(), r.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

Result<SecretBytes> CmpService::Impl::WrappingKey() {
  GMPKI_ASSIGN_OR_RETURN(auto session, device.OpenSession());
  return session->DeriveWrappingKey(kWrapContext, 16);
}

Result<LoadedClient> CmpService::Impl::LoadClient(const std::string& reference) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto row, tx->QueryOne(std::string("SELECT ") + kClientColumns +
                                                ", c.secret_iv, c.secret_ct, k.cert_der" +
                                                kClientFrom + " WHERE c.reference = ?",
                                                {reference}));
  (void)tx->Rollback();
  if (!row) return Error(ErrorCode::kNotFound, "no CMP client with reference '" + reference + "'");
  LoadedClient out;
  out.client = RowToClient(*row);
  if (out.client.protection == kProtectionSignature) {
    if (row->IsNull(12)) {
      return Error(ErrorCode::kIntegrityFailure, "CMP client '" + reference + "' has no certificate");
    }
    out.cert_der = row->Blob(12);
    return out;
  }
  GMPKI_ASSIGN_OR_RETURN(auto key, WrappingKey());
  auto plain = crypto::Sm4GcmOpen(key.view(), row->Blob(10), Aad(reference), row->Blob(11));
  if (!plain.ok()) {
    return Error(ErrorCode::kIntegrityFailure, "stored CMP secret of '" + reference + "' does not open");
  }
  out.secret = SecretBytes(*plain);
  std::fill(plain->begin(), plain->end(), 0);
  return out;
}

Status CmpService::Impl::InsertClient(store::Transaction& tx, const CmpClient& c,
                                     ByteView secret_iv, ByteView secret_ct) {
  if (!ValidReference(c.reference)) {
    return Error(ErrorCode::kInvalidArgument, "a CMP reference is 1..64 of [A-Za-z0-9._-]");
  }
  if (c.profiles.empty()) return Error(ErrorCode::kInvalidArgument, "name at least one profile");
  for (const auto& p : c.profiles) {
    GMPKI_ASSIGN_OR_RETURN(const ca::Profile* prof, ca::FindProfile(p));
    if (prof->subject == ca::SubjectKind::kCa) {
      return Error(ErrorCode::kPolicyViolation, "profile '" + p + "' is for CA certificates");
    }
  }
  GMPKI_ASSIGN_OR_RETURN(auto ca_row, tx.QueryOne("SELECT status FROM cas WHERE name = ?", {c.ca}));
  if (!ca_row) return Error(ErrorCode::kNotFound, "no CA named '" + c.ca + "'");
  auto ins = tx.Exec("INSERT INTO cmp_clients (reference, ca, profiles, status, secret_iv,"
                     " secret_ct, created_unix, protection) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     {c.reference, c.ca, JoinProfiles(c.profiles), c.status,
                      Bytes(secret_iv.begin(), secret_iv.end()),
                      Bytes(secret_ct.begin(), secret_ct.end()), c.created_unix, c.protection});
  if (!ins.ok() && ins.error().code() == ErrorCode::kAlreadyExists) {
    return Error(ErrorCode::kAlreadyExists, "CMP reference '" + c.reference + "' is taken");
  }
  if (!ins.ok()) return ins.error();
  return OkStatus();
}

void CmpService::Impl::Audit(const std::string& actor, const std::string& action,
                             const std::string& object, bool success,
                             const std::string& detail_json) {
  audit::AuditEvent ev;
  ev.actor = actor;
  ev.role = std::string(services::RoleName(services::Role::kRaSystem));
  ev.action = action;
  ev.object = object;
  ev.outcome = success ? audit::Outcome::kSuccess : audit::Outcome::kFailure;
  ev.detail = detail_json;
  ev.time = clock.Now();
  ev.node = node;
  auto tx = db.Begin();
  if (!tx.ok()) return;
  if (audit::AppendAudit(**tx, ev).ok()) (void)(*tx)->Commit();
}

CmpService::CmpService(store::Database& db, device::CryptoDevice& device, ca::CaService& ca,
                       const Clock& clock, std::string node)
    : impl_(std::make_unique<Impl>(db, device, ca, clock, std::move(node))) {}
CmpService::~CmpService() = default;

Result<CmpClientSecret> CmpService::CreateClient(const Actor& by, const std::string& reference,
                                                 const std::string& ca_name,
                                                 const std::vector<std::string>& profiles) {
  CmpClientSecret out;
  audit::AuditEvent ev;
  ev.actor = by.name;
  ev.role = std::string(services::RoleName(by.role));
  ev.action = "cmp.client.create";
  ev.object = "cmp-client:" + (ValidReference(reference) ? reference : std::string("?"));
  ev.node = impl_->node;
  ev.time = impl_->clock.Now();
  ev.detail = nlohmann::json{{"ca", ca_name}, {"profiles", profiles}}.dump();
  Status st = audit::RunAudited(impl_->db, ev, [&](store::Transaction& tx) -> Status {
    GMPKI_RETURN_IF_ERROR(services::Authorize(by, Permission::kRaManage));
    GMPKI_ASSIGN_OR_RETURN(out.secret, RandomSecret());
    GMPKI_ASSIGN_OR_RETURN(auto key, impl_->WrappingKey());
    GMPKI_ASSIGN_OR_RETURN(auto iv, crypto::RandomBytes(crypto::kSm4GcmIvSize));
    GMPKI_ASSIGN_OR_RETURN(auto ct, crypto::Sm4GcmSeal(key.view(), iv, Aad(reference), ToBytes(out.secret)));
    out.client = CmpClient{reference, ca_name, profiles, std::string(kClientActive),
                           ToUnixSeconds(impl_->clock.Now())};
    return impl_->InsertClient(tx, out.client, iv, ct);
  });
  if (!st.ok()) return st.error();
  return out;
}

namespace {
Status SetStatus(CmpService::Impl& impl, const Actor& by, const std::string& reference,
                 std::string_view status) {
  audit::AuditEvent ev;
  ev.actor = by.name;
  ev.role = std::string(services::RoleName(by.role));
  ev.action = status == kClientActive ? "cmp.client.resume" : "cmp.client.suspend";
  ev.object = "cmp-client:" + (ValidReference(reference) ? reference : std::string("?"));
  ev.node = impl.node;
  ev.time = impl.clock.Now();
  return audit::RunAudited(impl.db, ev, [&](store::Transaction& tx) -> Status {
    GMPKI_RETURN_IF_ERROR(services::Authorize(by, Permission::kRaManage));
    GMPKI_ASSIGN_OR_RETURN(auto n, tx.Exec("UPDATE cmp_clients SET status = ? WHERE reference = ?",
                                           {std::string(status), reference}));
    if (n == 0) return Error(ErrorCode::kNotFound, "no CMP client with reference '" + reference + "'");
    return OkStatus();
  });
}
}  // namespace

Status CmpService::SuspendClient(const Actor& by, const std::string& reference) {
  return SetStatus(*impl_, by, reference, kClientSuspended);
}
Status CmpService::ResumeClient(const Actor& by, const std::string& reference) {
  return SetStatus(*impl_, by, reference, kClientActive);
}

Result<std::vector<CmpClient>> CmpService::ListClients(const Actor& by) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(by, Permission::kRaManage));
  GMPKI_ASSIGN_OR_RETURN(auto tx, impl_->db.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto rows, tx->Query(std::string("SELECT ") + kClientColumns +
                                              kClientFrom + " ORDER BY c.reference"));
  std::vector<CmpClient> out;
  for (const auto& r : rows) out.push_back(RowToClient(r));
  return out;
}

Result<DemoClient> CmpService::EnsureDemoClient(const std::string& ca_name) {
  const std::string ref(kDemoReference);
  auto existing = impl_->LoadClient(ref);
  if (!existing.ok() && existing.error().code() == ErrorCode::kNotFound) {
    std::vector<std::string> profiles;
    for (const auto& p : ca::AllProfiles()) {
      if (p.subject != ca::SubjectKind::kCa) profiles.push_back(p.name);
    }
    // The demo client is created by the system while setting up a demo home; the audit record
    // names it as the actor with the security administrator's authority.
    auto created = CreateClient(Actor{"system", services::Role::kSecurityAdmin}, ref, ca_name, profiles);
    if (!created.ok()) return created.error();
    return DemoClient{ref, created->secret, "/cmp/" + ca_name};
  }
  if (!existing.ok()) return existing.error();
  if (existing->client.ca != ca_name) {
    return Error(ErrorCode::kConflict, "the demo CMP client belongs to CA '" + existing->client.ca + "'");
  }
  return DemoClient{ref, ToString(existing->secret.view()), "/cmp/" + ca_name};
}

Result<CmpResponse> CmpService::Handle(std::string_view ca_alias, ByteView der_request) {
  return impl_->Handle(ca_alias, der_request);
}

}  // namespace gmpki::cmp
