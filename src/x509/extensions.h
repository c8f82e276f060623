// Certificate, CRL and CRL-entry extensions: builders producing Extension values, parsers for
// the ones callers need back, and the GM/T 0015 identity extensions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/result.h"
#include "crypto/sm2.h"

namespace gmpki::x509 {

// Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }.
struct Extension {
  std::string oid;       // dotted
  bool critical = false;
  Bytes value;           // the DER inside extnValue
  bool operator==(const Extension&) const = default;
};

namespace oid {
inline constexpr std::string_view kBasicConstraints = "2.5.29.19";
inline constexpr std::string_view kKeyUsage = "2.5.29.15";
inline constexpr std::string_view kExtKeyUsage = "2.5.29.37";
inline constexpr std::string_view kSubjectKeyIdentifier = "2.5.29.14";
inline constexpr std::string_view kAuthorityKeyIdentifier = "2.5.29.35";
inline constexpr std::string_view kCrlDistributionPoints = "2.5.29.31";
inline constexpr std::string_view kAuthorityInfoAccess = "1.3.6.1.5.5.7.1.1";
inline constexpr std::string_view kCertificatePolicies = "2.5.29.32";
inline constexpr std::string_view kSubjectAltName = "2.5.29.17";
inline constexpr std::string_view kCrlNumber = "2.5.29.20";
inline constexpr std::string_view kDeltaCrlIndicator = "2.5.29.27";
inline constexpr std::string_view kReasonCode = "2.5.29.21";
inline constexpr std::string_view kInvalidityDate = "2.5.29.24";
inline constexpr std::string_view kIssuingDistributionPoint = "2.5.29.28";
// RFC 5280 section 4.2.1.12 key purposes.
inline constexpr std::string_view kKpServerAuth = "1.3.6.1.5.5.7.3.1";
inline constexpr std::string_view kKpClientAuth = "1.3.6.1.5.5.7.3.2";
inline constexpr std::string_view kKpCodeSigning = "1.3.6.1.5.5.7.3.3";
inline constexpr std::string_view kKpEmailProtection = "1.3.6.1.5.5.7.3.4";
inline constexpr std::string_view kKpTimeStamping = "1.3.6.1.5.5.7.3.8";
inline constexpr std::string_view kKpOcspSigning = "1.3.6.1.5.5.7.3.9";
// RFC 6960 section 4.2.2.2.1: id-pkix-ocsp-nocheck, value NULL.
inline constexpr std::string_view kOcspNoCheck = "1.3.6.1.5.5.7.48.1.5";
inline constexpr std::string_view kAnyPolicy = "2.5.29.32.0";
// GM/T 0015-2012 arc 1.2.156.10260.4.1 (STANDARDS-NOTES section 1.5).
inline constexpr std::string_view kIdentifyCode = "1.2.156.10260.4.1.1";
inline constexpr std::string_view kInsuranceNumber = "1.2.156.10260.4.1.2";
inline constexpr std::string_view kIcRegistrationNumber = "1.2.156.10260.4.1.3";
inline constexpr std::string_view kOrganizationCode = "1.2.156.10260.4.1.4";
inline constexpr std::string_view kTaxationNumber = "1.2.156.10260.4.1.5";
// GM/T 0015-2023 Unified Social Credit Code. [uncertain] The OID is seen only in xipki
// (OIDs.java, "id_gmt0015_ext" + ".4"), not in the standard's text: check before relying.
inline constexpr std::string_view kUnifiedSocialCreditCode = "1.2.156.10260.4.4";
}  // namespace oid

// KeyUsage bits, RFC 5280 section 4.2.1.3 numbering (bit i = 1 << i).
enum KeyUsageBit : std::uint16_t {
  kDigitalSignature = 1 << 0,
  kNonRepudiation = 1 << 1,  // contentCommitment
  kKeyEncipherment = 1 << 2,
  kDataEncipherment = 1 << 3,
  kKeyAgreement = 1 << 4,
  kKeyCertSign = 1 << 5,
  kCrlSign = 1 << 6,
  kEncipherOnly = 1 << 7,
  kDecipherOnly = 1 << 8,
};

// Key identifier used for SKI and AKI: the leftmost 160 bits of SM3 over the BIT STRING
// contents of subjectPublicKey (the 65-byte point). This is RFC 5280 section 4.2.1.2 method 1
// with SM3 in place of SHA-1, so that only SM algorithms are used (GM/T 0015 leaves the
// method to the CA). Verifiers never recompute it; they only compare SKI with AKI.
Bytes KeyIdentifierFor(const crypto::Sm2PublicKey& key);

namespace ext {
// RFC 5280 section 4.2.1.9; critical in CA certificates. path_len only when ca.
Extension BasicConstraints(bool ca, std::optional<int> path_len = std::nullopt,
                           bool critical = true);
// kInvalidArgument when bits == 0 or has bits above kDecipherOnly.
Result<Extension> KeyUsage(std::uint16_t bits, bool critical = true);
Result<Extension> ExtKeyUsage(const std::vector<std::string>& purpose_oids,
                              bool critical = false);
Extension SubjectKeyIdentifier(ByteView key_id);
// AuthorityKeyIdentifier { keyIdentifier [0] }.
Extension AuthorityKeyIdentifier(ByteView key_id);
// One DistributionPoint per URI, each with fullName uniformResourceIdentifier.
Result<Extension> CrlDistributionPoints(const std::vector<std::string>& uris);
Result<Extension> AuthorityInfoAccess(const std::vector<std::string>& ocsp_uris,
                                      const std::vector<std::string>& ca_issuers_uris);
// One PolicyInformation per OID; the CPS qualifier (if any) goes on the first one.
Result<Extension> CertificatePolicies(const std::vector<std::string>& policy_oids,
                                      std::optional<std::string> cps_uri = std::nullopt);
struct AltNames {
  std::vector<std::string> emails;     // rfc822Name [1]
  std::vector<std::string> dns_names;  // dNSName [2]
  std::vector<std::string> uris;       // uniformResourceIdentifier [6]
  bool empty() const { return emails.empty() && dns_names.empty() && uris.empty(); }
};
// critical must be true when the subject Name is empty (RFC 5280 section 4.2.1.6).
Result<Extension> SubjectAltName(const AltNames& names, bool critical = false);

// GM/T 0015-2012 IdentifyCode ::= CHOICE { residenterCardNumber [0] PrintableString,
// militaryOfficerCardNumber [1] UTF8String, passportNumber [2] PrintableString }.
// Tagging is not stated in the public sources (STANDARDS-NOTES section 1.5): we emit
// EXPLICIT, as xipki does since 5.3.2, and accept IMPLICIT on parse.
enum class IdentityCodeKind { kResidentIdCard = 0, kMilitaryOfficerCard = 1, kPassport = 2 };
struct IdentityCode {
  IdentityCodeKind kind = IdentityCodeKind::kResidentIdCard;
  std::string number;
  bool operator==(const IdentityCode&) const = default;
};
Result<Extension> IdentifyCode(const IdentityCode& code);
// PrintableString-valued GM/T 0015 extensions (non-critical).
Result<Extension> InsuranceNumber(std::string_view number);
Result<Extension> IcRegistrationNumber(std::string_view number);
Result<Extension> OrganizationCode(std::string_view code);
Result<Extension> TaxationNumber(std::string_view number);
// [uncertain] OID, see oid::kUnifiedSocialCreditCode.
Result<Extension> UnifiedSocialCreditCode(std::string_view code);

// CRL extensions (RFC 5280 sections 5.2.3, 5.2.4) and entry extensions (5.3.1, 5.3.2).
Extension CrlNumber(std::uint64_t number);
Extension DeltaCrlIndicator(std::uint64_t base_crl_number);
Extension ReasonCode(int reason);
Result<Extension> InvalidityDate(TimePoint t);

// OCSP signing certificate (RFC 6960 section 4.2.2.2): a delegated responder's certificate
// carries ExtKeyUsage(id-kp-OCSPSigning) and, so that clients need not check its own status,
// id-pkix-ocsp-nocheck ::= NULL (section 4.2.2.2.1, "SHOULD be a non-critical extension").
Extension OcspNoCheck();
// ExtKeyUsage { id-kp-OCSPSigning }, non-critical.
Extension OcspSigningExtKeyUsage();
}  // namespace ext

// issuingDistributionPoint (RFC 5280 section 5.2.5), the parts a partitioned CRL uses:
// distributionPoint fullName URIs and the onlyContainsUserCerts / onlyContainsCACerts flags
// (onlySomeReasons, indirectCRL and onlyContainsAttributeCerts are never emitted; parsing
// rejects an IDP that sets them, since this CA would misread such a CRL's scope).
struct IssuingDistributionPointValue {
  std::vector<std::string> full_name_uris;
  bool only_user_certs = false;
  bool only_ca_certs = false;
  bool operator==(const IssuingDistributionPointValue&) const = default;
};
namespace ext {
// Always critical (RFC 5280 section 5.2.5: "this extension MUST be critical"). kInvalidArgument
// when no URI is given, a URI is not IA5, or both only_* flags are set.
Result<Extension> IssuingDistributionPoint(const IssuingDistributionPointValue& idp);
}  // namespace ext
Result<IssuingDistributionPointValue> ParseIssuingDistributionPoint(ByteView value);

// Parsers of extnValue contents. kMalformedInput on bad DER.
struct BasicConstraintsValue {
  bool ca = false;
  std::optional<int> path_len;
};
Result<BasicConstraintsValue> ParseBasicConstraints(ByteView value);
Result<std::uint16_t> ParseKeyUsage(ByteView value);
Result<std::vector<std::string>> ParseExtKeyUsage(ByteView value);
Result<Bytes> ParseSubjectKeyIdentifier(ByteView value);
// keyIdentifier [0]; empty Bytes when the AKI carries only issuer/serial.
Result<Bytes> ParseAuthorityKeyIdentifier(ByteView value);
Result<std::vector<std::string>> ParseCrlDistributionPoints(ByteView value);  // URIs
Result<ext::AltNames> ParseSubjectAltName(ByteView value);
Result<std::vector<std::string>> ParseCertificatePolicies(ByteView value);  // policy OIDs
// Accepts EXPLICIT and IMPLICIT tagging (see ext::IdentifyCode).
Result<ext::IdentityCode> ParseIdentifyCode(ByteView value);
// PrintableString, UTF8String or IA5String value of the single-string GM/T extensions.
Result<std::string> ParseStringExtension(ByteView value);
Result<std::uint64_t> ParseCrlNumber(ByteView value);

// Encodes `extensions` as Extensions ::= SEQUENCE OF Extension. kInvalidArgument on a
// duplicate OID (RFC 5280 section 4.2: "MUST NOT include more than one instance").
Result<Bytes> EncodeExtensions(const std::vector<Extension>& extensions);
// Parses SEQUENCE OF Extension; kMalformedInput on bad DER or duplicates.
Result<std::vector<Extension>> ParseExtensions(ByteView der);
const Extension* FindExtension(const std::vector<Extension>& extensions, std::string_view oid);

}  // namespace gmpki::x509
