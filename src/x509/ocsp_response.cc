// OCSP responses (RFC 6960 section 4.2): building SM2-signed
// BasicOCSPResponses, unsigned error responses, parsing any OCSPResponse, and
// verifying SM2 signatures under the GM/T rule.
#include <string>

#include "x509/der.h"
#include "x509/ocsp.h"
#include "x509/ocsp_internal.h"
#include "x509/signed_object.h"

namespace gmpki::x509 {
namespace {

using internal::OcspContext;
using internal::OcspMalformed;

// CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT
// RevokedInfo,
//                         unknown [2] IMPLICIT UnknownInfo }   (RFC 6960
//                         section 4.2.1)
constexpr std::uint8_t kGoodTag = 0x80;
constexpr std::uint8_t kRevokedTag = 0xa1;
constexpr std::uint8_t kUnknownTag = 0x82;

bool IsKnownReason(std::int64_t v) { return v >= 0 && v <= 10 && v != 7; }

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "OCSP response: " + std::move(message));
}

Result<Bytes> EncodeSingleResponse(const OcspSingleResponse& s) {
  GMPKI_ASSIGN_OR_RETURN(Bytes cert_id, internal::EncodeOcspCertId(s.id));
  Bytes status;
  switch (s.status) {
    case OcspCertStatus::kGood:
      status = der::Tlv(kGoodTag, {});
      break;
    case OcspCertStatus::kUnknown:
      status = der::Tlv(kUnknownTag, {});
      break;
    case OcspCertStatus::kRevoked: {
      // RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime,
      //                            revocationReason [0] EXPLICIT CRLReason
      //                            OPTIONAL }
      GMPKI_ASSIGN_OR_RETURN(Bytes content, der::GeneralizedTime(s.revocation_time));
      if (s.reason) {
        Bytes reason = der::Explicit(0, der::Enumerated(static_cast<int>(*s.reason)));
        content.insert(content.end(), reason.begin(), reason.end());
      }
      status = der::Tlv(kRevokedTag, content);
      break;
    }
    default:
      return Invalid("unknown certificate status");
  }
  if (s.status != OcspCertStatus::kRevoked && s.reason) {
    return Invalid("a revocation reason on a status that is not revoked");
  }
  if (s.reason && !IsKnownReason(static_cast<int>(*s.reason))) {
    return Invalid("unknown revocation reason");
  }
  // RFC 6960 section 4.2.2.1: thisUpdate and nextUpdate are GeneralizedTime.
  GMPKI_ASSIGN_OR_RETURN(Bytes this_update, der::GeneralizedTime(s.this_update));
  std::vector<Bytes> items{std::move(cert_id), std::move(status), std::move(this_update)};
  if (s.next_update) {
    if (*s.next_update < s.this_update) return Invalid("nextUpdate before thisUpdate");
    GMPKI_ASSIGN_OR_RETURN(Bytes next, der::GeneralizedTime(*s.next_update));
    items.push_back(der::Explicit(0, next));
  }
  return der::Sequence(items);
}

// GeneralizedTime, allowing the fractional seconds X.690 section 11.7 permits
// (truncated).
Result<TimePoint> ParseGeneralizedTime(const der::Element& e, std::string_view what) {
  if (e.tag != der::kGeneralizedTime) return OcspMalformed(what, "not a GeneralizedTime");
  ByteView c = e.content;
  Bytes stripped;
  if (c.size() > 15 && c[14] == '.') {
    std::size_t j = 15;
    while (j < c.size() && c[j] >= '0' && c[j] <= '9') ++j;
    // X.690 section 11.7.3/11.7.4: at least one digit, no trailing zero.
    if (j == 15 || c[j - 1] == '0') return OcspMalformed(what, "bad fractional seconds");
    stripped.assign(c.begin(), c.begin() + 14);
    stripped.insert(stripped.end(), c.begin() + static_cast<std::ptrdiff_t>(j), c.end());
  }
  der::Element plain = e;
  if (!stripped.empty()) plain.content = stripped;
  // TimePoint counts nanoseconds (about 1678..2262); years outside it would overflow in
  // der::ParseTime. OCSP times are "now"-ish, so anything outside 1950..2261 is refused.
  if (plain.content.size() >= 4) {
    int year = 0;
    for (int k = 0; k < 4; ++k) {
      const std::uint8_t d = plain.content[static_cast<std::size_t>(k)];
      if (d < '0' || d > '9') return OcspMalformed(what, "time is not YYYYMMDDHHMMSSZ");
      year = year * 10 + (d - '0');
    }
    if (year < 1950 || year > 2261) return OcspMalformed(what, "year out of range");
  }
  auto t = der::ParseTime(plain);
  if (!t) return OcspContext(what, t.error());
  return *t;
}

