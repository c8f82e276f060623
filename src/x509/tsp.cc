// RFC 3161 requests, TSTInfo, tokens and responses: building and parsing.
// Verification is in tsp_verify.cc.
#include "x509/tsp.h"

#include <algorithm>
#include <cstdio>

#include "crypto/sm3.h"
#include "x509/cms_signed_internal.h"
#include "x509/der.h"
#include "x509/ocsp.h"

namespace gmpki::x509 {
namespace {

using internal::CmsContext;
using internal::CmsMalformed;
using internal::DerBuf;

const Bytes& Sm3OidContent() {
  static const Bytes kOid = internal::OidContent(oid::kSm3);
  return kOid;
}

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "TSP: " + std::move(message));
}

// Civil date from days since 1970-01-01 (H. Hinnant's algorithm, proleptic Gregorian).
void CivilFromDays(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0));
}

void Put2(char*& p, unsigned v) {
  *p++ = static_cast<char>('0' + v / 10);
  *p++ = static_cast<char>('0' + v % 10);
}

// RFC 3161 section 2.4.2: genTime is GeneralizedTime "YYYYMMDDhhmmss[.s...]Z", fraction
// without trailing zeros and without the '.' when it is zero. Returns the text length.
Result<std::size_t> FormatGenTime(TimePoint t, int digits, char (&out)[32]) {
  if (digits < 0 || digits > 6) return Invalid("fraction digits must be 0..6");
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  std::int64_t secs = ns.count() / 1000000000;
  std::int64_t frac_ns = ns.count() % 1000000000;
  if (frac_ns < 0) {
    frac_ns += 1000000000;
    --secs;
  }
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, y, m, d);
  if (y < 1950 || y > 9999) return Invalid("genTime year out of range");
  char* p = out;
  Put2(p, static_cast<unsigned>(y / 100));
  Put2(p, static_cast<unsigned>(y % 100));
  Put2(p, m);
  Put2(p, d);
  Put2(p, static_cast<unsigned>(rem / 3600));
  Put2(p, static_cast<unsigned>(rem / 60 % 60));
  Put2(p, static_cast<unsigned>(rem % 60));
  if (digits > 0) {
    char frac[6];
    std::int64_t f = frac_ns;
    for (int i = 0; i < 9 - digits; ++i) f /= 10;  // truncate to `digits`
    for (int i = digits - 1; i >= 0; --i) {
      frac[i] = static_cast<char>('0' + f % 10);
      f /= 10;
    }
    int n = digits;
    while (n > 0 && frac[n - 1] == '0') --n;
    if (n > 0) {
      *p++ = '.';
      for (int i = 0; i < n; ++i) *p++ = frac[i];
    }
  }
  *p++ = 'Z';
  return static_cast<std::size_t>(p - out);
}

bool IsMinimalInteger(ByteView c) {
  if (c.empty()) return false;
  if (c.size() == 1) return true;
  return !((c[0] == 0x00 && (c[1] & 0x80) == 0) || (c[0] == 0xff && (c[1] & 0x80) != 0));
}

Result<std::vector<Extension>> ParseExtensions(ByteView content, std::string_view what) {
  std::vector<Extension> out;
  der::Reader r(content);
  while (!r.empty()) {
    auto e = r.Expect(der::kSequence);
    if (!e) return CmsContext(what, e.error());
    der::Reader er(e->content);
    auto id = er.Expect(der::kOid);
    if (!id) return CmsContext(what, id.error());
    Extension x;
    GMPKI_ASSIGN_OR_RETURN(x.oid, der::OidToString(id->content));
    GMPKI_ASSIGN_OR_RETURN(auto crit, er.Optional(der::kBoolean));
    if (crit) {
      GMPKI_ASSIGN_OR_RETURN(x.critical, der::ParseBoolean(*crit));
    }
    auto value = er.Expect(der::kOctetString);
    if (!value) return CmsContext(what, value.error());
    if (!er.empty()) return CmsMalformed(what, "trailing data in Extension");
    x.value.assign(value->content.begin(), value->content.end());
    for (const Extension& prev : out) {
      if (prev.oid == x.oid) return CmsMalformed(what, "duplicate extension " + x.oid);
    }
    out.push_back(std::move(x));
  }
  return out;
}

// MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }
Status ParseImprint(const der::Element& e, std::string& hash_oid, Bytes& hashed) {
  if (e.tag != der::kSequence) return CmsMalformed("messageImprint", "not a SEQUENCE");
  der::Reader r(e.content);
  auto alg = r.Expect(der::kSequence);
  if (!alg) return CmsContext("messageImprint.hashAlgorithm", alg.error());
  GMPKI_ASSIGN_OR_RETURN(hash_oid,
                         internal::ParseAlgorithmOid(*alg, "messageImprint.hashAlgorithm"));
  auto h = r.Expect(der::kOctetString);
  if (!h) return CmsContext("messageImprint.hashedMessage", h.error());
  if (!r.empty()) return CmsMalformed("messageImprint", "trailing data");
  hashed.assign(h->content.begin(), h->content.end());
  return OkStatus();
}

Result<TspAccuracy> ParseAccuracy(const der::Element& e) {
  TspAccuracy a;
  der::Reader r(e.content);
  GMPKI_ASSIGN_OR_RETURN(auto secs, r.Optional(der::kInteger));
  if (secs) {
    GMPKI_ASSIGN_OR_RETURN(a.seconds, der::ParseSmallInteger(*secs));
    if (a.seconds < 0) return CmsMalformed("accuracy.seconds", "negative");
  }
  for (int k = 0; k < 2; ++k) {
    GMPKI_ASSIGN_OR_RETURN(auto part, r.Optional(der::ContextPrimitive(k)));
    if (!part) continue;
    der::Element as_int{der::kInteger, part->content, part->whole};
    GMPKI_ASSIGN_OR_RETURN(std::int64_t v, der::ParseSmallInteger(as_int));
    // RFC 3161 section 2.4.2: millis and micros are INTEGER (1..999).
    if (v < 1 || v > 999) return CmsMalformed("accuracy", "millis/micros outside 1..999");
    (k == 0 ? a.millis : a.micros) = static_cast<int>(v);
  }
  if (!r.empty()) return CmsMalformed("accuracy", "trailing data");
  return a;
}

}  // namespace

std::string_view TspFailureName(TspFailure f) {
  switch (f) {
    case TspFailure::kBadAlg: return "badAlg";
    case TspFailure::kBadRequest: return "badRequest";
    case TspFailure::kBadDataFormat: return "badDataFormat";
    case TspFailure::kTimeNotAvailable: return "timeNotAvailable";
    case TspFailure::kUnacceptedPolicy: return "unacceptedPolicy";
    case TspFailure::kUnacceptedExtension: return "unacceptedExtension";
    case TspFailure::kAddInfoNotAvailable: return "addInfoNotAvailable";
    case TspFailure::kSystemFailure: return "systemFailure";
  }
  return "unknown";
}

std::optional<std::size_t> TspHashLength(std::string_view hash_oid) {
  if (hash_oid == oid::kSm3 || hash_oid == oid::kSha256) return 32;
  if (hash_oid == oid::kSha1) return 20;
  return std::nullopt;
}

