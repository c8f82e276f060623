// OCSP wire format (RFC 6960 with the RFC 5019 lightweight profile): request
// parsing (DER and the GET path form), the CertID hashes a responder matches
// on, SM2-signed BasicOCSPResponse building, unsigned error responses, and a
// response parser with signature verification under the GM/T rule
// (SM2-with-SM3, ID 1234567812345678; OpenSSL 3.0 cannot verify these,
// STANDARDS-NOTES section 8.1).
//
// Everything here is pure: bytes in, values out; no clock, no I/O. Parsers
// never read outside their input and return kMalformedInput (with a message
// naming the field) for bad input, kTooLarge above the bounds below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/result.h"
#include "crypto/sm2.h"
#include "x509/certificate.h"
#include "x509/crl.h"
#include "x509/extensions.h"
#include "x509/signer.h"

namespace gmpki::x509 {

namespace oid {
// Hash algorithms a CertID may use.
inline constexpr std::string_view kSha1 = "1.3.14.3.2.26";
inline constexpr std::string_view kSha256 = "2.16.840.1.101.3.4.2.1";
inline constexpr std::string_view kSm3 = "1.2.156.10197.1.401";
// RFC 6960 section 4.2.1 / 4.4.
inline constexpr std::string_view kOcspBasic = "1.3.6.1.5.5.7.48.1.1";
inline constexpr std::string_view kOcspNonce = "1.3.6.1.5.5.7.48.1.2";
inline constexpr std::string_view kOcspCrlId = "1.3.6.1.5.5.7.48.1.3";
inline constexpr std::string_view kOcspAcceptableResponses = "1.3.6.1.5.5.7.48.1.4";
inline constexpr std::string_view kOcspServiceLocator = "1.3.6.1.5.5.7.48.1.7";
inline constexpr std::string_view kOcspPreferredSignatureAlgorithms = "1.3.6.1.5.5.7.48.1.8";
}  // namespace oid

// Bounds on what the request parser accepts (kTooLarge above them). RFC 5019
// section 2.1.1 allows one CertID per request; RFC 6960 has no bound, so this
// is ours.
inline constexpr std::size_t kMaxOcspRequestSize = 64 * 1024;
inline constexpr std::size_t kMaxOcspRequestIds = 100;
// Responses carry certificates and can be larger.
inline constexpr std::size_t kMaxOcspResponseSize = 1024 * 1024;
// RFC 8954 section 2.1: a nonce is 1 to 32 octets; longer ones are
// malformedRequest.
inline constexpr std::size_t kMaxOcspNonceSize = 32;

// CertID (RFC 6960 section 4.1.1). hash_oid is whatever the client sent (sha1,
// sha256 or sm3 for those a responder can match; other OIDs parse, and the
// responder answers unknown).
struct OcspCertId {
  std::string hash_oid;
  Bytes issuer_name_hash;
  Bytes issuer_key_hash;
  Bytes serial;  // unsigned big-endian, leading zeros removed ({0x00} for zero)
  bool operator==(const OcspCertId&) const = default;
};

struct OcspRequest {
  std::vector<OcspCertId> ids;  // at least one
  // The id-pkix-ocsp-nonce value: the octets inside Nonce ::= OCTET STRING (RFC
  // 8954), 1..32 octets. A response echoes it as the same OCTET STRING.
  std::optional<Bytes> nonce;
  // requestorName [1] present (noted, not used).
  bool has_requestor_name = false;
  // optionalSignature [0] present: noted, not verified (RFC 5019 section 2.1.2
  // lets a responder ignore it).
  bool signed_request = false;
};

// RFC 6960 section 4.1.1: DER OCSPRequest, exactly one, no trailing data.
// kMalformedInput for anything else, including an empty requestList, a version
// other than v1, a duplicate extension, a nonce that is not an OCTET STRING
// of 1..32 octets, a CertID hash of the wrong length for sha1/sha256/sm3, and
// an unsupported critical (request or single-request) extension. kTooLarge
// above kMaxOcspRequestSize or kMaxOcspRequestIds.
Result<OcspRequest> ParseOcspRequest(ByteView der);
// GET form (RFC 6960 Appendix A.1, RFC 5019 section 5): `path_tail` is what
// follows the responder's base path (no leading '/'): the percent-encoded
// base64 of the DER request.
// '%2B', '%2F', '%3D' and literal '+', '/', '=' are all accepted (clients
// differ).
Result<OcspRequest> ParseOcspGetPath(std::string_view path_tail);

// The CertID hashes of a CA certificate for one hash algorithm: name_hash =
// H(subject DER), key_hash = H(subjectPublicKey BIT STRING value, i.e. the
// 65-byte point) (RFC 6960 4.1.1).
struct OcspIssuerHashes {
  std::string hash_oid;
  Bytes name_hash;
  Bytes key_hash;
};
// For sha1, sha256 and sm3, in that order.
std::vector<OcspIssuerHashes> ComputeIssuerHashes(const Certificate& ca_cert);
// The same from the parts (subject DER and public key), for callers without a
// Certificate.
std::vector<OcspIssuerHashes> ComputeIssuerHashes(ByteView subject_der,
                                                  const crypto::Sm2PublicKey& key);
// ResponderID byKey (RFC 6960 section 4.2.1): SHA-1 of the responder's public
// key BIT STRING value (excluding tag, length and unused bits).
Bytes OcspResponderKeyHash(const crypto::Sm2PublicKey& responder_key);
// A CertID for `serial` issued by `ca_cert`, with hash `hash_oid` (sha1, sha256
// or sm3; kInvalidArgument otherwise).
Result<OcspCertId> MakeOcspCertId(const Certificate& ca_cert, ByteView serial,
                                  std::string_view hash_oid = oid::kSha1);

// CertStatus (RFC 6960 section 4.2.1). PERSISTENT: values may be stored; never
// renumber.
enum class OcspCertStatus : int { kGood = 0, kRevoked = 1, kUnknown = 2 };

struct OcspSingleResponse {
  OcspCertId id;
  OcspCertStatus status = OcspCertStatus::kGood;
  TimePoint revocation_time{};             // kRevoked only
  std::optional<RevocationReason> reason;  // kRevoked only
  TimePoint this_update{};
  std::optional<TimePoint> next_update;
};

struct OcspResponseSpec {
  // ResponderID byKey: OcspResponderKeyHash(signer.public_key) when empty.
  Bytes responder_key_hash;
  TimePoint produced_at{};
  std::vector<OcspSingleResponse> responses;  // at least one
  std::optional<Bytes> nonce;                 // echoed as the id-pkix-ocsp-nonce extension
  std::vector<Bytes> certs;                   // the delegated signer's certificate(s), DER
};

// OCSPResponseStatus (RFC 6960 section 4.2.1). PERSISTENT (wire values).
enum class OcspResponseStatus : int {
  kSuccessful = 0,
  kMalformedRequest = 1,
  kInternalError = 2,
  kTryLater = 3,
  kSigRequired = 5,
  kUnauthorized = 6,
};

// OCSPResponse { successful, id-pkix-ocsp-basic, BasicOCSPResponse } with the
// ResponseData signed by `signer` (SM2-with-SM3, parameters absent, GM/T ID).
// Times are GeneralizedTime (RFC 6960 section 4.2.2.1), seconds precision.
// kInvalidArgument for no responses, a bad serial, hashes of the wrong length,
// a revocation time on a non-revoked status, a next_update before this_update,
// or a nonce outside 1..32 octets. Signer errors unchanged.
Result<Bytes> BuildOcspResponse(const OcspResponseSpec& spec, const Signer& signer);
// The unsigned OCSPResponse { status } (no responseBytes). REQUIRES: status !=
// kSuccessful.
Bytes BuildOcspErrorResponse(OcspResponseStatus status);

// A parsed OCSPResponse. Only `status` is meaningful unless status ==
// kSuccessful (0).
struct OcspResponse {
  int status = 0;             // OCSPResponseStatus
  std::string response_type;  // responseType OID; id-pkix-ocsp-basic when parsed
  Bytes tbs_response_data;    // ResponseData exactly as received (the signed bytes)
  int version = 1;
  std::optional<Bytes> responder_key_hash;  // ResponderID byKey
  std::optional<Bytes> responder_name_der;  // ResponderID byName (the Name DER)
  TimePoint produced_at{};
  std::vector<OcspSingleResponse> responses;
  std::optional<Bytes> nonce;         // inner octets of the nonce extension's OCTET STRING
  std::vector<Extension> extensions;  // responseExtensions
  std::string signature_algorithm;    // dotted OID
  Bytes signature;                    // BIT STRING contents
  std::vector<Bytes> certs;           // DER, in order
};

// Parses an OCSPResponse. kMalformedInput on bad DER, trailing data, an unknown
// status value, a successful status without responseBytes or a non-successful
// one with them, or an unsupported critical extension; kUnsupported for a
// responseType other than id-pkix-ocsp-basic; kTooLarge above
// kMaxOcspResponseSize. Any signature algorithm parses
// (VerifyOcspResponseSignature checks it).
Result<OcspResponse> ParseOcspResponse(ByteView der);
// Checks the signature over tbs_response_data with `signer_key` under the GM/T
// rule. kUnsupported for a signature algorithm other than SM2-with-SM3,
// kFailedPrecondition for a response that is not successful, kBadSignature when
// it does not verify.
Status VerifyOcspResponseSignature(const OcspResponse& response,
                                   const crypto::Sm2PublicKey& signer_key);

}  // namespace gmpki::x509
