#include "services/tsa/tsa_service.h"

#include <algorithm>

#include "base/log.h"
#include "crypto/random.h"
#include "x509/der.h"
#include "x509/extensions.h"

namespace gmpki::tsa {
namespace {

using x509::TspFailure;

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "TSA: " + std::move(message));
}

// Device sessions serve one thread at a time (device.h): a small pool, each with its lock.
struct SessionPool {
  std::vector<std::unique_ptr<device::Session>> sessions;
  std::vector<std::unique_ptr<std::mutex>> locks;
  std::atomic<std::size_t> next{0};
  std::uint32_t index = 0;

  Result<Bytes> Sign(ByteView message) {
    const std::size_t i = next.fetch_add(1, std::memory_order_relaxed) % sessions.size();
    std::lock_guard<std::mutex> lock(*locks[i]);
    return sessions[i]->SignMessage(index, AsBytes(x509::kSm2SignerId), message);
  }
};

// RFC 3161 section 2.3: "The corresponding certificate MUST contain only one instance of the
// extended key usage field extension ... with KeyPurposeID having value id-kp-timeStamping.
// This extension MUST be critical."
Status CheckTsaCertificate(const x509::Certificate& c) {
  const x509::Extension* eku = c.FindExtension(x509::oid::kExtKeyUsage);
  if (eku == nullptr || !eku->critical || c.ext_key_usage().size() != 1 ||
      c.ext_key_usage()[0] != x509::oid::kKpTimeStamping) {
    return Invalid("the TSA certificate needs a critical extendedKeyUsage of only "
                   "id-kp-timeStamping (RFC 3161 section 2.3)");
  }
  if (c.key_usage() && (*c.key_usage() & (x509::kDigitalSignature | x509::kNonRepudiation)) == 0) {
    return Invalid("the TSA certificate's keyUsage allows neither digitalSignature nor "
                   "nonRepudiation");
  }
  return OkStatus();
}

}  // namespace

Result<TsaIdentity> IdentityFromDevice(device::CryptoDevice& device, std::string_view key_label,
                                       ByteView certificate_der,
                                       const std::vector<Bytes>& chain_der,
                                       std::size_t sessions) {
  if (sessions == 0) return Invalid("at least one device session");
  GMPKI_ASSIGN_OR_RETURN(x509::Certificate cert, x509::Certificate::Parse(certificate_der));
  auto pool = std::make_shared<SessionPool>();
  for (std::size_t i = 0; i < sessions; ++i) {
    GMPKI_ASSIGN_OR_RETURN(auto s, device.OpenSession());
    pool->sessions.push_back(std::move(s));
    pool->locks.push_back(std::make_unique<std::mutex>());
  }
  GMPKI_ASSIGN_OR_RETURN(device::KeyInfo key, pool->sessions[0]->FindKey(key_label));
  if (key.purpose != device::KeyPurpose::kSign) {
    return Invalid("device key '" + std::string(key_label) + "' is not a signing key");
  }
  if (!(key.public_key == cert.public_key())) {
    return Error(ErrorCode::kIntegrityFailure, "device key '" + std::string(key_label) +
                                                   "' does not match the TSA certificate");
  }
  pool->index = key.index;
  TsaIdentity id{x509::Signer{}, std::move(cert), {}};
  id.signer.public_key = key.public_key;
  id.signer.sign = [pool](ByteView message) { return pool->Sign(message); };
  for (const Bytes& der : chain_der) {
    GMPKI_ASSIGN_OR_RETURN(x509::Certificate c, x509::Certificate::Parse(der));
    id.chain.push_back(std::move(c));
  }
  return id;
}

Result<std::unique_ptr<SerialSource>> SerialSource::Create(std::optional<Bytes> prefix) {
  std::unique_ptr<SerialSource> s(new SerialSource());
  if (prefix) {
    if (prefix->size() != s->prefix_.size()) return Invalid("serial prefix must be 16 octets");
    std::copy(prefix->begin(), prefix->end(), s->prefix_.begin());
  } else {
    GMPKI_RETURN_IF_ERROR(crypto::RandomFill(s->prefix_));
  }
  s->prefix_[0] &= 0x7f;  // positive and within 160 bits
  if (s->prefix_[0] == 0) s->prefix_[0] = 0x01;  // keep all serials exactly 20 octets
  return s;
}