Result<TimeStampReq> ParseTimeStampReq(ByteView der, TspFailure* failure) {
  TspFailure dummy;
  TspFailure& why = failure ? *failure : dummy;
  why = TspFailure::kBadDataFormat;
  if (der.size() > kMaxTimeStampReqSize) {
    return Error(ErrorCode::kTooLarge, "TimeStampReq larger than 16 KiB");
  }
  auto top = der::ParseSingle(der);
  if (!top) return CmsContext("TimeStampReq", top.error());
  if (top->tag != der::kSequence) return CmsMalformed("TimeStampReq", "not a SEQUENCE");
  der::Reader r(top->content);
  auto version = r.Expect(der::kInteger);
  if (!version) return CmsContext("TimeStampReq.version", version.error());
  auto v = der::ParseSmallInteger(*version);
  if (!v) return CmsContext("TimeStampReq.version", v.error());
  // RFC 3161 section 2.4.1: version INTEGER { v1(1) }.
  if (*v != 1) return CmsMalformed("TimeStampReq.version", "not v1");
  auto imprint = r.Expect(der::kSequence);
  if (!imprint) return CmsContext("messageImprint", imprint.error());
  TimeStampReq req;
  GMPKI_RETURN_IF_ERROR(ParseImprint(*imprint, req.hash_oid, req.hashed_message));
  req.message_imprint_der.assign(imprint->whole.begin(), imprint->whole.end());
  GMPKI_ASSIGN_OR_RETURN(auto policy, r.Optional(der::kOid));
  if (policy) {
    GMPKI_ASSIGN_OR_RETURN(req.policy, der::OidToString(policy->content));
  }
  GMPKI_ASSIGN_OR_RETURN(auto nonce, r.Optional(der::kInteger));
  if (nonce) {
    if (nonce->content.size() > kMaxTspNonceOctets) {
      return CmsMalformed("nonce", "longer than 32 octets");
    }
    if (!IsMinimalInteger(nonce->content)) return CmsMalformed("nonce", "not a minimal INTEGER");
    req.nonce = Bytes(nonce->content.begin(), nonce->content.end());
  }
  GMPKI_ASSIGN_OR_RETURN(auto cert_req, r.Optional(der::kBoolean));
  if (cert_req) {
    GMPKI_ASSIGN_OR_RETURN(req.cert_req, der::ParseBoolean(*cert_req));
  }
  GMPKI_ASSIGN_OR_RETURN(auto exts, r.Optional(der::ContextConstructed(0)));
  if (exts) {
    GMPKI_ASSIGN_OR_RETURN(req.extensions, ParseExtensions(exts->content, "extensions"));
  }
  if (!r.empty()) return CmsMalformed("TimeStampReq", "trailing data");
  const auto len = TspHashLength(req.hash_oid);
  if (!len) {
    why = TspFailure::kBadAlg;
    return Error(ErrorCode::kUnsupported,
                 "messageImprint hash " + req.hash_oid + " is not SM3, SHA-256 or SHA-1");
  }
  if (req.hashed_message.size() != *len) {
    return CmsMalformed("messageImprint.hashedMessage", "wrong length for its hash algorithm");
  }
  for (const Extension& e : req.extensions) {
    // No request extension is understood; non-critical ones are ignored (RFC 5280 4.2 rule).
    if (e.critical) {
      why = TspFailure::kUnacceptedExtension;
      return Error(ErrorCode::kUnsupported, "unknown critical request extension " + e.oid);
    }
  }
  return req;
}

Result<Bytes> BuildTimeStampReq(const TimeStampReq& req) {
  const auto len = TspHashLength(req.hash_oid);
  if (!len || req.hashed_message.size() != *len) return Invalid("bad message imprint");
  GMPKI_ASSIGN_OR_RETURN(Bytes hash_oid, der::Oid(req.hash_oid));
  DerBuf b(256);
  b.Open(der::kSequence);
  b.SmallInteger(1);
  b.Open(der::kSequence);
  b.Open(der::kSequence);
  b.Raw(hash_oid);
  if (req.hash_oid != oid::kSm3) b.Raw(der::Null());
  b.Close();
  b.Tlv(der::kOctetString, req.hashed_message);
  b.Close();
  if (req.policy) {
    GMPKI_ASSIGN_OR_RETURN(Bytes p, der::Oid(*req.policy));
    b.Raw(p);
  }
  if (req.nonce) {
    if (!IsMinimalInteger(*req.nonce)) return Invalid("nonce is not a minimal INTEGER");
    b.Tlv(der::kInteger, *req.nonce);
  }
  if (req.cert_req) b.Raw(der::Boolean(true));
  b.Close();
  return b.Take();
}

TspAccuracy TspAccuracy::From(std::chrono::microseconds d) {
  TspAccuracy a;
  if (d.count() <= 0) return a;
  const std::int64_t us = d.count();
  a.seconds = us / 1000000;
  a.millis = static_cast<int>(us / 1000 % 1000);
  a.micros = static_cast<int>(us % 1000);
  return a;
}

