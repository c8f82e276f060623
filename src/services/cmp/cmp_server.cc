// CmpService::Handle on OpenSSL 3.0's generic CMP server (OSSL_CMP_SRV_CTX): OpenSSL checks
// the PBM protection (RFC 4210 §5.1.3.1), the transaction ID and nonces, the proof of
// possession, builds and protects the answers; the callbacks below decide, through the CA.
// Before OpenSSL sees a request we identify the client by senderKID, check it may use this CA
// and verify the MAC ourselves, so that a refusal is specific (RFC 9483 §3.6.4 failure bits)
// and audited. OpenSSL types stay in this file.
#include <openssl/cmp.h>
#include <openssl/crmf.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "crypto/sm2.h"
#include "crypto/sm3.h"
#include "services/cmp/cmp_internal.h"
#include "x509/certificate.h"
#include "x509/csr.h"
#include "x509/der.h"

namespace gmpki::cmp {

namespace der = x509::der;

struct CtxFree {
  void operator()(OSSL_CMP_SRV_CTX* c) const { OSSL_CMP_SRV_CTX_free(c); }
  void operator()(OSSL_CMP_CTX* c) const { OSSL_CMP_CTX_free(c); }
  void operator()(OSSL_CMP_MSG* m) const { OSSL_CMP_MSG_free(m); }
  void operator()(X509* x) const { X509_free(x); }
};
using SrvPtr = std::unique_ptr<OSSL_CMP_SRV_CTX, CtxFree>;
using MsgPtr = std::unique_ptr<OSSL_CMP_MSG, CtxFree>;

// The state of one transaction for the callbacks (the OSSL_CMP_SRV_CTX custom context).
struct Request {
  CmpService::Impl* impl = nullptr;
  CmpClient client;
  std::string ca;
  std::string tid_hex;
  services::Actor actor;
  Bytes issued_der;          // the certificate of the ip/cp/kup, for certConf
  std::string issued_serial;
  std::string outcome;       // for the audit record of the message
  std::optional<x509::RevocationReason> rev_reason;
  bool signed_request = false;  // SM2 signature protection (cmp_cert_clients.cc)
};

struct PendingTransaction {
  SrvPtr srv;
  std::unique_ptr<Request> request;
  std::chrono::steady_clock::time_point created;
};

namespace {

constexpr std::size_t kMaxRequestBytes = 256 * 1024;
constexpr auto kPendingLifetime = std::chrono::minutes(10);
constexpr std::size_t kMaxPending = 10000;

int QuietLog(const char*, const char*, int, OSSL_CMP_severity level, const char* msg) {
  if (level <= OSSL_CMP_LOG_WARNING) log::Debug("openssl cmp: {}", msg);
  return 1;
}

Result<Bytes> ToDer(int len, unsigned char* buf) {
  if (len <= 0 || buf == nullptr) return Error(ErrorCode::kInternal, "DER encoding failed");
  Bytes out(buf, buf + len);
  OPENSSL_free(buf);
  return out;
}

template <class T, class F>
Result<Bytes> Encode(const T* obj, F i2d) {
  unsigned char* buf = nullptr;
  int len = i2d(const_cast<T*>(obj), &buf);
  return ToDer(len, buf);
}

OSSL_CMP_PKISI* Accepted() { return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, nullptr); }

FailBit BitFor(ErrorCode c) {
  switch (c) {
    case ErrorCode::kPolicyViolation:
    case ErrorCode::kUnknownProfile:
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kMalformedInput:
      return kBadCertTemplate;
    case ErrorCode::kNotFound:
      return kBadCertId;
    case ErrorCode::kConflict:
      return kCertRevoked;
    case ErrorCode::kPermissionDenied:
      return kNotAuthorized;
    case ErrorCode::kBadSignature:
      return kBadPop;
    case ErrorCode::kUnavailable:
      return kSystemUnavail;
    default:
      return kSystemFailure;
  }
}

OSSL_CMP_PKISI* Rejected(Request& r, const Error& e) {
  r.outcome = std::string(e.info().slug);
  return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection, 1 << BitFor(e.code()),
                                 e.message().c_str());
}

Result<x509::Name> NameOf(const X509_NAME* n) {
  GMPKI_ASSIGN_OR_RETURN(auto d, Encode(n, i2d_X509_NAME));
  return x509::Name::FromDer(d);
}

