#include "services/va/ocsp_signers.h"

#include <atomic>
#include <mutex>

#include "crypto/sm3.h"
#include "x509/certificate.h"
#include "x509/name.h"

namespace gmpki::va {
namespace {

constexpr const char* kSignerColumns =
    "ca, key_label, serial_hex, not_after, created_unix, cert_der";

// Device sessions are single-threaded (device.h); a signer shared by the responder's threads
// takes the next session round-robin and holds only that one while it signs.
class SessionPool {
 public:
  struct Slot {
    std::mutex mu;
    std::unique_ptr<device::Session> session;
  };
  std::vector<std::unique_ptr<Slot>> slots;
  std::atomic<std::size_t> next{0};
  std::uint32_t index = 0;

  Result<Bytes> Sign(ByteView message) {
    Slot& s = *slots[next.fetch_add(1, std::memory_order_relaxed) % slots.size()];
    std::lock_guard lock(s.mu);
    return s.session->SignMessage(index, AsBytes(x509::kSm2SignerId), message);
  }
};

SignerRecord RowToSigner(const store::Row& r) {
  SignerRecord s;
  s.ca = r.Text(0);
  s.key_label = r.Text(1);
  s.serial_hex = r.Text(2);
  s.not_after = r.Int(3);
  s.created_unix = r.Int(4);
  s.cert_der = r.Blob(5);
  return s;
}

// Device labels are 1..64 printable ASCII (device.h); long CA names are shortened to a hash.
std::string KeyLabel(const std::string& ca, std::int64_t now) {
  std::string label = "ocsp-" + ca + "-" + std::to_string(now);
  if (label.size() <= 64) return label;
  auto d = crypto::Sm3(AsBytes(ca));
  return "ocsp-" + HexEncode(ByteView(d.data(), 12)) + "-" + std::to_string(now);
}

}  // namespace

std::vector<store::Migration> VaMigrations() {
  return {
      // PERSISTENT. One row per delegated OCSP signing certificate ever issued; the current
      // signer of a CA is its row with the latest not_after.
      {700, "va ocsp signers",
       "CREATE TABLE va_ocsp_signers ("
       " ca TEXT NOT NULL, key_label TEXT NOT NULL, serial_hex TEXT NOT NULL,"
       " not_after INTEGER NOT NULL, created_unix INTEGER NOT NULL, cert_der {{blob}} NOT NULL,"
       " PRIMARY KEY (ca, serial_hex));"
       "CREATE INDEX va_ocsp_signers_current ON va_ocsp_signers(ca, not_after)"},
  };
}

OcspSignerManager::OcspSignerManager(store::Database& db, device::CryptoDevice& device,
                                     const Clock& clock, SignerPolicy policy)
    : db_(db), device_(device), clock_(clock), policy_(policy) {
  if (policy_.sessions == 0) policy_.sessions = 1;
}

Result<std::vector<SignerRecord>> OcspSignerManager::History(const std::string& ca) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto rows, tx->Query(std::string("SELECT ") + kSignerColumns +
                                                  " FROM va_ocsp_signers WHERE ca = ?"
                                                  " ORDER BY not_after DESC, created_unix DESC",
                                              {ca}));
  std::vector<SignerRecord> out;
  for (const auto& r : rows) out.push_back(RowToSigner(r));
  return out;
}

Result<std::optional<SignerRecord>> OcspSignerManager::Current(const std::string& ca) {
  GMPKI_ASSIGN_OR_RETURN(auto all, History(ca));
  if (all.empty()) return std::optional<SignerRecord>();
  return std::optional<SignerRecord>(std::move(all.front()));
}

Result<DelegatedSigner> OcspSignerManager::Open(const SignerRecord& rec) {
  GMPKI_ASSIGN_OR_RETURN(auto cert, x509::Certificate::FromDer(rec.cert_der));
  auto pool = std::make_shared<SessionPool>();
  for (std::size_t i = 0; i < policy_.sessions; ++i) {
    GMPKI_ASSIGN_OR_RETURN(auto session, device_.OpenSession());
    auto slot = std::make_unique<SessionPool::Slot>();
    slot->session = std::move(session);
    pool->slots.push_back(std::move(slot));
  }
  GMPKI_ASSIGN_OR_RETURN(auto key, pool->slots[0]->session->FindKey(rec.key_label));
  if (!(key.public_key == cert.public_key())) {
    return Error(ErrorCode::kIntegrityFailure, "device key '" + rec.key_label +
                                                   "' does not match the OCSP signer certificate " +
                                                   rec.serial_hex);
  }
  pool->index = key.index;
  DelegatedSigner d;
  d.signer.public_key = key.public_key;
  d.signer.sign = [pool](ByteView message) { return pool->Sign(message); };
  d.cert_der = rec.cert_der;
  d.not_after = rec.not_after;
  return d;
}