std::chrono::microseconds TspAccuracy::ToDuration() const {
  return std::chrono::microseconds(seconds * 1000000 + millis * 1000 + micros);
}

Result<Bytes> BuildTstInfo(const TstInfoSpec& spec) {
  if (spec.message_imprint_der.empty() || spec.message_imprint_der[0] != der::kSequence) {
    return Invalid("message imprint is not a DER SEQUENCE");
  }
  ByteView serial = spec.serial;
  while (serial.size() > 1 && serial[0] == 0) serial = serial.subspan(1);
  if (serial.empty() || serial.size() > 20 || (serial.size() == 20 && (serial[0] & 0x80)) ||
      (serial.size() == 1 && serial[0] == 0)) {
    return Invalid("serial must be 1..159 bits and non-zero");
  }
  if (spec.nonce && (spec.nonce->size() > kMaxTspNonceOctets || !IsMinimalInteger(*spec.nonce))) {
    return Invalid("nonce is not a minimal INTEGER of at most 32 octets");
  }
  char gen[32];
  GMPKI_ASSIGN_OR_RETURN(std::size_t gen_len,
                         FormatGenTime(spec.gen_time, spec.fraction_digits, gen));
  auto policy = der::Oid(spec.policy_oid);
  if (!policy) return Invalid("bad policy OID '" + spec.policy_oid + "'");

  DerBuf b(256 + spec.message_imprint_der.size() + spec.tsa_name_der.size());
  b.Open(der::kSequence);
  b.SmallInteger(1);  // version v1
  b.Raw(*policy);
  b.Raw(spec.message_imprint_der);
  b.UnsignedInteger(serial);
  b.Tlv(der::kGeneralizedTime,
        ByteView(reinterpret_cast<const std::uint8_t*>(gen), gen_len));
  if (spec.accuracy && (spec.accuracy->seconds > 0 || spec.accuracy->millis > 0 ||
                        spec.accuracy->micros > 0)) {
    const TspAccuracy& a = *spec.accuracy;
    if (a.seconds < 0 || a.millis < 0 || a.millis > 999 || a.micros < 0 || a.micros > 999) {
      return Invalid("accuracy out of range");
    }
    b.Open(der::kSequence);
    if (a.seconds > 0) b.SmallInteger(a.seconds);
    if (a.millis > 0) b.Raw(der::Implicit(0, der::Integer(a.millis)));
    if (a.micros > 0) b.Raw(der::Implicit(1, der::Integer(a.micros)));
    b.Close();
  }
  if (spec.ordering) b.Raw(der::Boolean(true));
  if (spec.nonce) b.Tlv(der::kInteger, *spec.nonce);
  if (!spec.tsa_name_der.empty()) {
    // tsa [0] GeneralName: GeneralName is a CHOICE, so [0] is EXPLICIT; directoryName [4]
    // is EXPLICIT too (Name is a CHOICE), RFC 5280 Appendix A.2.
    b.Open(der::ContextConstructed(0));
    b.Open(der::ContextConstructed(4));
    b.Raw(spec.tsa_name_der);
    b.Close();
    b.Close();
  }
  b.Close();
  return b.Take();
}

Bytes SigningCertificateV2Value(const Certificate& cert, const crypto::Sm3Digest& cert_hash) {
  DerBuf b(256 + cert.issuer().der().size());
  b.Open(der::kSequence);  // SigningCertificateV2
  b.Open(der::kSequence);  // certs
  b.Open(der::kSequence);  // ESSCertIDv2
  // RFC 5035 section 4: hashAlgorithm DEFAULT id-sha256, so SM3 is always written.
  b.AlgorithmId(Sm3OidContent());
  b.Tlv(der::kOctetString, cert_hash);
  b.Open(der::kSequence);  // IssuerSerial
  b.Open(der::kSequence);  // GeneralNames
  b.Open(der::ContextConstructed(4));
  b.Raw(cert.issuer().der());
  b.Close();
  b.Close();
  b.UnsignedInteger(cert.serial());
  b.Close();
  b.Close();
  b.Close();
  b.Close();
  return b.Take();
}