// CertTemplate ::= SEQUENCE { ... publicKey [6] SubjectPublicKeyInfo OPTIONAL ... }
// (RFC 4211 §5, IMPLICIT tags). OpenSSL 3.0 has no getter for the public key.
Result<crypto::Sm2PublicKey> TemplateKey(const OSSL_CRMF_CERTTEMPLATE* t) {
  GMPKI_ASSIGN_OR_RETURN(auto d, Encode(t, i2d_OSSL_CRMF_CERTTEMPLATE));
  GMPKI_ASSIGN_OR_RETURN(auto seq, der::ParseSingle(d));
  der::Reader r(seq.content);
  while (!r.empty()) {
    GMPKI_ASSIGN_OR_RETURN(auto e, r.Next());
    if (e.tag == der::ContextConstructed(6)) {
      return crypto::Sm2PublicKey::FromSpkiDer(der::Tlv(der::kSequence, e.content));
    }
  }
  return Error(ErrorCode::kInvalidArgument, "the certTemplate has no publicKey");
}

STACK_OF(X509)* ToStack(const std::vector<x509::Certificate>& certs) {
  STACK_OF(X509)* sk = sk_X509_new_null();
  for (const auto& c : certs) {
    const unsigned char* p = c.der().data();
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(c.der().size()));
    if (x != nullptr) sk_X509_push(sk, x);
  }
  return sk;
}

Request& Req(OSSL_CMP_SRV_CTX* srv) {
  return *static_cast<Request*>(OSSL_CMP_SRV_CTX_get0_custom_ctx(srv));
}

// ir/cr/p10cr/kur. OpenSSL has already verified the proof of possession (the CRMF POPO
// signature or the CSR signature) before calling this.
OSSL_CMP_PKISI* OnCertRequest(OSSL_CMP_SRV_CTX* srv, const OSSL_CMP_MSG* req, int,
                              const OSSL_CRMF_MSG* crm, const X509_REQ* p10cr, X509** cert_out,
                              STACK_OF(X509)** chain_out, STACK_OF(X509)** ca_pubs) {
  Request& r = Req(srv);
  auto& impl = *r.impl;
  int body = OSSL_CMP_MSG_get_bodytype(req);
  Result<x509::Name> subject = Error(ErrorCode::kInvalidArgument, "no subject");
  Result<crypto::Sm2PublicKey> key = Error(ErrorCode::kInvalidArgument, "no public key");
  if (p10cr != nullptr) {
    auto csr_der = Encode(p10cr, i2d_X509_REQ);
    if (!csr_der.ok()) return Rejected(r, csr_der.error());
    auto csr = x509::CertificateRequest::Parse(*csr_der);
    if (!csr.ok()) return Rejected(r, csr.error());
    subject = csr->subject();
    key = csr->public_key();
  } else {
    const OSSL_CRMF_CERTTEMPLATE* t = OSSL_CRMF_MSG_get0_tmpl(crm);
    const X509_NAME* n = OSSL_CRMF_CERTTEMPLATE_get0_subject(t);
    if (n != nullptr) subject = NameOf(n);
    key = TemplateKey(t);
  }
  if (!subject.ok()) return Rejected(r, subject.error());
  if (!key.ok()) return Rejected(r, key.error());
  Result<ca::IssuedCertificate> issued = Error(ErrorCode::kInternal, "not issued");
  if (body == static_cast<int>(BodyType::kKur)) {
    // RFC 4211 §6.5 oldCertID names the certificate being updated (OpenSSL: -oldcert).
    const OSSL_CRMF_CERTID* old = OSSL_CRMF_MSG_get0_regCtrl_oldCertID(crm);
    if (old == nullptr) {
      return Rejected(r, Error(ErrorCode::kInvalidArgument, "kur needs the oldCertID control"));
    }
    BIGNUM* bn = ASN1_INTEGER_to_BN(OSSL_CRMF_CERTID_get0_serialNumber(old), nullptr);
    char* hex = bn != nullptr ? BN_bn2hex(bn) : nullptr;
    std::string serial = hex != nullptr ? hex : "";
    OPENSSL_free(hex);
    BN_free(bn);
    issued = impl.ca.RekeyVerifiedKey(r.actor, r.ca, serial, *subject, *key);
  } else {
    ca::IssueRequest ir;
    ir.ca = r.ca;
    ir.profile = r.client.profiles.front();
    ir.request_key = "cmp:" + r.client.reference + ":" + r.tid_hex;
    issued = impl.ca.IssueVerifiedKey(r.actor, ir, *subject, *key);
  }
  if (!issued.ok()) return Rejected(r, issued.error());
  const unsigned char* p = issued->record.der.data();
  *cert_out = d2i_X509(nullptr, &p, static_cast<long>(issued->record.der.size()));
  auto chain = impl.ca.CaChain(r.ca);
  if (chain.ok()) {
    *chain_out = ToStack(*chain);
    // RFC 9483 §4.1.1: with MAC-based protection the root may be sent in caPubs of an ip,
    // where the EE can take it as its trust anchor out of band of any signature. A client
    // that signs already holds a certificate of this PKI: no caPubs for it.
    if (body == static_cast<int>(BodyType::kIr) && !chain->empty() && !r.signed_request) {
      *ca_pubs = ToStack({chain->back()});
    }
  }
  r.issued_der = issued->record.der;
  r.issued_serial = issued->record.serial_hex;
  r.outcome = "issued " + issued->record.serial_hex;
  return Accepted();
}