Result<SerialSource::Serial> SerialSource::Next() {
  std::lock_guard<std::mutex> lock(mu_);
  if (counter_ > 0xffffffffu) {
    // The 32-bit counter is spent: a fresh random prefix keeps serials unique.
    GMPKI_RETURN_IF_ERROR(crypto::RandomFill(prefix_));
    prefix_[0] &= 0x7f;
    if (prefix_[0] == 0) prefix_[0] = 0x01;
    counter_ = 0;
  }
  Serial out;
  std::copy(prefix_.begin(), prefix_.end(), out.begin());
  const std::uint32_t c = static_cast<std::uint32_t>(counter_++);
  out[16] = static_cast<std::uint8_t>(c >> 24);
  out[17] = static_cast<std::uint8_t>(c >> 16);
  out[18] = static_cast<std::uint8_t>(c >> 8);
  out[19] = static_cast<std::uint8_t>(c);
  return out;
}

TsaService::TsaService(TsaIdentity identity, TrustedTime& time, TsaSettings settings,
                       std::unique_ptr<SerialSource> serials)
    : identity_(std::move(identity)),
      time_(time),
      settings_(std::move(settings)),
      serials_(std::move(serials)) {
  cert_hash_ = identity_.certificate.fingerprint();
  for (const x509::Certificate& c : identity_.chain) chain_ptrs_.push_back(&c);
}

Result<std::unique_ptr<TsaService>> TsaService::Create(TsaIdentity identity, TrustedTime& time,
                                                       TsaSettings settings,
                                                       std::unique_ptr<SerialSource> serials) {
  if (!x509::der::Oid(settings.policy_oid)) return Invalid("bad policy OID");
  for (const std::string& p : settings.accepted_policies) {
    if (!x509::der::Oid(p)) return Invalid("bad accepted policy OID " + p);
  }
  for (const std::string& h : settings.accepted_hashes) {
    if (!x509::TspHashLength(h)) return Invalid("unknown imprint hash " + h);
  }
  if (settings.fraction_digits < 0 || settings.fraction_digits > 6) {
    return Invalid("fraction_digits must be 0..6");
  }
  if (settings.accuracy.count() < 0) return Invalid("negative accuracy");
  GMPKI_RETURN_IF_ERROR(CheckTsaCertificate(identity.certificate));
  if (!(identity.certificate.public_key() == identity.signer.public_key)) {
    return Invalid("the TSA certificate's key is not the signer's key");
  }
  if (!serials) {
    GMPKI_ASSIGN_OR_RETURN(serials, SerialSource::Create());
  }
  return std::unique_ptr<TsaService>(
      new TsaService(std::move(identity), time, std::move(settings), std::move(serials)));
}

StampOutcome TsaService::Reject(TspFailure failure, std::string reason) {
  rejected_.fetch_add(1, std::memory_order_relaxed);
  StampOutcome out;
  out.response = x509::BuildRejectedTimeStampResp(failure, reason);
  out.failure = failure;
  out.reason = std::move(reason);
  return out;
}