Result<der::Element> UnwrapExplicit(const der::Element& e, std::string_view what) {
  auto inner = der::ParseSingle(e.content);
  if (!inner) return OcspContext(what, inner.error());
  return *inner;
}

Result<OcspSingleResponse> ParseSingleResponse(const der::Element& e) {
  constexpr std::string_view kWhat = "SingleResponse";
  if (e.tag != der::kSequence) return OcspMalformed(kWhat, "not a SEQUENCE");
  der::Reader r(e.content);
  OcspSingleResponse s;
  auto cert_id = r.Next();
  if (!cert_id) return OcspContext("SingleResponse.certID", cert_id.error());
  GMPKI_ASSIGN_OR_RETURN(s.id, internal::ParseOcspCertId(*cert_id));
  auto status = r.Next();
  if (!status) return OcspContext("SingleResponse.certStatus", status.error());
  if (status->tag == kGoodTag || status->tag == kUnknownTag) {
    if (!status->content.empty()) return OcspMalformed("certStatus", "NULL with content");
    s.status = status->tag == kGoodTag ? OcspCertStatus::kGood : OcspCertStatus::kUnknown;
  } else if (status->tag == kRevokedTag) {
    s.status = OcspCertStatus::kRevoked;
    der::Reader rr(status->content);
    auto when = rr.Next();
    if (!when) return OcspContext("RevokedInfo", when.error());
    GMPKI_ASSIGN_OR_RETURN(s.revocation_time, ParseGeneralizedTime(*when, "revocationTime"));
    GMPKI_ASSIGN_OR_RETURN(auto reason, rr.Optional(der::ContextConstructed(0)));
    if (reason) {
      GMPKI_ASSIGN_OR_RETURN(der::Element en, UnwrapExplicit(*reason, "revocationReason"));
      if (en.tag != der::kEnumerated) return OcspMalformed("revocationReason", "not ENUMERATED");
      auto v = der::ParseSmallInteger(en);
      if (!v) return OcspContext("revocationReason", v.error());
      if (!IsKnownReason(*v)) return OcspMalformed("revocationReason", "unknown CRLReason");
      s.reason = static_cast<RevocationReason>(*v);
    }
    if (!rr.empty()) return OcspMalformed("RevokedInfo", "trailing data");
  } else {
    return OcspMalformed("certStatus", "not good [0], revoked [1] or unknown [2]");
  }
  auto this_update = r.Next();
  if (!this_update) return OcspContext("thisUpdate", this_update.error());
  GMPKI_ASSIGN_OR_RETURN(s.this_update, ParseGeneralizedTime(*this_update, "thisUpdate"));
  GMPKI_ASSIGN_OR_RETURN(auto next, r.Optional(der::ContextConstructed(0)));
  if (next) {
    GMPKI_ASSIGN_OR_RETURN(der::Element t, UnwrapExplicit(*next, "nextUpdate"));
    GMPKI_ASSIGN_OR_RETURN(s.next_update, ParseGeneralizedTime(t, "nextUpdate"));
  }
  GMPKI_ASSIGN_OR_RETURN(auto exts, r.Optional(der::ContextConstructed(1)));
  if (exts) {
    GMPKI_ASSIGN_OR_RETURN(der::Element seq, UnwrapExplicit(*exts, "singleExtensions"));
    GMPKI_RETURN_IF_ERROR(internal::ParseOcspExtensions(seq, {}, "singleExtensions"));
  }
  if (!r.empty()) return OcspMalformed(kWhat, "trailing data");
  return s;
}