// RevDetails ::= SEQUENCE { certDetails CertTemplate, crlEntryDetails Extensions OPTIONAL }
OSSL_CMP_PKISI* OnRevocation(OSSL_CMP_SRV_CTX* srv, const OSSL_CMP_MSG*, const X509_NAME* issuer,
                             const ASN1_INTEGER* serial) {
  Request& r = Req(srv);
  auto& impl = *r.impl;
  if (issuer == nullptr || serial == nullptr) {
    return Rejected(r, Error(ErrorCode::kInvalidArgument, "rr needs issuer and serialNumber"));
  }
  auto ca_rec = impl.ca.GetCa(r.ca);
  auto name = NameOf(issuer);
  if (!ca_rec.ok() || !name.ok()) return Rejected(r, Error(ErrorCode::kInternal, "issuer unreadable"));
  auto ca_cert = x509::Certificate::FromDer(ca_rec->cert_der);
  if (!ca_cert.ok() || !(ca_cert->subject() == *name)) {
    return Rejected(r, Error(ErrorCode::kNotFound, "the certificate was not issued by CA '" + r.ca + "'"));
  }
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  char* hex = bn != nullptr ? BN_bn2hex(bn) : nullptr;
  std::string sn = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  auto reason = r.rev_reason.value_or(x509::RevocationReason::kUnspecified);
  Status st = impl.ca.Revoke(r.actor, r.ca, sn, reason);
  if (!st.ok()) return Rejected(r, st.error());
  r.outcome = "revoked " + sn;
  return Accepted();
}

// genm: id-it-caCerts (RFC 9483 §4.3.1) answers the CA's chain; an empty genm is answered
// with everything we offer (RFC 4210 §5.3.19); other infoTypes are left out of the genp.
int OnGeneralMessage(OSSL_CMP_SRV_CTX* srv, const OSSL_CMP_MSG*, const STACK_OF(OSSL_CMP_ITAV)* in,
                     STACK_OF(OSSL_CMP_ITAV)** out) {
  Request& r = Req(srv);
  *out = sk_OSSL_CMP_ITAV_new_null();
  bool want_ca_certs = sk_OSSL_CMP_ITAV_num(in) <= 0;
  std::vector<std::string> asked;
  for (int i = 0; i < sk_OSSL_CMP_ITAV_num(in); ++i) {
    char oid[80];
    OBJ_obj2txt(oid, sizeof(oid), OSSL_CMP_ITAV_get0_type(sk_OSSL_CMP_ITAV_value(in, i)), 1);
    asked.push_back(oid);
    if (std::string_view(oid) == kOidCaCerts) want_ca_certs = true;
  }
  r.outcome = nlohmann::json(asked).dump();
  if (!want_ca_certs) return 1;
  auto chain = r.impl->ca.CaChain(r.ca);
  if (!chain.ok()) return 0;
  std::vector<Bytes> certs;
  for (const auto& c : *chain) certs.push_back(c.der());
  Bytes value = der::Sequence(certs);  // SEQUENCE SIZE (1..MAX) OF CMPCertificate
  const unsigned char* p = value.data();
  ASN1_TYPE* type = d2i_ASN1_TYPE(nullptr, &p, static_cast<long>(value.size()));
  OSSL_CMP_ITAV* itav = type != nullptr ? OSSL_CMP_ITAV_create(OBJ_txt2obj(kOidCaCerts, 1), type) : nullptr;
  if (itav == nullptr) {
    ASN1_TYPE_free(type);
    return 0;
  }
  sk_OSSL_CMP_ITAV_push(*out, itav);
  return 1;
}

