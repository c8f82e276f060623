// OCSP requests (RFC 6960 section 4.1), the GET form (Appendix A.1) and the
// CertID hashes. The response side is in ocsp_response.cc.
#include "x509/ocsp.h"

#include <openssl/evp.h>

#include <string>

#include "crypto/sm3.h"
#include "x509/ocsp_internal.h"

namespace gmpki::x509 {
namespace internal {

Error OcspMalformed(std::string_view what, std::string_view message) {
  return Error(ErrorCode::kMalformedInput, std::string(what) + ": " + std::string(message));
}

Error OcspContext(std::string_view what, const Error& e) {
  return Error(e.code(), std::string(what) + ": " + e.message());
}

std::optional<std::size_t> OcspHashLength(std::string_view hash_oid) {
  if (hash_oid == oid::kSha1) return 20;
  if (hash_oid == oid::kSha256 || hash_oid == oid::kSm3) return 32;
  return std::nullopt;
}

Result<Bytes> OcspHash(std::string_view hash_oid, ByteView data) {
  if (hash_oid == oid::kSm3) {
    crypto::Sm3Digest d = crypto::Sm3(data);
    return Bytes(d.begin(), d.end());
  }
  // SHA-1 and SHA-256 only because clients (openssl ocsp, browsers) put them in
  // CertIDs; they are used to match, never to sign.
  const EVP_MD* md = hash_oid == oid::kSha1     ? EVP_sha1()
                     : hash_oid == oid::kSha256 ? EVP_sha256()
                                                : nullptr;
  if (md == nullptr) {
    return Error(ErrorCode::kInvalidArgument,
                 "CertID hash " + std::string(hash_oid) + " is not sha1, sha256 or sm3");
  }
  Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &n, md, nullptr) != 1 || n != out.size()) {
    return Error(ErrorCode::kCryptoFailure, "EVP_Digest failed");
  }
  return out;
}

Result<OcspCertId> ParseOcspCertId(const der::Element& e) {
  constexpr std::string_view kWhat = "CertID";
  if (e.tag != der::kSequence) return OcspMalformed(kWhat, "not a SEQUENCE");
  der::Reader r(e.content);
  auto alg = r.Expect(der::kSequence);
  if (!alg) return OcspContext("CertID.hashAlgorithm", alg.error());
  der::Reader ar(alg->content);
  auto o = ar.Expect(der::kOid);
  if (!o) return OcspContext("CertID.hashAlgorithm", o.error());
  OcspCertId id;
  auto oid_text = der::OidToString(o->content);
  if (!oid_text) return OcspContext("CertID.hashAlgorithm", oid_text.error());
  id.hash_oid = std::move(*oid_text);
  // Parameters: NULL (OpenSSL, RFC 6960 examples) or absent (RFC 5754 section
  // 2).
  auto params = ar.Optional(der::kNull);
  if (!params) return OcspContext("CertID.hashAlgorithm", params.error());
  if (*params && !(*params)->content.empty()) {
    return OcspMalformed("CertID.hashAlgorithm", "NULL parameters with content");
  }
  if (!ar.empty()) return OcspMalformed("CertID.hashAlgorithm", "unexpected parameters");
  auto name_hash = r.Expect(der::kOctetString);
  if (!name_hash) return OcspContext("CertID.issuerNameHash", name_hash.error());
  auto key_hash = r.Expect(der::kOctetString);
  if (!key_hash) return OcspContext("CertID.issuerKeyHash", key_hash.error());
  auto serial = r.Expect(der::kInteger);
  if (!serial) return OcspContext("CertID.serialNumber", serial.error());
  if (!r.empty()) return OcspMalformed(kWhat, "trailing data after serialNumber");
  auto magnitude = der::ParseUnsignedInteger(*serial);
  if (!magnitude) return OcspContext("CertID.serialNumber", magnitude.error());
  // RFC 5280 section 4.1.2.2: at most 20 octets (21 with the sign octet,
  // already removed).
  if (magnitude->size() > 20) return OcspMalformed("CertID.serialNumber", "longer than 20 octets");
  id.issuer_name_hash.assign(name_hash->content.begin(), name_hash->content.end());
  id.issuer_key_hash.assign(key_hash->content.begin(), key_hash->content.end());
  id.serial = std::move(*magnitude);
  if (auto len = OcspHashLength(id.hash_oid)) {
    if (id.issuer_name_hash.size() != *len || id.issuer_key_hash.size() != *len) {
      return OcspMalformed(kWhat, "hash length does not match " + id.hash_oid);
    }
  } else if (id.issuer_name_hash.size() > 64 || id.issuer_key_hash.size() > 64) {
    return OcspMalformed(kWhat, "hash longer than 64 octets");
  }
  return id;
}

