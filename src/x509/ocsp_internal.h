// INTERNAL to gmpki_x509 (not a public header): pieces shared by the OCSP
// request code (ocsp.cc) and the response code (ocsp_response.cc).
#pragma once

#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "x509/der.h"
#include "x509/extensions.h"
#include "x509/ocsp.h"

namespace gmpki::x509::internal {

// kMalformedInput "<what>: <message>".
Error OcspMalformed(std::string_view what, std::string_view message);
// Re-labels an error from a lower layer with the field being parsed, keeping
// its code.
Error OcspContext(std::string_view what, const Error& e);

// Digest length for the CertID hashes we know (sha1, sha256, sm3), nullopt for
// others.
std::optional<std::size_t> OcspHashLength(std::string_view hash_oid);
// H(data) for sha1, sha256 or sm3; kInvalidArgument for any other OID.
Result<Bytes> OcspHash(std::string_view hash_oid, ByteView data);

// CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET
// STRING,
//                       issuerKeyHash OCTET STRING, serialNumber
//                       CertificateSerialNumber }
Result<OcspCertId> ParseOcspCertId(const der::Element& e);
// hashAlgorithm is emitted with NULL parameters, as OpenSSL's OCSP_cert_id_new
// does.
Result<Bytes> EncodeOcspCertId(const OcspCertId& id);

// Nonce ::= OCTET STRING (RFC 6960 section 4.4.1); `extn_value` is the
// extnValue contents. Returns the inner octets; kMalformedInput
// unless 1..kMaxOcspNonceSize octets (RFC 8954).
Result<Bytes> ParseOcspNonce(ByteView extn_value);
// Extension { id-pkix-ocsp-nonce, OCTET STRING nonce }, non-critical.
Extension OcspNonceExtension(ByteView nonce);

// Parses an Extensions SEQUENCE (duplicates rejected) and refuses critical
// extensions whose OID is not in `understood` (RFC 5280 section 4.2: a critical
// extension that is not recognised must cause rejection).
Result<std::vector<Extension>> ParseOcspExtensions(
    const der::Element& seq, std::initializer_list<std::string_view> understood,
    std::string_view where);

}  // namespace gmpki::x509::internal