Result<Bytes> BuildTimeStampToken(const TstInfoSpec& info, const TokenSignerSpec& s) {
  if (s.tsa_certificate == nullptr || s.signer == nullptr) {
    return Invalid("token needs the TSA certificate and signer");
  }
  GMPKI_ASSIGN_OR_RETURN(Bytes tst, BuildTstInfo(info));
  const crypto::Sm3Digest hash = s.cert_hash ? *s.cert_hash : s.tsa_certificate->fingerprint();
  SignedDataSpec spec;
  spec.content_type = std::string(oid::kTstInfo);
  spec.content = tst;
  spec.extra_signed_attributes.push_back(
      CmsAttribute{std::string(oid::kAttrSigningCertificateV2),
                   {SigningCertificateV2Value(*s.tsa_certificate, hash)}});
  spec.signer_certificate = s.tsa_certificate;
  if (s.include_certificates) {
    spec.certificates.push_back(s.tsa_certificate);
    for (const Certificate* c : s.chain) spec.certificates.push_back(c);
  }
  spec.flavor = s.flavor;
  spec.signature_oid = s.signature_oid;
  return BuildSignedData(spec, *s.signer);
}

Bytes BuildGrantedTimeStampResp(ByteView token) {
  DerBuf b(token.size() + 16);
  b.Open(der::kSequence);
  b.Open(der::kSequence);
  b.SmallInteger(static_cast<int>(PkiStatus::kGranted));
  b.Close();
  b.Raw(token);
  b.Close();
  return b.Take();
}

Bytes BuildRejectedTimeStampResp(TspFailure failure, std::string_view text) {
  DerBuf b(64 + text.size());
  b.Open(der::kSequence);
  b.Open(der::kSequence);
  b.SmallInteger(static_cast<int>(PkiStatus::kRejection));
  if (!text.empty()) {
    b.Open(der::kSequence);  // PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
    b.Raw(der::Utf8String(text));
    b.Close();
  }
  b.Raw(der::NamedBitString(1u << static_cast<unsigned>(failure)));
  b.Close();
  b.Close();
  return b.Take();
}

Result<TstInfo> ParseTstInfo(ByteView der) {
  auto top = der::ParseSingle(der);
  if (!top) return CmsContext("TSTInfo", top.error());
  if (top->tag != der::kSequence) return CmsMalformed("TSTInfo", "not a SEQUENCE");
  der::Reader r(top->content);
  TstInfo t;
  auto version = r.Expect(der::kInteger);
  if (!version) return CmsContext("TSTInfo.version", version.error());
  auto v = der::ParseSmallInteger(*version);
  if (!v || *v != 1) return CmsMalformed("TSTInfo.version", "not v1");
  auto policy = r.Expect(der::kOid);
  if (!policy) return CmsContext("TSTInfo.policy", policy.error());
  GMPKI_ASSIGN_OR_RETURN(t.policy, der::OidToString(policy->content));
  auto imprint = r.Expect(der::kSequence);
  if (!imprint) return CmsContext("TSTInfo.messageImprint", imprint.error());
  GMPKI_RETURN_IF_ERROR(ParseImprint(*imprint, t.hash_oid, t.hashed_message));
  t.message_imprint_der.assign(imprint->whole.begin(), imprint->whole.end());
  auto serial = r.Expect(der::kInteger);
  if (!serial) return CmsContext("TSTInfo.serialNumber", serial.error());
  auto mag = der::ParseUnsignedInteger(*serial);
  if (!mag) return CmsContext("TSTInfo.serialNumber", mag.error());
  t.serial = std::move(*mag);
  auto gen = r.Next();
  if (!gen) return CmsContext("TSTInfo.genTime", gen.error());
  GMPKI_ASSIGN_OR_RETURN(t.gen_time, internal::ParseGeneralizedTimeFraction(*gen, "genTime"));
  t.gen_time_text.assign(gen->content.begin(), gen->content.end());
  GMPKI_ASSIGN_OR_RETURN(auto accuracy, r.Optional(der::kSequence));
  if (accuracy) {
    GMPKI_ASSIGN_OR_RETURN(t.accuracy, ParseAccuracy(*accuracy));
  }
  GMPKI_ASSIGN_OR_RETURN(auto ordering, r.Optional(der::kBoolean));
  if (ordering) {
    GMPKI_ASSIGN_OR_RETURN(t.ordering, der::ParseBoolean(*ordering));
  }
  GMPKI_ASSIGN_OR_RETURN(auto nonce, r.Optional(der::kInteger));
  if (nonce) {
    if (!IsMinimalInteger(nonce->content)) return CmsMalformed("nonce", "not a minimal INTEGER");
    t.nonce = Bytes(nonce->content.begin(), nonce->content.end());
  }
  GMPKI_ASSIGN_OR_RETURN(auto tsa, r.Optional(der::ContextConstructed(0)));
  if (tsa) {
    auto inner = der::ParseSingle(tsa->content);
    if (!inner) return CmsContext("TSTInfo.tsa", inner.error());
    t.tsa_name_der.assign(inner->whole.begin(), inner->whole.end());
  }
  GMPKI_ASSIGN_OR_RETURN(auto exts, r.Optional(der::ContextConstructed(1)));
  if (exts) {
    GMPKI_ASSIGN_OR_RETURN(t.extensions, ParseExtensions(exts->content, "extensions"));
  }
  if (!r.empty()) return CmsMalformed("TSTInfo", "trailing data");
  return t;
}