void OnError(OSSL_CMP_SRV_CTX* srv, const OSSL_CMP_MSG*, const OSSL_CMP_PKISI*, const ASN1_INTEGER*,
             const OSSL_CMP_PKIFREETEXT*) {
  Req(srv).outcome = "client reported an error";
}

// certConf (RFC 4210 §5.3.18): the hash must be of the certificate we sent. A rejection by the
// EE revokes the certificate (RFC 9483 §4.1.1: the PKI "SHOULD revoke" it).
int OnCertConf(OSSL_CMP_SRV_CTX* srv, const OSSL_CMP_MSG*, int, const ASN1_OCTET_STRING* hash,
               const OSSL_CMP_PKISI* si) {
  Request& r = Req(srv);
  if (r.issued_der.empty()) return 0;
  if (hash != nullptr) {
    // OpenSSL 3.0 hashes with the digest of the certificate's signature algorithm: SM3 here.
    auto mine = crypto::Sm3(r.issued_der);
    if (ASN1_STRING_length(hash) != static_cast<int>(mine.size()) ||
        std::memcmp(ASN1_STRING_get0_data(hash), mine.data(), mine.size()) != 0) {
      ERR_raise(ERR_LIB_CMP, CMP_R_CERTHASH_UNMATCHED);
      r.outcome = "certHash does not match";
      return 0;
    }
  }
  // OpenSSL 3.0 has no public PKIStatusInfo getter: read PKIStatus from the DER.
  bool rejected = false;
  if (si != nullptr) {
    auto d = Encode(si, i2d_OSSL_CMP_PKISI);
    auto seq = d.ok() ? der::ParseSingle(*d) : Result<der::Element>(d.error());
    if (seq.ok()) {
      der::Reader rd(seq->content);
      auto st = rd.Expect(der::kInteger);
      auto v = st.ok() ? der::ParseSmallInteger(*st) : Result<std::int64_t>(st.error());
      rejected = v.ok() && *v == OSSL_CMP_PKISTATUS_rejection;
    }
  }
  if (rejected) {
    (void)r.impl->ca.Revoke(r.actor, r.ca, r.issued_serial, x509::RevocationReason::kCessationOfOperation);
    r.outcome = "rejected by the client; revoked " + r.issued_serial;
  } else {
    r.outcome = "confirmed " + r.issued_serial;
  }
  return 1;
}

const char* BodyName(int body) {
  switch (body) {
    case 0: return "ir";
    case 2: return "cr";
    case 4: return "p10cr";
    case 7: return "kur";
    case 11: return "rr";
    case 21: return "genm";
    case 23: return "error";
    case 24: return "certConf";
    case 25: return "pollReq";
    default: return "other";
  }
}

bool StartsTransaction(int body) {
  return body == 0 || body == 2 || body == 4 || body == 7 || body == 11 || body == 21 || body == 23;
}

