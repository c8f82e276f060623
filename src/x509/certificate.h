// X.509 v3 certificates with SM2 keys and SM2-with-SM3 signatures (GM/T 0015, RFC 5280):
// issuing (building the TBSCertificate ourselves and signing it through a Signer) and a parsed,
// immutable view of a certificate.
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
#include "crypto/sm3.h"
#include "x509/extensions.h"
#include "x509/name.h"
#include "x509/signer.h"

namespace gmpki::x509 {

// Certificates, CSRs and CRLs larger than this are rejected before parsing.
inline constexpr std::size_t kMaxObjectSize = 64 * 1024;

// Everything in a TBSCertificate except version (always v3) and signature (always
// SM2-with-SM3, parameters absent).
struct TbsSpec {
  // Unsigned big-endian; after removing leading zeros 1..20 octets and non-zero
  // (RFC 5280 section 4.1.2.2, GM/T 0015: positive, at most 20 octets).
  Bytes serial;
  Name issuer;
  Name subject;
  TimePoint not_before;
  TimePoint not_after;
  crypto::Sm2PublicKey subject_public_key;
  // In this order; OIDs must be distinct.
  std::vector<Extension> extensions;
};

// 16 random octets with the top bit cleared (positive, at most 20 octets in DER).
Result<Bytes> GenerateSerial();

// DER TBSCertificate. kInvalidArgument on a bad serial, not_after <= not_before, an empty
// subject without a critical subjectAltName, or duplicate extensions.
Result<Bytes> BuildTbsCertificate(const TbsSpec& spec);
// Signs BuildTbsCertificate(spec) with `issuer` and returns the Certificate DER. Errors from
// the signer are returned unchanged.
Result<Bytes> IssueCertificate(const TbsSpec& spec, const Signer& issuer);

class Certificate {
 public:
  // Parses one DER certificate: kTooLarge over kMaxObjectSize, kMalformedInput on bad DER or
  // trailing data or a signatureAlgorithm that differs from tbsCertificate.signature,
  // kUnsupported for a non-SM2 key or a signature algorithm other than SM2-with-SM3.
  static Result<Certificate> FromDer(ByteView der);
  // The first CERTIFICATE block.
  static Result<Certificate> FromPem(std::string_view pem);
  // PEM or DER, detected.
  static Result<Certificate> Parse(ByteView data);

  const Bytes& der() const { return der_; }
  // tbsCertificate exactly as received (what the signature covers).
  ByteView tbs_der() const { return ByteView(der_).subspan(tbs_offset_, tbs_size_); }
  const Bytes& signature() const { return signature_; }  // DER SM2Signature
  int version() const { return version_; }                 // 1, 2 or 3
  const Bytes& serial() const { return serial_; }          // unsigned big-endian
  std::string serial_hex() const;                          // upper-case hex
  const Name& issuer() const { return issuer_; }
  const Name& subject() const { return subject_; }
  TimePoint not_before() const { return not_before_; }
  TimePoint not_after() const { return not_after_; }
  const crypto::Sm2PublicKey& public_key() const { return public_key_; }
  const std::vector<Extension>& extensions() const { return extensions_; }
  const Extension* FindExtension(std::string_view oid) const;

  bool is_ca() const { return is_ca_; }
  std::optional<int> path_len() const { return path_len_; }
  std::optional<std::uint16_t> key_usage() const { return key_usage_; }  // KeyUsageBit mask
  const std::vector<std::string>& ext_key_usage() const { return ext_key_usage_; }
  const std::optional<Bytes>& subject_key_id() const { return subject_key_id_; }
  const std::optional<Bytes>& authority_key_id() const { return authority_key_id_; }
  // Issuer DER == subject DER.
  bool IsSelfIssued() const { return issuer_ == subject_; }
  bool IsValidAt(TimePoint t) const { return t >= not_before_ && t <= not_after_; }

  // SM3 over the whole DER.
  crypto::Sm3Digest fingerprint() const;
  std::string fingerprint_hex() const;
  std::string ToPem() const;

 private:
  Certificate() = default;
  Bytes der_;
  std::size_t tbs_offset_ = 0, tbs_size_ = 0;
  Bytes signature_;
  int version_ = 1;
  Bytes serial_;
  Name issuer_, subject_;
  TimePoint not_before_{}, not_after_{};
  crypto::Sm2PublicKey public_key_;
  std::vector<Extension> extensions_;
  bool is_ca_ = false;
  std::optional<int> path_len_;
  std::optional<std::uint16_t> key_usage_;
  std::vector<std::string> ext_key_usage_;
  std::optional<Bytes> subject_key_id_, authority_key_id_;
};

// Every CERTIFICATE block in `pem`, in order (a chain file).
Result<std::vector<Certificate>> ParseCertificatesPem(std::string_view pem);
std::string CertificatesToPem(const std::vector<Certificate>& certs);

// Checks cert's signature over its original TBS bytes with `issuer_key` and ID
// 1234567812345678. kBadSignature when it does not verify.
Status VerifyCertificateSignature(const Certificate& cert, const crypto::Sm2PublicKey& issuer_key);

}  // namespace gmpki::x509
