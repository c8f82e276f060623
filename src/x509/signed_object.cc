#include "x509/signed_object.h"

#include "x509/signer.h"

namespace gmpki::x509::internal {
namespace {
constexpr std::string_view kEcPublicKey = "1.2.840.10045.2.1";
constexpr std::string_view kSm2Curve = "1.2.156.10197.1.301";
}  // namespace

Status CheckSm2SignatureAlgorithm(const der::Element& alg) {
  if (alg.tag != der::kSequence) {
    return Error(ErrorCode::kMalformedInput, "AlgorithmIdentifier is not a SEQUENCE");
  }
  der::Reader r(alg.content);
  GMPKI_ASSIGN_OR_RETURN(der::Element o, r.Expect(der::kOid));
  GMPKI_ASSIGN_OR_RETURN(std::string oid, der::OidToString(o.content));
  if (oid != kSm3WithSm2Oid) {
    return Error(ErrorCode::kUnsupported, "signature algorithm " + oid + " is not SM2-with-SM3");
  }
  GMPKI_ASSIGN_OR_RETURN(auto null, r.Optional(der::kNull));
  if (null && !null->content.empty()) return Error(ErrorCode::kMalformedInput, "bad NULL");
  return r.ExpectEnd();
}

Result<SignedParts> SplitSigned(ByteView bytes, std::string_view what) {
  auto outer = der::ParseSingle(bytes);
  if (!outer) {
    return Error(ErrorCode::kMalformedInput,
                 std::string(what) + ": " + outer.error().message());
  }
  if (outer->tag != der::kSequence) {
    return Error(ErrorCode::kMalformedInput, std::string(what) + ": not a SEQUENCE");
  }
  der::Reader r(outer->content);
  SignedParts p;
  GMPKI_ASSIGN_OR_RETURN(p.tbs, r.Expect(der::kSequence));
  GMPKI_ASSIGN_OR_RETURN(p.algorithm, r.Expect(der::kSequence));
  GMPKI_ASSIGN_OR_RETURN(der::Element sig, r.Expect(der::kBitString));
  GMPKI_RETURN_IF_ERROR(r.ExpectEnd());
  GMPKI_RETURN_IF_ERROR(CheckSm2SignatureAlgorithm(p.algorithm));
  std::uint8_t unused = 0;
  GMPKI_ASSIGN_OR_RETURN(ByteView sig_bytes, der::ParseBitString(sig, &unused));
  if (unused != 0) return Error(ErrorCode::kMalformedInput, "signature has unused bits");
  p.signature.assign(sig_bytes.begin(), sig_bytes.end());
  return p;
}

Bytes Sm2Spki(const crypto::Sm2PublicKey& key) {
  return der::Sequence({der::Sequence({der::OidLiteral(kEcPublicKey), der::OidLiteral(kSm2Curve)}),
                        der::BitString(key.point())});
}

Result<crypto::Sm2PublicKey> ParseSm2Spki(const der::Element& spki) {
  if (spki.tag != der::kSequence) {
    return Error(ErrorCode::kMalformedInput, "SubjectPublicKeyInfo is not a SEQUENCE");
  }
  der::Reader r(spki.content);
  GMPKI_ASSIGN_OR_RETURN(der::Element alg, r.Expect(der::kSequence));
  GMPKI_ASSIGN_OR_RETURN(der::Element key, r.Expect(der::kBitString));
  GMPKI_RETURN_IF_ERROR(r.ExpectEnd());
  der::Reader ar(alg.content);
  GMPKI_ASSIGN_OR_RETURN(der::Element o, ar.Expect(der::kOid));
  GMPKI_ASSIGN_OR_RETURN(std::string alg_oid, der::OidToString(o.content));
  std::string curve;
  if (!ar.empty()) {
    GMPKI_ASSIGN_OR_RETURN(der::Element params, ar.Next());
    if (params.tag == der::kOid) {
      GMPKI_ASSIGN_OR_RETURN(curve, der::OidToString(params.content));
    } else {
      curve = "(explicit or other parameters)";
    }
  }
  GMPKI_RETURN_IF_ERROR(ar.ExpectEnd());
  bool ok = (alg_oid == kEcPublicKey && curve == kSm2Curve) ||
            (alg_oid == kSm2Curve && (curve.empty() || curve == kSm2Curve));
  if (!ok) {
    return Error(ErrorCode::kUnsupported, "public key is not SM2 (algorithm " + alg_oid +
                                              (curve.empty() ? "" : ", parameters " + curve) + ")");
  }
  std::uint8_t unused = 0;
  GMPKI_ASSIGN_OR_RETURN(ByteView point, der::ParseBitString(key, &unused));
  if (unused != 0) return Error(ErrorCode::kMalformedInput, "public key has unused bits");
  auto pub = crypto::Sm2PublicKey::FromPoint(point);
  if (!pub) {
    return Error(ErrorCode::kMalformedInput, "bad SM2 public key: " + pub.error().message());
  }
  return std::move(pub).value();
}

std::string SerialHex(ByteView serial) {
  std::string h = HexEncode(serial, true);
  return h.empty() ? "00" : h;
}

}  // namespace gmpki::x509::internal