StampOutcome TsaService::Stamp(ByteView request_der) {
  TspFailure why = TspFailure::kBadDataFormat;
  auto req = x509::ParseTimeStampReq(request_der, &why);
  if (!req) return Reject(why, req.error().message());
  if (std::find(settings_.accepted_hashes.begin(), settings_.accepted_hashes.end(),
                req->hash_oid) == settings_.accepted_hashes.end()) {
    return Reject(TspFailure::kBadAlg, "imprint hash " + req->hash_oid + " is not accepted");
  }
  const std::string* policy = &settings_.policy_oid;
  if (req->policy && *req->policy != settings_.policy_oid) {
    auto it = std::find(settings_.accepted_policies.begin(), settings_.accepted_policies.end(),
                        *req->policy);
    if (it == settings_.accepted_policies.end()) {
      return Reject(TspFailure::kUnacceptedPolicy, "policy " + *req->policy + " not offered");
    }
    policy = &*it;
  }
  auto now = time_.Now();
  if (!now) return Reject(TspFailure::kTimeNotAvailable, now.error().message());
  auto serial = serials_->Next();
  if (!serial) return Reject(TspFailure::kSystemFailure, "serial number source failed");

  x509::TstInfoSpec info;
  info.policy_oid = *policy;
  info.message_imprint_der = req->message_imprint_der;
  info.serial = ByteView(serial->data(), serial->size());
  info.gen_time = *now;
  info.fraction_digits = settings_.fraction_digits;
  if (settings_.accuracy.count() > 0) info.accuracy = x509::TspAccuracy::From(settings_.accuracy);
  if (req->nonce) info.nonce = ByteView(*req->nonce);
  if (settings_.include_tsa_name) info.tsa_name_der = identity_.certificate.subject().der();
  x509::TokenSignerSpec signer;
  signer.tsa_certificate = &identity_.certificate;
  signer.signer = &identity_.signer;
  signer.include_certificates = req->cert_req;
  signer.chain = chain_ptrs_;
  signer.flavor = settings_.flavor;
  signer.signature_oid = settings_.signature_oid;
  signer.cert_hash = cert_hash_;
  auto token = x509::BuildTimeStampToken(info, signer);
  if (!token) {
    log::Error("tsa: timestamp signing failed: {}", token.error().ToString());
    return Reject(TspFailure::kSystemFailure, "the TSA could not sign");
  }
  granted_.fetch_add(1, std::memory_order_relaxed);
  StampOutcome out;
  out.response = x509::BuildGrantedTimeStampResp(*token);
  out.granted = true;
  return out;
}

Result<TsaVerdict> TsaService::Verify(const TsaVerifyRequest& request) const {
  const bool by_data = request.data.has_value();
  const bool by_hash = request.hash_oid.has_value() && request.hash.has_value();
  if (by_data == by_hash || (!by_hash && (request.hash_oid || request.hash))) {
    return Invalid("give either the data or the hash algorithm and hash");
  }
  TsaVerdict v;
  ByteView token = request.token;
  // A TimeStampResp wraps the token; a bare token is a ContentInfo (SEQUENCE { OID, ... }).
  auto resp = x509::ParseTimeStampResp(request.token);
  if (resp) {
    if (resp->token.empty()) {
      v.reasons.push_back("the response carries no token (status " +
                          std::to_string(static_cast<int>(resp->status)) + ")");
      return v;
    }
  }
  Bytes inner;
  if (resp) {
    inner = std::move(resp->token);
    token = inner;
  }
  x509::TokenCheck check;
  if (by_data) {
    check.data = ByteView(*request.data);
  } else {
    check.hash_oid = *request.hash_oid;
    check.hashed_message = ByteView(*request.hash);
  }
  if (request.nonce) check.nonce = ByteView(*request.nonce);
  check.tsa_certificate = &identity_.certificate;
  auto verified = x509::VerifyTimeStampToken(token, check);
  if (!verified) {
    v.reasons.push_back(verified.error().message());
    // Still report what the token says when it parses, for the caller's diagnosis.
    auto sd = x509::ParseSignedData(token);
    if (sd && sd->content && sd->content_tag == x509::der::kOctetString) {
      auto info = x509::ParseTstInfo(*sd->content);
      if (info) v.info = std::move(*info);
    }
    return v;
  }
  if (!(verified->tsa_certificate.der() == identity_.certificate.der())) {
    v.reasons.push_back("the token was signed by another TSA certificate");
  }
  if (!identity_.certificate.IsValidAt(verified->info.gen_time)) {
    v.reasons.push_back("genTime is outside the TSA certificate's validity");
  }
  v.info = std::move(verified->info);
  v.valid = v.reasons.empty();
  return v;
}

}  // namespace gmpki::tsa