Result<TimeStampResp> ParseTimeStampResp(ByteView der) {
  if (der.size() > kMaxSignedDataSize) {
    return Error(ErrorCode::kTooLarge, "TimeStampResp too large");
  }
  auto top = der::ParseSingle(der);
  if (!top) return CmsContext("TimeStampResp", top.error());
  if (top->tag != der::kSequence) return CmsMalformed("TimeStampResp", "not a SEQUENCE");
  der::Reader r(top->content);
  auto info = r.Expect(der::kSequence);
  if (!info) return CmsContext("PKIStatusInfo", info.error());
  der::Reader ir(info->content);
  auto status = ir.Expect(der::kInteger);
  if (!status) return CmsContext("PKIStatusInfo.status", status.error());
  auto sv = der::ParseSmallInteger(*status);
  if (!sv) return CmsContext("PKIStatusInfo.status", sv.error());
  if (*sv < 0 || *sv > 5) return CmsMalformed("PKIStatusInfo.status", "unknown PKIStatus");
  TimeStampResp out;
  out.status = static_cast<PkiStatus>(*sv);
  GMPKI_ASSIGN_OR_RETURN(auto text, ir.Optional(der::kSequence));
  if (text) {
    der::Reader tr(text->content);
    while (!tr.empty()) {
      auto s = tr.Expect(der::kUtf8String);
      if (!s) return CmsContext("statusString", s.error());
      out.status_strings.emplace_back(s->content.begin(), s->content.end());
    }
  }
  GMPKI_ASSIGN_OR_RETURN(auto fail, ir.Optional(der::kBitString));
  if (fail) {
    auto bits = der::ParseNamedBitString(*fail);
    if (!bits) return CmsContext("failInfo", bits.error());
    out.fail_info = *bits;
  }
  if (!ir.empty()) return CmsMalformed("PKIStatusInfo", "trailing data");
  GMPKI_ASSIGN_OR_RETURN(auto token, r.Optional(der::kSequence));
  if (token) out.token.assign(token->whole.begin(), token->whole.end());
  if (!r.empty()) return CmsMalformed("TimeStampResp", "trailing data");
  const bool granted =
      out.status == PkiStatus::kGranted || out.status == PkiStatus::kGrantedWithMods;
  // RFC 3161 section 2.4.2: the token is present if and only if the status is granted(0) or
  // grantedWithMods(1).
  if (granted != !out.token.empty()) {
    return CmsMalformed("TimeStampResp", "timeStampToken present iff status granted");
  }
  return out;
}

}  // namespace gmpki::x509