Result<Bytes> EncodeOcspCertId(const OcspCertId& id) {
  auto hash_oid = der::Oid(id.hash_oid);
  if (!hash_oid) return hash_oid.error();
  if (auto len = OcspHashLength(id.hash_oid)) {
    if (id.issuer_name_hash.size() != *len || id.issuer_key_hash.size() != *len) {
      return Error(ErrorCode::kInvalidArgument, "CertID hash length does not match " + id.hash_oid);
    }
  }
  std::size_t first = 0;
  while (first < id.serial.size() && id.serial[first] == 0) ++first;
  if (id.serial.empty() || id.serial.size() - first > 20) {
    return Error(ErrorCode::kInvalidArgument, "CertID serial must be 1..20 octets");
  }
  return der::Sequence({der::Sequence({std::move(*hash_oid), der::Null()}),
                        der::OctetString(id.issuer_name_hash), der::OctetString(id.issuer_key_hash),
                        der::IntegerFromUnsigned(id.serial)});
}

Result<Bytes> ParseOcspNonce(ByteView extn_value) {
  // RFC 6960 section 4.4.1: "Nonce ::= OCTET STRING"; RFC 8954 section 2.1:
  // "The value of the nonce MUST be at least 1 octet and at most 32 octets" and
  // a responder "MUST reject any OCSP request that has a nonce ... of either 0
  // octets or more than 32 octets".
  auto e = der::ParseSingle(extn_value);
  if (!e) return OcspContext("nonce", e.error());
  if (e->tag != der::kOctetString) return OcspMalformed("nonce", "not an OCTET STRING");
  if (e->content.empty() || e->content.size() > kMaxOcspNonceSize) {
    return OcspMalformed("nonce", "must be 1 to 32 octets (RFC 8954 section 2.1), got " +
                                      std::to_string(e->content.size()));
  }
  return Bytes(e->content.begin(), e->content.end());
}

Extension OcspNonceExtension(ByteView nonce) {
  return Extension{std::string(oid::kOcspNonce), false, der::OctetString(nonce)};
}

Result<std::vector<Extension>> ParseOcspExtensions(
    const der::Element& seq, std::initializer_list<std::string_view> understood,
    std::string_view where) {
  auto exts = ParseExtensions(seq.whole);
  if (!exts) return OcspContext(where, exts.error());
  for (const Extension& e : *exts) {
    if (!e.critical) continue;
    bool known = false;
    for (std::string_view o : understood) known = known || e.oid == o;
    if (!known) return OcspMalformed(where, "unsupported critical extension " + e.oid);
  }
  return std::move(exts).value();
}

}  // namespace internal