// ResponseData ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
// responderID,
//   producedAt GeneralizedTime, responses SEQUENCE OF SingleResponse,
//   responseExtensions [1] EXPLICIT Extensions OPTIONAL }
Status ParseResponseData(const der::Element& tbs, OcspResponse& out) {
  constexpr std::string_view kWhat = "ResponseData";
  der::Reader r(tbs.content);
  GMPKI_ASSIGN_OR_RETURN(auto version, r.Optional(der::ContextConstructed(0)));
  if (version) {
    GMPKI_ASSIGN_OR_RETURN(der::Element v, UnwrapExplicit(*version, "version"));
    if (v.tag != der::kInteger) return OcspMalformed("version", "not an INTEGER");
    auto n = der::ParseSmallInteger(v);
    if (!n) return OcspContext("version", n.error());
    if (*n != 0) return OcspMalformed("version", "only v1 (0) is defined");
  }
  // ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash } (EXPLICIT
  // module tags).
  auto rid = r.Next();
  if (!rid) return OcspContext("responderID", rid.error());
  GMPKI_ASSIGN_OR_RETURN(der::Element inner, UnwrapExplicit(*rid, "responderID"));
  if (rid->tag == der::ContextConstructed(1)) {
    if (inner.tag != der::kSequence) return OcspMalformed("responderID", "byName not a Name");
    out.responder_name_der = Bytes(inner.whole.begin(), inner.whole.end());
  } else if (rid->tag == der::ContextConstructed(2)) {
    if (inner.tag != der::kOctetString) return OcspMalformed("responderID", "byKey not OCTET");
    out.responder_key_hash = Bytes(inner.content.begin(), inner.content.end());
  } else {
    return OcspMalformed("responderID", "neither byName [1] nor byKey [2]");
  }
  auto produced = r.Next();
  if (!produced) return OcspContext("producedAt", produced.error());
  GMPKI_ASSIGN_OR_RETURN(out.produced_at, ParseGeneralizedTime(*produced, "producedAt"));
  auto list = r.Expect(der::kSequence);
  if (!list) return OcspContext("responses", list.error());
  der::Reader lr(list->content);
  while (!lr.empty()) {
    auto one = lr.Next();
    if (!one) return OcspContext("responses", one.error());
    GMPKI_ASSIGN_OR_RETURN(OcspSingleResponse s, ParseSingleResponse(*one));
    out.responses.push_back(std::move(s));
  }
  GMPKI_ASSIGN_OR_RETURN(auto exts, r.Optional(der::ContextConstructed(1)));
  if (exts) {
    GMPKI_ASSIGN_OR_RETURN(der::Element seq, UnwrapExplicit(*exts, "responseExtensions"));
    GMPKI_ASSIGN_OR_RETURN(out.extensions, internal::ParseOcspExtensions(seq, {oid::kOcspNonce},
                                                                         "responseExtensions"));
    if (const Extension* n = FindExtension(out.extensions, oid::kOcspNonce)) {
      // Lenient on length here (a client reads what it was sent), strict on the
      // type.
      auto e = der::ParseSingle(n->value);
      if (!e || e->tag != der::kOctetString) return OcspMalformed("nonce", "not an OCTET STRING");
      out.nonce = Bytes(e->content.begin(), e->content.end());
    }
  }
  if (!r.empty()) return OcspMalformed(kWhat, "trailing data");
  return OkStatus();
}

// BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm,
// signature BIT STRING,
//                                  certs [0] EXPLICIT SEQUENCE OF Certificate
//                                  OPTIONAL }
Status ParseBasic(ByteView der, OcspResponse& out) {
  constexpr std::string_view kWhat = "BasicOCSPResponse";
  auto basic = der::ParseSingle(der);
  if (!basic) return OcspContext(kWhat, basic.error());
  if (basic->tag != der::kSequence) return OcspMalformed(kWhat, "not a SEQUENCE");
  der::Reader r(basic->content);
  auto tbs = r.Expect(der::kSequence);
  if (!tbs) return OcspContext("tbsResponseData", tbs.error());
  auto alg = r.Expect(der::kSequence);
  if (!alg) return OcspContext("signatureAlgorithm", alg.error());
  auto sig = r.Expect(der::kBitString);
  if (!sig) return OcspContext("signature", sig.error());
  GMPKI_ASSIGN_OR_RETURN(auto certs, r.Optional(der::ContextConstructed(0)));
  if (!r.empty()) return OcspMalformed(kWhat, "trailing data");

  der::Reader ar(alg->content);
  auto alg_oid = ar.Expect(der::kOid);
  if (!alg_oid) return OcspContext("signatureAlgorithm", alg_oid.error());
  auto alg_text = der::OidToString(alg_oid->content);
  if (!alg_text) return OcspContext("signatureAlgorithm", alg_text.error());
  out.signature_algorithm = std::move(*alg_text);
  if (out.signature_algorithm == kSm3WithSm2Oid) {
    auto st = internal::CheckSm2SignatureAlgorithm(*alg);
    if (!st) return OcspContext("signatureAlgorithm", st.error());
  }
  std::uint8_t unused = 0;
  auto bits = der::ParseBitString(*sig, &unused);
  if (!bits) return OcspContext("signature", bits.error());
  if (unused != 0) return OcspMalformed("signature", "unused bits");
  out.signature.assign(bits->begin(), bits->end());
  if (certs) {
    GMPKI_ASSIGN_OR_RETURN(der::Element seq, UnwrapExplicit(*certs, "certs"));
    if (seq.tag != der::kSequence) return OcspMalformed("certs", "not a SEQUENCE");
    der::Reader cr(seq.content);
    while (!cr.empty()) {
      auto c = cr.Expect(der::kSequence);
      if (!c) return OcspContext("certs", c.error());
      out.certs.emplace_back(c->whole.begin(), c->whole.end());
    }
  }
  out.tbs_response_data.assign(tbs->whole.begin(), tbs->whole.end());
  return ParseResponseData(*tbs, out);
}

Result<OcspResponse> ParseResponseInner(ByteView der) {
  constexpr std::string_view kWhat = "OCSPResponse";
  auto outer = der::ParseSingle(der);
  if (!outer) return outer.error();
  if (outer->tag != der::kSequence) return OcspMalformed(kWhat, "not a SEQUENCE");
  der::Reader r(outer->content);
  auto status = r.Expect(der::kEnumerated);
  if (!status) return OcspContext("responseStatus", status.error());
  auto v = der::ParseSmallInteger(*status);
  if (!v) return OcspContext("responseStatus", v.error());
  // RFC 6960 section 4.2.1: 0..3, 5, 6; "(4) is not used".
  if (*v < 0 || *v > 6 || *v == 4) {
    return OcspMalformed("responseStatus", "unknown value " + std::to_string(*v));
  }
  OcspResponse out;
  out.status = static_cast<int>(*v);
  GMPKI_ASSIGN_OR_RETURN(auto bytes, r.Optional(der::ContextConstructed(0)));
  if (!r.empty()) return OcspMalformed(kWhat, "trailing data");
  if (out.status != 0) {
    if (bytes) return OcspMalformed(kWhat, "responseBytes on an unsuccessful status");
    return out;
  }
  if (!bytes) return OcspMalformed(kWhat, "successful status without responseBytes");
  // ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER, response OCTET
  // STRING }
  GMPKI_ASSIGN_OR_RETURN(der::Element rb, UnwrapExplicit(*bytes, "responseBytes"));
  if (rb.tag != der::kSequence) return OcspMalformed("responseBytes", "not a SEQUENCE");
  der::Reader br(rb.content);
  auto type = br.Expect(der::kOid);
  if (!type) return OcspContext("responseType", type.error());
  auto response = br.Expect(der::kOctetString);
  if (!response) return OcspContext("response", response.error());
  if (!br.empty()) return OcspMalformed("responseBytes", "trailing data");
  auto type_text = der::OidToString(type->content);
  if (!type_text) return OcspContext("responseType", type_text.error());
  out.response_type = std::move(*type_text);
  if (out.response_type != oid::kOcspBasic) {
    return Error(ErrorCode::kUnsupported,
                 "responseType " + out.response_type + " is not id-pkix-ocsp-basic");
  }
  GMPKI_RETURN_IF_ERROR(ParseBasic(response->content, out));
  return out;
}

}  // namespace

