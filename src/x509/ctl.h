// Certificate trust list (CTL): the signed list of trusted CA certificates an industry CA
// publishes (LD/T 02.1-2022 section 7.3.2 "产生证书信任列表", requirement HI-01).
// The standard fixes no encoding, so gmpki defines one (see docs/ctl-format.md):
//
//   SignedCTL ::= SEQUENCE {
//     tbsCtl              CertificateTrustList,
//     signatureAlgorithm  AlgorithmIdentifier,   -- 1.2.156.10197.1.501, parameters absent
//     signature           BIT STRING }           -- SM2Signature, ID "1234567812345678"
//   CertificateTrustList ::= SEQUENCE {
//     version         INTEGER { v1(1) },
//     sequenceNumber  INTEGER,                   -- increases with every CTL of an issuer
//     thisUpdate      GeneralizedTime,
//     nextUpdate      GeneralizedTime,
//     issuer          Name,
//     trustedCAs      SEQUENCE OF TrustedCa }
//   TrustedCa ::= SEQUENCE {
//     certificate     Certificate,
//     usage           SEQUENCE OF OBJECT IDENTIFIER OPTIONAL }
//
// It has the shape of a Certificate so that any SM2 verifier can check it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/result.h"
#include "x509/certificate.h"
#include "x509/name.h"
#include "x509/signer.h"

namespace gmpki::x509 {

struct TrustedCa {
  Certificate certificate;
  std::vector<std::string> usages;  // key purpose OIDs; empty = any / not stated
};

struct CtlSpec {
  std::uint64_t sequence_number = 0;
  TimePoint this_update;
  TimePoint next_update;
  Name issuer;
  std::vector<TrustedCa> trusted;
};

// kInvalidArgument when next_update <= this_update, the list is empty, a certificate is not a
// CA certificate, or the same certificate appears twice.
Result<Bytes> BuildCtl(const CtlSpec& spec, const Signer& signer);

class CertificateTrustList {
 public:
  static constexpr std::size_t kMaxSize = 4 * 1024 * 1024;
  // kTooLarge, kMalformedInput (bad DER, trailing data, version != 1), kUnsupported (other
  // signature algorithm).
  static Result<CertificateTrustList> FromDer(ByteView der);
  static Result<CertificateTrustList> FromPem(std::string_view pem);

  const Bytes& der() const { return der_; }
  ByteView tbs_der() const { return ByteView(der_).subspan(tbs_offset_, tbs_size_); }
  const Bytes& signature() const { return signature_; }
  std::uint64_t sequence_number() const { return sequence_number_; }
  TimePoint this_update() const { return this_update_; }
  TimePoint next_update() const { return next_update_; }
  const Name& issuer() const { return issuer_; }
  const std::vector<TrustedCa>& trusted() const { return trusted_; }
  std::string ToPem() const;  // label kPemCtl

 private:
  CertificateTrustList() = default;
  Bytes der_;
  std::size_t tbs_offset_ = 0, tbs_size_ = 0;
  Bytes signature_;
  std::uint64_t sequence_number_ = 0;
  TimePoint this_update_{}, next_update_{};
  Name issuer_;
  std::vector<TrustedCa> trusted_;
};

// kBadSignature when the CTL signature does not verify with `signer_key` and the GM/T ID.
Status VerifyCtlSignature(const CertificateTrustList& ctl, const crypto::Sm2PublicKey& signer_key);

}  // namespace gmpki::x509