namespace {

using internal::OcspContext;
using internal::OcspMalformed;

// [n] EXPLICIT wrapper: the content must be exactly one element.
Result<der::Element> UnwrapExplicit(const der::Element& e, std::string_view what) {
  auto inner = der::ParseSingle(e.content);
  if (!inner) return OcspContext(what, inner.error());
  return *inner;
}

// Signature ::= SEQUENCE { signatureAlgorithm, signature BIT STRING,
//                          certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL
//                          }
// Checked for shape only: RFC 5019 section 2.1.2 lets a responder ignore the
// signature.
Status CheckRequestSignatureShape(const der::Element& wrapped) {
  constexpr std::string_view kWhat = "optionalSignature";
  GMPKI_ASSIGN_OR_RETURN(der::Element sig, UnwrapExplicit(wrapped, kWhat));
  if (sig.tag != der::kSequence) return OcspMalformed(kWhat, "not a SEQUENCE");
  der::Reader r(sig.content);
  auto alg = r.Expect(der::kSequence);
  if (!alg) return OcspContext(kWhat, alg.error());
  auto bits = r.Expect(der::kBitString);
  if (!bits) return OcspContext(kWhat, bits.error());
  auto certs = r.Optional(der::ContextConstructed(0));
  if (!certs) return OcspContext(kWhat, certs.error());
  if (*certs) {
    auto seq = UnwrapExplicit(**certs, kWhat);
    if (!seq) return seq.error();
    if (seq->tag != der::kSequence) return OcspMalformed(kWhat, "certs not a SEQUENCE");
  }
  if (!r.empty()) return OcspMalformed(kWhat, "trailing data");
  return OkStatus();
}

Result<OcspRequest> ParseRequestInner(ByteView input) {
  auto outer = der::ParseSingle(input);
  if (!outer) return outer.error();
  if (outer->tag != der::kSequence) return OcspMalformed("OCSPRequest", "not a SEQUENCE");
  der::Reader r(outer->content);
  auto tbs = r.Expect(der::kSequence);
  if (!tbs) return OcspContext("tbsRequest", tbs.error());
  OcspRequest req;
  GMPKI_ASSIGN_OR_RETURN(auto sig, r.Optional(der::ContextConstructed(0)));
  if (sig) {
    GMPKI_RETURN_IF_ERROR(CheckRequestSignatureShape(*sig));
    req.signed_request = true;
  }
  if (!r.empty()) return OcspMalformed("OCSPRequest", "trailing data after tbsRequest");

  der::Reader t(tbs->content);
  // version [0] EXPLICIT Version DEFAULT v1: DER omits the default, but an
  // explicit v1 is accepted since some clients emit it.
  GMPKI_ASSIGN_OR_RETURN(auto version, t.Optional(der::ContextConstructed(0)));
  if (version) {
    GMPKI_ASSIGN_OR_RETURN(der::Element v, UnwrapExplicit(*version, "version"));
    if (v.tag != der::kInteger) return OcspMalformed("version", "not an INTEGER");
    auto n = der::ParseSmallInteger(v);
    if (!n) return OcspContext("version", n.error());
    if (*n != 0) return OcspMalformed("version", "only v1 (0) is defined");
  }
  GMPKI_ASSIGN_OR_RETURN(auto requestor, t.Optional(der::ContextConstructed(1)));
  if (requestor) {
    GMPKI_RETURN_IF_ERROR(UnwrapExplicit(*requestor, "requestorName"));
    req.has_requestor_name = true;
  }
  auto list = t.Expect(der::kSequence);
  if (!list) return OcspContext("requestList", list.error());
  der::Reader lr(list->content);
  while (!lr.empty()) {
    if (req.ids.size() == kMaxOcspRequestIds) {
      return Error(ErrorCode::kTooLarge,
                   "OCSP request: more than " + std::to_string(kMaxOcspRequestIds) + " CertIDs");
    }
    auto one = lr.Expect(der::kSequence);
    if (!one) return OcspContext("Request", one.error());
    der::Reader rr(one->content);
    auto cert_id = rr.Next();
    if (!cert_id) return OcspContext("Request.reqCert", cert_id.error());
    GMPKI_ASSIGN_OR_RETURN(OcspCertId id, internal::ParseOcspCertId(*cert_id));
    GMPKI_ASSIGN_OR_RETURN(auto single_exts, rr.Optional(der::ContextConstructed(0)));
    if (single_exts) {
      GMPKI_ASSIGN_OR_RETURN(der::Element seq,
                             UnwrapExplicit(*single_exts, "singleRequestExtensions"));
      GMPKI_RETURN_IF_ERROR(internal::ParseOcspExtensions(seq, {}, "singleRequestExtensions"));
    }
    if (!rr.empty()) return OcspMalformed("Request", "trailing data");
    req.ids.push_back(std::move(id));
  }
  // RFC 6960 section 4.1.1: requestList is SEQUENCE OF Request; an empty list
  // asks nothing and is answered malformedRequest.
  if (req.ids.empty()) return OcspMalformed("requestList", "empty");
  GMPKI_ASSIGN_OR_RETURN(auto exts, t.Optional(der::ContextConstructed(2)));
  if (exts) {
    GMPKI_ASSIGN_OR_RETURN(der::Element seq, UnwrapExplicit(*exts, "requestExtensions"));
    GMPKI_ASSIGN_OR_RETURN(
        std::vector<Extension> parsed,
        internal::ParseOcspExtensions(seq, {oid::kOcspNonce, oid::kOcspAcceptableResponses},
                                      "requestExtensions"));
    if (const Extension* n = FindExtension(parsed, oid::kOcspNonce)) {
      GMPKI_ASSIGN_OR_RETURN(Bytes nonce, internal::ParseOcspNonce(n->value));
      req.nonce = std::move(nonce);
    }
  }
  if (!t.empty()) return OcspMalformed("tbsRequest", "unexpected element after requestList");
  return req;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<OcspRequest> ParseOcspRequest(ByteView der) {
  if (der.size() > kMaxOcspRequestSize) {
    return Error(ErrorCode::kTooLarge,
                 "OCSP request larger than " + std::to_string(kMaxOcspRequestSize) + " octets");
  }
  auto r = ParseRequestInner(der);
  if (!r) return Error(r.error().code(), "OCSP request: " + r.error().message());
  return r;
}

Result<OcspRequest> ParseOcspGetPath(std::string_view path_tail) {
  // Base64 of kMaxOcspRequestSize octets, every character percent-encoded at
  // worst.
  constexpr std::size_t kMaxPath = (kMaxOcspRequestSize + 2) / 3 * 4 * 3;
  if (path_tail.size() > kMaxPath) {
    return Error(ErrorCode::kTooLarge, "OCSP GET path longer than " + std::to_string(kMaxPath));
  }
  std::string b64;
  b64.reserve(path_tail.size());
  for (std::size_t i = 0; i < path_tail.size(); ++i) {
    char c = path_tail[i];
    if (c == '%') {
      const int hi = i + 2 < path_tail.size() ? HexValue(path_tail[i + 1]) : -1;
      const int lo = i + 2 < path_tail.size() ? HexValue(path_tail[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Error(ErrorCode::kMalformedInput, "OCSP GET path: bad percent-encoding");
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    // RFC 6960 Appendix A.1 defines only base64 here; whitespace (which
    // Base64Decode would skip) is refused as well.
    const bool b64_char = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
    if (!b64_char) {
      return Error(ErrorCode::kMalformedInput, "OCSP GET path: not base64");
    }
    b64.push_back(c);
  }
  if (b64.empty()) return Error(ErrorCode::kMalformedInput, "OCSP GET path: empty");
  auto der = Base64Decode(b64);
  if (!der) {
    return Error(ErrorCode::kMalformedInput, "OCSP GET path: " + der.error().message());
  }
  return ParseOcspRequest(*der);
}

std::vector<OcspIssuerHashes> ComputeIssuerHashes(ByteView subject_der,
                                                  const crypto::Sm2PublicKey& key) {
  std::vector<OcspIssuerHashes> out;
  for (std::string_view h : {oid::kSha1, oid::kSha256, oid::kSm3}) {
    auto name_hash = internal::OcspHash(h, subject_der);
    auto key_hash = internal::OcspHash(h, key.point());
    // Only EVP_Digest failing (out of memory) can make these fail; the entry is
    // left out.
    if (!name_hash || !key_hash) continue;
    out.push_back({std::string(h), std::move(*name_hash), std::move(*key_hash)});
  }
  return out;
}

std::vector<OcspIssuerHashes> ComputeIssuerHashes(const Certificate& ca_cert) {
  return ComputeIssuerHashes(ca_cert.subject().der(), ca_cert.public_key());
}

Bytes OcspResponderKeyHash(const crypto::Sm2PublicKey& responder_key) {
  auto h = internal::OcspHash(oid::kSha1, responder_key.point());
  return h ? std::move(*h) : Bytes{};
}

Result<OcspCertId> MakeOcspCertId(const Certificate& ca_cert, ByteView serial,
                                  std::string_view hash_oid) {
  OcspCertId id;
  id.hash_oid = std::string(hash_oid);
  GMPKI_ASSIGN_OR_RETURN(id.issuer_name_hash,
                         internal::OcspHash(hash_oid, ca_cert.subject().der()));
  GMPKI_ASSIGN_OR_RETURN(id.issuer_key_hash,
                         internal::OcspHash(hash_oid, ca_cert.public_key().point()));
  std::size_t first = 0;
  while (first + 1 < serial.size() && serial[first] == 0) ++first;
  id.serial.assign(serial.begin() + static_cast<std::ptrdiff_t>(first), serial.end());
  if (id.serial.empty() || id.serial.size() > 20) {
    return Error(ErrorCode::kInvalidArgument, "serial must be 1..20 octets");
  }
  return id;
}

}  // namespace gmpki::x509
