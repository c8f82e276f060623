// CMS SignedData with SM2 signatures (RFC 5652 section 5 shape; GM/T 0010-2012 /
// GB/T 35275-2017 OIDs and versions on request): one signer, attached or detached content,
// signed attributes, the certificates set. Used by the timestamp authority (tsp.h) and the
// signing server.
//
// Choices (STANDARDS-NOTES sections 2.1-2.4, 5):
// - digestAlgorithm SM3 1.2.156.10197.1.401, parameters absent; 401.1 / 401.2 (Kinsec) and
//   NULL parameters are accepted when verifying.
// - signatureAlgorithm SM2-with-SM3 1.2.156.10197.1.501 by default (the OID the rest of
//   gmpki signs with and that Bouncy Castle's CMS name generator knows); sm2-1
//   1.2.156.10197.1.301.1 (emmansun, vendor TSA) when asked; both verify.
// - Every signature is SM2 over SM3(Z || message) with ID 1234567812345678 (GM/T 0009-2012
//   section 10), the message being the DER SET OF signed attributes (RFC 5652 section 5.4)
//   or, without signed attributes, the content itself (GM/T 0010 "sign without attributes").
// - The outer contentType is RFC 5652 id-signedData by default; the GM/T 0010 form
//   (1.2.156.10197.6.1.4.2.2 outside, 1.2.156.10197.6.1.4.2.1 for data, all versions 1) is
//   built on request and always accepted by the parser.
//
// Pure: bytes in, values out; no clock (signingTime is a parameter), no I/O.
// Thread safety: free functions, no shared state.
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
#include "x509/certificate.h"
#include "x509/signer.h"