// The reason code of the first RevDetails' crlEntryDetails (RFC 4210 §5.3.9), if any.
std::optional<x509::RevocationReason> RevocationReasonOf(ByteView request) {
  auto msg = der::ParseSingle(request);
  if (!msg.ok()) return std::nullopt;
  der::Reader m(msg->content);
  if (!m.Next().ok()) return std::nullopt;
  auto body = m.Next();
  if (!body.ok()) return std::nullopt;
  auto rr = der::ParseSingle(body->content);
  if (!rr.ok()) return std::nullopt;
  der::Reader list(rr->content);
  auto details = list.Expect(der::kSequence);
  if (!details.ok()) return std::nullopt;
  der::Reader d(details->content);
  if (!d.Expect(der::kSequence).ok()) return std::nullopt;
  auto exts = d.Optional(der::kSequence);
  if (!exts.ok() || !*exts) return std::nullopt;
  der::Reader e((*exts)->content);
  while (!e.empty()) {
    auto ext = e.Expect(der::kSequence);
    if (!ext.ok()) return std::nullopt;
    der::Reader x(ext->content);
    auto oid = x.Expect(der::kOid);
    if (!oid.ok() || !der::OidToString(oid->content).ok() || *der::OidToString(oid->content) != "2.5.29.21") continue;
    (void)x.Optional(der::kBoolean);
    auto os = x.Expect(der::kOctetString);
    if (!os.ok()) return std::nullopt;
    auto en = der::ParseSingle(os->content);
    if (!en.ok() || en->tag != der::kEnumerated || en->content.size() != 1) return std::nullopt;
    int code = en->content[0];
    // certificateHold (6) and removeFromCRL (8) are not revocations (CaService::Revoke).
    if (code < 0 || code > 10 || code == 6 || code == 7 || code == 8) return std::nullopt;
    return static_cast<x509::RevocationReason>(code);
  }
  return std::nullopt;
}

}  // namespace