Result<DelegatedSigner> OcspSignerManager::Load(const std::string& ca) {
  GMPKI_ASSIGN_OR_RETURN(auto cur, Current(ca));
  if (!cur) return Error(ErrorCode::kNotFound, "no OCSP signer for CA '" + ca + "'");
  if (cur->not_after <= ToUnixSeconds(clock_.Now())) {
    return Error(ErrorCode::kFailedPrecondition,
                 "the OCSP signer of CA '" + ca + "' expired; provision a new one");
  }
  return Open(*cur);
}

Result<DelegatedSigner> OcspSignerManager::Provision(const services::Actor& actor,
                                                     ca::CaService& ca_service,
                                                     const std::string& ca) {
  const std::int64_t now = ToUnixSeconds(clock_.Now());
  GMPKI_ASSIGN_OR_RETURN(auto cur, Current(ca));
  if (cur && cur->not_after - now > std::int64_t{policy_.renew_before_days} * 86400) {
    return Open(*cur);
  }
  GMPKI_ASSIGN_OR_RETURN(auto rec, ca_service.GetCa(ca));
  if (rec.status != "active" || rec.external || rec.key_label.empty()) {
    return Error(ErrorCode::kFailedPrecondition,
                 "CA '" + ca + "' is not an active CA holding its key on this node");
  }
  GMPKI_ASSIGN_OR_RETURN(auto session, device_.OpenSession());
  const std::string label = KeyLabel(ca, now);
  GMPKI_ASSIGN_OR_RETURN(auto key, session->GenerateKeyPair(label, device::KeyPurpose::kSign));
  GMPKI_ASSIGN_OR_RETURN(auto subject, x509::Name::Parse("CN=" + ca + " OCSP Signer"));
  ca::IssueRequest req;
  req.ca = ca;
  req.profile = "ocsp-signer";
  req.validity_days = policy_.validity_days;
  req.request_key = "ocsp-signer:" + label;
  // The key was generated in our device just now: possession is not in question.
  auto issued = ca_service.IssueVerifiedKey(actor, req, subject, key.public_key);
  if (!issued.ok()) {
    (void)session->DestroyKey(key.index);
    return issued.error();
  }
  SignerRecord row;
  row.ca = ca;
  row.key_label = label;
  row.serial_hex = issued->record.serial_hex;
  row.not_after = issued->record.not_after;
  row.created_unix = now;
  row.cert_der = issued->record.der;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.Begin());
    GMPKI_RETURN_IF_ERROR(tx->Exec(
        "INSERT INTO va_ocsp_signers (ca, key_label, serial_hex, not_after, created_unix, "
        "cert_der) VALUES (?, ?, ?, ?, ?, ?)",
        {row.ca, row.key_label, row.serial_hex, row.not_after, row.created_unix, row.cert_der}));
    GMPKI_RETURN_IF_ERROR(tx->Commit());
  }
  return Open(row);
}

Result<std::size_t> OcspSignerManager::ProvisionAll(const services::Actor& actor,
                                                    ca::CaService& ca_service,
                                                    OcspResponder& responder) {
  GMPKI_ASSIGN_OR_RETURN(auto cas, ca_service.ListCas(actor));
  std::size_t count = 0;
  Status first = OkStatus();
  for (const auto& c : cas) {
    if (c.status != "active" || c.external || c.key_label.empty()) continue;
    auto s = Provision(actor, ca_service, c.name);
    if (!s.ok()) {
      if (first.ok()) first = s.error();
      continue;
    }
    responder.SetSigner(c.name, std::move(*s));
    ++count;
  }
  if (!first.ok()) return first.error();
  return count;
}

}  // namespace gmpki::va