namespace gmpki::x509 {

namespace oid {
// RFC 5652 section 4 / 5.1 content types.
inline constexpr std::string_view kCmsData = "1.2.840.113549.1.7.1";
inline constexpr std::string_view kCmsSignedData = "1.2.840.113549.1.7.2";
// GM/T 0010-2012 / GB/T 35275 (STANDARDS-NOTES section 2.1).
inline constexpr std::string_view kGmData = "1.2.156.10197.6.1.4.2.1";
inline constexpr std::string_view kGmSignedData = "1.2.156.10197.6.1.4.2.2";
// GM/T 0006 sm2-1 signature (the SM2 signature scheme alone, SM3 implied).
inline constexpr std::string_view kSm2Sign = "1.2.156.10197.1.301.1";
// RFC 5652 section 11 attributes.
inline constexpr std::string_view kAttrContentType = "1.2.840.113549.1.9.3";
inline constexpr std::string_view kAttrMessageDigest = "1.2.840.113549.1.9.4";
inline constexpr std::string_view kAttrSigningTime = "1.2.840.113549.1.9.5";
// RFC 5035 section 3: id-aa-signingCertificateV2.
inline constexpr std::string_view kAttrSigningCertificateV2 = "1.2.840.113549.1.9.16.2.47";
}  // namespace oid

// Which OIDs and versions the builder emits.
enum class CmsFlavor : std::uint8_t {
  kRfc5652,  // id-signedData, id-data, versions per RFC 5652 section 5.1 / 5.3
  kGmt0010,  // 1.2.156.10197.6.1.4.2.2 / .1, all versions 1 (GM/T 0010 section 7)
};

enum class CmsSignatureOid : std::uint8_t {
  kSm3WithSm2,  // 1.2.156.10197.1.501
  kSm2Sign,     // 1.2.156.10197.1.301.1
};

// Attribute ::= SEQUENCE { attrType OID, attrValues SET OF AttributeValue }.
struct CmsAttribute {
  std::string oid;
  std::vector<Bytes> values;  // each a complete DER value
  bool operator==(const CmsAttribute&) const = default;
};

struct SignedDataSpec {
  // eContentType (dotted). Empty means id-data of the chosen flavor.
  std::string content_type;
  // The eContent octets. With `detached`, hashed and signed but not carried.
  ByteView content;
  bool detached = false;
  // contentType and messageDigest are always added when signed attributes are used.
  bool signed_attributes = true;
  std::optional<TimePoint> signing_time;
  // Further signed attributes (e.g. signingCertificateV2); their OIDs must be distinct and
  // differ from contentType / messageDigest / signingTime.
  std::vector<CmsAttribute> extra_signed_attributes;
  // The signer's certificate: IssuerAndSerialNumber comes from it and its key must be the
  // Signer's. REQUIRES: non-null.
  const Certificate* signer_certificate = nullptr;
  // Put into `certificates` in this order (usually the signer's and its chain); may be empty.
  std::vector<const Certificate*> certificates;
  CmsFlavor flavor = CmsFlavor::kRfc5652;
  CmsSignatureOid signature_oid = CmsSignatureOid::kSm3WithSm2;
};

// ContentInfo { signedData, SignedData }. kInvalidArgument for a missing signer certificate,
// a certificate whose key differs from the signer's, or duplicate / reserved attribute OIDs.
// Signer errors are returned unchanged.
Result<Bytes> BuildSignedData(const SignedDataSpec& spec, const Signer& signer);

struct CmsSignerInfo {
  int version = 0;
  // sid: IssuerAndSerialNumber (issuer Name DER, serial magnitude) or, for version 3,
  // subjectKeyIdentifier [0].
  Bytes issuer_der;
  Bytes serial;
  Bytes subject_key_id;
  std::string digest_oid;
  bool has_signed_attributes = false;
  // The DER SET OF signed attributes (tag 0x31), which is what the signature covers.
  Bytes signed_attributes_der;
  std::vector<CmsAttribute> signed_attributes;
  std::string signature_oid;
  Bytes signature;  // DER SM2Signature
  std::vector<CmsAttribute> unsigned_attributes;
  const CmsAttribute* FindSignedAttribute(std::string_view oid) const;
};

struct SignedData {
  std::string outer_content_type;  // id-signedData or the GM/T 0010 OID
  int version = 0;
  std::vector<std::string> digest_oids;
  std::string content_type;        // eContentType
  std::optional<Bytes> content;    // nullopt when detached; the value octets of eContent
  // The tag eContent had: OCTET STRING (RFC 5652), or another type in the PKCS#7 v1.5 /
  // GM/T 0010 [0] EXPLICIT ANY form (e.g. a TSTInfo SEQUENCE placed directly).
  std::uint8_t content_tag = 0x04;
  std::vector<Bytes> certificates; // DER, as received (non-certificate choices skipped)
  std::vector<CmsSignerInfo> signers;
};

// Bytes a SignedData may have; kTooLarge above it.
inline constexpr std::size_t kMaxSignedDataSize = 16 * 1024 * 1024;

// Parses ContentInfo { signedData, SignedData } with either outer OID. eContent may be an
// OCTET STRING (RFC 5652) or, as in PKCS#7 v1.5 id-data, anything; its value octets are
// returned. kMalformedInput naming the field on bad DER; kUnsupported for another outer type.
Result<SignedData> ParseSignedData(ByteView der);

struct CmsVerifyOptions {
  // Required when the SignedData is detached; when both are present they must be equal.
  std::optional<ByteView> detached_content;
  // Used when the signer's certificate is not in the set (it must still match the sid).
  const Certificate* signer_certificate = nullptr;
};

struct CmsVerified {
  Certificate signer;     // the certificate whose key verified the signature
  std::size_t signer_index = 0;
};

// Verifies the (single) SignerInfo, or every SignerInfo when there are several, returning the
// first: digest algorithm SM3, signature algorithm 501 or 301.1, with signed attributes the
// contentType attribute equal to eContentType and messageDigest = SM3(content)
// (RFC 5652 section 5.4/11.2), the SM2 signature under the GM/T ID. kBadSignature for a
// signature or digest mismatch; kNotFound when no certificate matches the sid;
// kUnsupported for other algorithms; kInvalidArgument when content is missing or doubled.
Result<CmsVerified> VerifySignedData(const SignedData& sd, const CmsVerifyOptions& options);

// IssuerAndSerialNumber-style match of a certificate against a SignerInfo's sid.
bool SignerIdMatches(const CmsSignerInfo& si, const Certificate& cert);

}  // namespace gmpki::x509