Result<CmpResponse> CmpService::Impl::Handle(std::string_view ca_alias, ByteView der_request) {
  if (der_request.size() > kMaxRequestBytes) {
    return Error(ErrorCode::kTooLarge, "a CMP request is at most 256 KiB");
  }
  GMPKI_ASSIGN_OR_RETURN(auto info, ReadMessage(der_request));
  auto ca_rec = ca.GetCa(std::string(ca_alias));
  if (!ca_rec.ok()) return ca_rec.error();
  const unsigned char* p = der_request.data();
  MsgPtr msg(d2i_OSSL_CMP_MSG(nullptr, &p, static_cast<long>(der_request.size())));
  if (!msg || p != der_request.data() + der_request.size()) {
    ERR_clear_error();
    return Error(ErrorCode::kMalformedInput, "not a CMP PKIMessage");
  }
  const std::string object = "ca:" + std::string(ca_alias);
  const std::string body_name = BodyName(info.body);
  std::string reference = info.sender_kid ? ToString(*info.sender_kid) : "";
  std::string actor = ValidReference(reference) ? "cmp:" + reference : "cmp:?";
  auto refuse = [&](FailBit bit, const std::string& text) -> Result<CmpResponse> {
    Audit(actor, "cmp." + body_name, object, false,
          nlohmann::json{{"refused", text}, {"transaction", HexEncode(info.transaction_id)}}.dump());
    GMPKI_ASSIGN_OR_RETURN(auto der, BuildErrorMessage(info, bit, text, clock.Now()));
    return CmpResponse{std::move(der)};
  };
  // RFC 9483 §3.2: requests are protected; a MAC is identified by the senderKID.
  if (!info.protected_ || !info.protection_alg) {
    return refuse(kBadMessageCheck, "the request is not protected");
  }
  const bool signed_request = *info.protection_alg == kOidSm2WithSm3;
  if (*info.protection_alg != kOidPasswordBasedMac && !signed_request) {
    return refuse(kWrongIntegrity,
                  "only password-based MAC or SM2-with-SM3 signature protection is accepted");
  }
  Result<LoadedClient> client = Error(ErrorCode::kNotFound, "no client");
  if (signed_request) {
    // RFC 4210 §5.1.3.3 / RFC 9483 §3.2: the signer is a registered client certificate (named
    // by senderKID = its SKI, or by the first extraCerts entry); the signature over
    // ProtectedPart, as received, is checked with the GM/T 0009 default ID.
    auto prot = ReadProtection(der_request);
    if (!prot.ok()) return prot.error();
    client = FindCertClient(info.sender_kid, prot->extra_certs);
    if (!client.ok()) {
      if (client.error().code() == ErrorCode::kNotFound) {
        return refuse(kSignerNotTrusted, "the signer's certificate is not registered");
      }
      return client.error();
    }
    reference = client->client.reference;
    actor = "cmp:" + reference;
    auto cert = x509::Certificate::FromDer(client->cert_der);
    if (!cert.ok()) return cert.error();
    const auto& id = crypto::kDefaultSm2Id;
    if (!crypto::Sm2Verify(cert->public_key(),
                           ByteView(reinterpret_cast<const std::uint8_t*>(id.data()), id.size()),
                           prot->protected_part, prot->protection)
             .ok()) {
      return refuse(kBadMessageCheck, "the signature does not verify");
    }
    if (auto bad = CheckClientCertificate(*client)) return refuse(bad->first, bad->second);
  } else {
    if (!ValidReference(reference)) return refuse(kBadMessageCheck, "missing or malformed senderKID");
    client = LoadClient(reference);
    if (!client.ok()) {
      if (client.error().code() == ErrorCode::kNotFound) {
        return refuse(kSignerNotTrusted, "unknown reference");
      }
      return client.error();
    }
    if (client->client.protection != kProtectionMac) {
      return refuse(kWrongIntegrity, "this client protects its requests with signatures");
    }
  }
  // The MAC is checked before anything about the client is revealed in an answer.
  if (!signed_request) {
    std::unique_ptr<OSSL_CMP_CTX, CtxFree> vctx(OSSL_CMP_CTX_new(nullptr, nullptr));
    if (!vctx) return Error(ErrorCode::kInternal, "OSSL_CMP_CTX_new failed");
    OSSL_CMP_CTX_set_log_cb(vctx.get(), QuietLog);
    OSSL_CMP_CTX_set1_secretValue(vctx.get(), client->secret.view().data(),
                                  static_cast<int>(client->secret.view().size()));
    int ok = OSSL_CMP_validate_msg(vctx.get(), msg.get());
    ERR_clear_error();
    if (ok != 1) return refuse(kBadMessageCheck, "the MAC does not verify");
  }
  if (client->client.status != kClientActive) return refuse(kNotAuthorized, "the client is suspended");
  if (client->client.ca != ca_alias) {
    return refuse(kWrongAuthority, "the client may not use this CA");
  }
  if (info.body == static_cast<int>(BodyType::kPollReq)) {
    return refuse(kBadRequest, "polling is not used by this server");
  }

  const std::string tid_hex = HexEncode(info.transaction_id);
  const std::string key = reference + ":" + tid_hex;
  std::shared_ptr<PendingTransaction> tx;
  if (StartsTransaction(info.body)) {
    bool acts = info.body != static_cast<int>(BodyType::kGenm) &&
                info.body != static_cast<int>(BodyType::kError);
    if (acts) {
      // RFC 4210 §5.1.1: a transactionID already used by this client is refused, so a replayed
      // request (same transactionID and nonce) never issues or revokes twice.
      auto row = db.Begin();
      if (!row.ok()) return row.error();
      auto ins = (*row)->Exec("INSERT INTO cmp_transactions (reference, transaction_id, body,"
                              " created_unix) VALUES (?, ?, ?, ?)",
                              {reference, tid_hex, std::int64_t{info.body}, ToUnixSeconds(clock.Now())});
      if (!ins.ok()) {
        (void)(*row)->Rollback();
        if (ins.error().code() == ErrorCode::kAlreadyExists) {
          return refuse(kTransactionIdInUse, "transactionID already used");
        }
        return ins.error();
      }
      GMPKI_RETURN_IF_ERROR((*row)->Commit());
    }
    tx = std::make_shared<PendingTransaction>();
    tx->created = std::chrono::steady_clock::now();
    tx->srv.reset(OSSL_CMP_SRV_CTX_new(nullptr, nullptr));
    tx->request = std::make_unique<Request>();
    Request& r = *tx->request;
    r.impl = this;
    r.client = client->client;
    r.ca = std::string(ca_alias);
    r.tid_hex = tid_hex;
    r.signed_request = signed_request;
    r.actor = services::Actor{"cmp:" + reference, services::Role::kRaSystem};
    if (info.body == static_cast<int>(BodyType::kRr)) r.rev_reason = RevocationReasonOf(der_request);
    OSSL_CMP_SRV_CTX* srv = tx->srv.get();
    if (srv == nullptr ||
        !OSSL_CMP_SRV_CTX_init(srv, &r, OnCertRequest, OnRevocation, OnGeneralMessage, OnError,
                               OnCertConf, nullptr)) {
      return Error(ErrorCode::kInternal, "cannot set up the CMP server context");
    }
    OSSL_CMP_CTX* ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv);
    OSSL_CMP_CTX_set_log_cb(ctx, QuietLog);
    if (signed_request) {
      // We verified the signature above (OpenSSL 3.0 would use the empty SM2 ID and fail):
      // OpenSSL's server takes the request as unprotected and answers unprotected, and
      // SignAnswer adds the CA's SM2 signature below.
      OSSL_CMP_SRV_CTX_set_accept_unprotected(srv, 1);
      OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_UNPROTECTED_SEND, 1);
      // OpenSSL refuses to build an answer with neither sender name nor senderKID; the CA's
      // SKI is what SignAnswer puts there anyway (RFC 9483 §3.1).
      auto ca_cert = x509::Certificate::FromDer(ca_rec->cert_der);
      if (!ca_cert.ok() || !ca_cert->subject_key_id()) {
        return Error(ErrorCode::kInternal, "the CA certificate has no subjectKeyIdentifier");
      }
      const Bytes& ski = *ca_cert->subject_key_id();
      OSSL_CMP_CTX_set1_referenceValue(ctx, ski.data(), static_cast<int>(ski.size()));
    } else {
      OSSL_CMP_CTX_set1_secretValue(ctx, client->secret.view().data(),
                                    static_cast<int>(client->secret.view().size()));
      OSSL_CMP_CTX_set1_referenceValue(ctx, reinterpret_cast<const unsigned char*>(reference.data()),
                                       static_cast<int>(reference.size()));
    }
    OSSL_CMP_SRV_CTX_set_grant_implicit_confirm(srv, 1);
    OSSL_CMP_SRV_CTX_set_accept_raverified(srv, 0);
  } else {
    std::lock_guard lock(pending_mu);
    auto it = pending.find(key);
    if (it == pending.end()) return refuse(kBadRequest, "no open transaction with this transactionID");
    tx = it->second;
    pending.erase(it);
  }

  ERR_clear_error();
  MsgPtr rsp(OSSL_CMP_SRV_process_request(tx->srv.get(), msg.get()));
  ERR_clear_error();
  if (!rsp) return Error(ErrorCode::kInternal, "the CMP server could not build an answer");
  GMPKI_ASSIGN_OR_RETURN(auto out, Encode(rsp.get(), i2d_OSSL_CMP_MSG));
  // RFC 9483 §3.2: an answer to a signature-protected request is signature-protected.
  if (signed_request) {
    GMPKI_ASSIGN_OR_RETURN(out, SignAnswer(std::string(ca_alias), out));
  }
  int rsp_body = OSSL_CMP_MSG_get_bodytype(rsp.get());
  auto summary = ReadMessage(out);
  bool success = rsp_body != static_cast<int>(BodyType::kError) && summary.ok() &&
                 (!summary->status || *summary->status <= OSSL_CMP_PKISTATUS_grantedWithMods);
  nlohmann::json detail{{"transaction", tid_hex}, {"answer", rsp_body}};
  if (!tx->request->outcome.empty()) detail["outcome"] = tx->request->outcome;
  if (summary.ok() && summary->fail_info != 0) detail["fail_info"] = summary->fail_info;
  Audit(actor, "cmp." + body_name, object, success, detail.dump());

  bool awaits_conf = (rsp_body == static_cast<int>(BodyType::kIp) || rsp_body == static_cast<int>(BodyType::kCp) ||
                      rsp_body == static_cast<int>(BodyType::kKup)) &&
                     success &&
                     OSSL_CMP_CTX_get_option(OSSL_CMP_SRV_CTX_get0_cmp_ctx(tx->srv.get()),
                                             OSSL_CMP_OPT_IMPLICIT_CONFIRM) != 1;
  if (awaits_conf) {
    tx->request->outcome.clear();
    std::lock_guard lock(pending_mu);
    auto now = std::chrono::steady_clock::now();
    for (auto it = pending.begin(); it != pending.end();) {
      if (now - it->second->created > kPendingLifetime) it = pending.erase(it);
      else ++it;
    }
    if (pending.size() < kMaxPending) pending[key] = tx;
  }
  return CmpResponse{std::move(out)};
}

}  // namespace gmpki::cmp
