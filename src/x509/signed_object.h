// INTERNAL to gmpki_x509 (not a public header): the pieces shared by every
// SEQUENCE { tbs, signatureAlgorithm, signature BIT STRING } structure, and SM2 SPKI handling.
#pragma once

#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/sm2.h"
#include "x509/der.h"

namespace gmpki::x509::internal {

struct SignedParts {
  der::Element tbs;        // tbs.whole is what the signature covers
  der::Element algorithm;  // outer signatureAlgorithm
  Bytes signature;         // DER SM2Signature (BIT STRING contents)
};

// Splits `der` (which must be exactly one SEQUENCE, no trailing data). kUnsupported when the
// signature algorithm is not SM2-with-SM3 (parameters absent or NULL are both accepted,
// STANDARDS-NOTES section 1.3).
Result<SignedParts> SplitSigned(ByteView der, std::string_view what);
// kUnsupported unless `alg` is AlgorithmIdentifier { 1.2.156.10197.1.501 [, NULL] }.
Status CheckSm2SignatureAlgorithm(const der::Element& alg);

// SubjectPublicKeyInfo for an SM2 key: { id-ecPublicKey, 1.2.156.10197.1.301 } || point.
Bytes Sm2Spki(const crypto::Sm2PublicKey& key);
// Accepts algorithm id-ecPublicKey with namedCurve SM2, or algorithm 1.2.156.10197.1.301 with
// SM2 / absent parameters (GmSSL PR #1912 quoting GM/T 0015-2023). kUnsupported for any other
// key type or curve; kMalformedInput for a bad point.
Result<crypto::Sm2PublicKey> ParseSm2Spki(const der::Element& spki);

std::string SerialHex(ByteView serial);

}  // namespace gmpki::x509::internal