Result<Bytes> BuildOcspResponse(const OcspResponseSpec& spec, const Signer& signer) {
  if (spec.responses.empty()) return Invalid("no single responses");
  if (spec.nonce && (spec.nonce->empty() || spec.nonce->size() > kMaxOcspNonceSize)) {
    return Invalid("nonce must be 1 to 32 octets");
  }
  Bytes key_hash = spec.responder_key_hash.empty() ? OcspResponderKeyHash(signer.public_key)
                                                   : spec.responder_key_hash;
  std::vector<Bytes> singles;
  singles.reserve(spec.responses.size());
  for (const OcspSingleResponse& s : spec.responses) {
    GMPKI_ASSIGN_OR_RETURN(Bytes one, EncodeSingleResponse(s));
    singles.push_back(std::move(one));
  }
  GMPKI_ASSIGN_OR_RETURN(Bytes produced_at, der::GeneralizedTime(spec.produced_at));
  // Version v1 is the DEFAULT and so omitted (X.690 section 11.5).
  std::vector<Bytes> tbs_items{der::Explicit(2, der::OctetString(key_hash)), std::move(produced_at),
                               der::Sequence(singles)};
  if (spec.nonce) {
    // RFC 6960 section 4.4.1: the responder echoes the request's nonce.
    GMPKI_ASSIGN_OR_RETURN(Bytes exts,
                           EncodeExtensions({internal::OcspNonceExtension(*spec.nonce)}));
    tbs_items.push_back(der::Explicit(1, exts));
  }
  const Bytes tbs = der::Sequence(tbs_items);
  std::vector<Bytes> cert_items;
  for (const Bytes& c : spec.certs) {
    auto e = der::ParseSingle(c);
    if (!e || e->tag != der::kSequence) return Invalid("a signer certificate is not DER");
    cert_items.push_back(c);
  }
  GMPKI_ASSIGN_OR_RETURN(Bytes signature, signer.sign(tbs));
  std::vector<Bytes> basic_items{tbs, Sm3WithSm2AlgorithmId(), der::BitString(signature)};
  if (!cert_items.empty()) basic_items.push_back(der::Explicit(0, der::Sequence(cert_items)));
  const Bytes basic = der::Sequence(basic_items);
  return der::Sequence({der::Enumerated(static_cast<int>(OcspResponseStatus::kSuccessful)),
                        der::Explicit(0, der::Sequence({der::OidLiteral(oid::kOcspBasic),
                                                        der::OctetString(basic)}))});
}

Bytes BuildOcspErrorResponse(OcspResponseStatus status) {
  // OCSPResponse ::= SEQUENCE { responseStatus, responseBytes [0] EXPLICIT
  // OPTIONAL }; RFC 6960 section 2.3: error responses are not signed and carry
  // no responseBytes.
  return der::Sequence({der::Enumerated(static_cast<int>(status))});
}

Result<OcspResponse> ParseOcspResponse(ByteView der) {
  if (der.size() > kMaxOcspResponseSize) {
    return Error(ErrorCode::kTooLarge,
                 "OCSP response larger than " + std::to_string(kMaxOcspResponseSize) + " octets");
  }
  auto r = ParseResponseInner(der);
  if (!r) return Error(r.error().code(), "OCSP response: " + r.error().message());
  return r;
}

Status VerifyOcspResponseSignature(const OcspResponse& response,
                                   const crypto::Sm2PublicKey& signer_key) {
  if (response.status != 0 || response.tbs_response_data.empty()) {
    return Error(ErrorCode::kFailedPrecondition, "OCSP response is not successful: unsigned");
  }
  if (response.signature_algorithm != kSm3WithSm2Oid) {
    return Error(ErrorCode::kUnsupported, "OCSP response signature algorithm " +
                                              response.signature_algorithm +
                                              " is not SM2-with-SM3");
  }
  return VerifySm2Signature(signer_key, response.tbs_response_data, response.signature);
}

}  // namespace gmpki::x509
