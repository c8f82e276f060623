// Time-Stamp Protocol wire format (RFC 3161, with RFC 5816 ESSCertIDv2; GM/T 0033-2014 /
// GB/T 20520 use the same structures with SM3 imprints and SM2-signed tokens,
// STANDARDS-NOTES section 5): request parsing, TSTInfo / token / response building, response
// and token parsing, token verification. The TSA service (services/tsa) builds on this.
//
// Tokens are CMS SignedData (cms_signed.h) with eContentType id-ct-TSTInfo, one SM2 signer,
// signed attributes contentType, messageDigest and signingCertificateV2 whose ESSCertIDv2
// carries the SM3 hash of the TSA certificate with its AlgorithmIdentifier (SM3 is not the
// RFC 5035 default SHA-256) and the issuerSerial.
//
// Pure: bytes in, values out; no clock (genTime is a parameter), no I/O.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/result.h"
#include "x509/certificate.h"
#include "x509/cms_signed.h"
#include "x509/extensions.h"
#include "x509/ocsp.h"  // oid::kSm3 / kSha256 / kSha1, the imprint hashes
#include "x509/signer.h"

namespace gmpki::x509 {

namespace oid {
// RFC 3161 section 2.4.2: id-ct-TSTInfo.
inline constexpr std::string_view kTstInfo = "1.2.840.113549.1.9.16.1.4";
}  // namespace oid

// PKIStatus (RFC 3161 section 2.4.2, RFC 4210). PERSISTENT (on the wire).
enum class PkiStatus : std::uint8_t {
  kGranted = 0,
  kGrantedWithMods = 1,
  kRejection = 2,
  kWaiting = 3,
  kRevocationWarning = 4,
  kRevocationNotification = 5,
};

// PKIFailureInfo bit numbers (RFC 3161 section 2.4.2). GM/T 0033's STF_TS_* errors map onto
// them one to one (STANDARDS-NOTES section 5). PERSISTENT (on the wire).
enum class TspFailure : std::uint8_t {
  kBadAlg = 0,
  kBadRequest = 2,
  kBadDataFormat = 5,
  kTimeNotAvailable = 14,
  kUnacceptedPolicy = 15,
  kUnacceptedExtension = 16,
  kAddInfoNotAvailable = 17,
  kSystemFailure = 25,
};
std::string_view TspFailureName(TspFailure f);

// Bounds (ours; RFC 3161 has none): requests are small.
inline constexpr std::size_t kMaxTimeStampReqSize = 16 * 1024;
// RFC 3161 section 2.4.1 does not bound the nonce; "TSA users MUST be ready to accommodate
// integers up to 160 bits" (for serials). We accept nonces up to 32 octets of INTEGER content.
inline constexpr std::size_t kMaxTspNonceOctets = 32;

struct TimeStampReq {
  std::string hash_oid;      // messageImprint.hashAlgorithm
  Bytes hashed_message;
  Bytes message_imprint_der; // the whole MessageImprint, echoed verbatim into TSTInfo
  std::optional<std::string> policy;
  // The nonce's INTEGER content octets exactly as received (echoed verbatim).
  std::optional<Bytes> nonce;
  bool cert_req = false;
  std::vector<Extension> extensions;
};

// Digest length for the imprint hashes accepted (SM3, SHA-256, SHA-1); nullopt otherwise.
std::optional<std::size_t> TspHashLength(std::string_view hash_oid);

// Parses a DER TimeStampReq (RFC 3161 section 2.4.1). On failure `failure` (if non-null)
// receives the PKIFailureInfo to answer with:
//   badDataFormat: bad DER, trailing data, version != 1, wrong imprint length, a nonce over
//                  kMaxTspNonceOctets or non-minimal; kTooLarge over kMaxTimeStampReqSize;
//   badAlg:        an imprint hash other than SM3 / SHA-256 / SHA-1 (kUnsupported);
//   unacceptedExtension: a critical extension (none is understood; kUnsupported).
Result<TimeStampReq> ParseTimeStampReq(ByteView der, TspFailure* failure = nullptr);

// A DER TimeStampReq (for tests, the SDK and the CLI): version 1, MessageImprint with
// parameters absent (SM3) or NULL (SHA-*), as OpenSSL writes them.
Result<Bytes> BuildTimeStampReq(const TimeStampReq& req);

// Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER (1..999) OPTIONAL,
//                         micros [1] INTEGER (1..999) OPTIONAL }
struct TspAccuracy {
  std::int64_t seconds = 0;
  int millis = 0;
  int micros = 0;
  bool operator==(const TspAccuracy&) const = default;
  // From a duration (rounded up to the microsecond). Zero gives no Accuracy.
  static TspAccuracy From(std::chrono::microseconds d);
  std::chrono::microseconds ToDuration() const;
};

struct TstInfoSpec {
  std::string policy_oid;        // TSAPolicyId (dotted)
  ByteView message_imprint_der;  // echoed (RFC 3161 section 2.4.2: "MUST have the same value")
  // 1..20 octets unsigned, top bit clear (RFC 3161: integers up to 160 bits).
  ByteView serial;
  TimePoint gen_time;
  // Fractional digits of genTime, 0..6 (truncated, trailing zeros dropped, X.690 11.7).
  int fraction_digits = 3;
  std::optional<TspAccuracy> accuracy;
  bool ordering = false;              // emitted only when true (DEFAULT FALSE)
  std::optional<ByteView> nonce;      // INTEGER content octets, echoed
  // tsa [0] GeneralName: directoryName of this Name DER when non-empty.
  ByteView tsa_name_der;
};

// DER TSTInfo.
Result<Bytes> BuildTstInfo(const TstInfoSpec& spec);

struct TokenSignerSpec {
  const Certificate* tsa_certificate = nullptr;  // REQUIRES: non-null, key = signer's key
  const Signer* signer = nullptr;                // REQUIRES: non-null
  // certificates included when the request has certReq (RFC 3161 section 2.4.1: "the TSA's
  // certificate ... MUST be provided"); chain certificates follow the TSA's.
  bool include_certificates = false;
  std::vector<const Certificate*> chain;
  CmsFlavor flavor = CmsFlavor::kRfc5652;
  CmsSignatureOid signature_oid = CmsSignatureOid::kSm3WithSm2;
  // SM3(tsa certificate DER): callers that stamp at a high rate compute it once.
  std::optional<crypto::Sm3Digest> cert_hash;
};

// TimeStampToken (ContentInfo SignedData over TSTInfo) with signingCertificateV2.
Result<Bytes> BuildTimeStampToken(const TstInfoSpec& info, const TokenSignerSpec& signer);

// signingCertificateV2 attribute value: SigningCertificateV2 { certs { ESSCertIDv2 {
// hashAlgorithm SM3, certHash, issuerSerial { [4] issuer, serial } } } } (RFC 5035 section 4).
Bytes SigningCertificateV2Value(const Certificate& cert, const crypto::Sm3Digest& cert_hash);

// TimeStampResp { PKIStatusInfo { granted }, token }.
Bytes BuildGrantedTimeStampResp(ByteView token);
// TimeStampResp { PKIStatusInfo { rejection, statusString { text }, failInfo } }.
Bytes BuildRejectedTimeStampResp(TspFailure failure, std::string_view text);

struct TstInfo {
  std::string policy;
  std::string hash_oid;
  Bytes hashed_message;
  Bytes message_imprint_der;
  Bytes serial;               // magnitude
  TimePoint gen_time;
  std::string gen_time_text;  // as received, e.g. "20260101000000.123Z"
  std::optional<TspAccuracy> accuracy;
  bool ordering = false;
  std::optional<Bytes> nonce; // INTEGER content octets
  Bytes tsa_name_der;         // the GeneralName as received; empty if absent
  std::vector<Extension> extensions;
};
Result<TstInfo> ParseTstInfo(ByteView der);

struct TimeStampResp {
  PkiStatus status = PkiStatus::kRejection;
  std::vector<std::string> status_strings;
  std::uint32_t fail_info = 0;  // bit i = TspFailure i
  Bytes token;                  // empty when absent
};
// kMalformedInput naming the field; status granted/grantedWithMods must carry a token.
Result<TimeStampResp> ParseTimeStampResp(ByteView der);

struct TokenCheck {
  // Exactly one of: the data (hashed with the token's imprint algorithm) or the imprint.
  std::optional<ByteView> data;
  std::optional<std::string> hash_oid;
  std::optional<ByteView> hashed_message;
  // The nonce sent (INTEGER content octets); must be echoed when set.
  std::optional<ByteView> nonce;
  // The TSA certificate, when the token does not carry it (certReq false).
  const Certificate* tsa_certificate = nullptr;
  // Policy required, when set.
  std::optional<std::string> policy;
};

struct VerifiedToken {
  TstInfo info;
  Certificate tsa_certificate;
};

// RFC 3161 section 2.4.2 / RFC 5816 / RFC 5035 checks: the CMS signature (cms_signed.h), the
// eContentType id-ct-TSTInfo, signingCertificate(V2) present and its first ESSCertID(v2) hash
// equal to H(tsa certificate) (and issuerSerial, when present, naming it), the certificate's
// ExtendedKeyUsage critical and exactly id-kp-timeStamping (RFC 3161 section 2.3), the imprint
// and nonce matching `check`. kBadSignature for signature / binding failures,
// kPolicyViolation for EKU, imprint, nonce or policy mismatch, kNotFound without a certificate.
// Certificate path validation is the caller's (x509/chain.h).
Result<VerifiedToken> VerifyTimeStampToken(ByteView token, const TokenCheck& check);

}  // namespace gmpki::x509
