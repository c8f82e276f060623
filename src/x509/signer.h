// The signing seam. CA keys live in a crypto device, so everything this component signs
// (certificates, CRLs, CSRs, CTLs) goes through a Signer rather than a private key.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/sm2.h"

namespace gmpki::x509 {

// GM/T 0009-2012 section 10 / GM/T 0015: every SM2 signature in a certificate, CRL, CSR or
// CTL is made and checked with this signer ID in Z (STANDARDS-NOTES section 1.2).
inline constexpr std::string_view kSm2SignerId = crypto::kDefaultSm2Id;

// OID 1.2.156.10197.1.501 (SM2-with-SM3), emitted with parameters ABSENT (GM/T 0015-2023:
// "若使用SM2算法,则其参数字段(parameters)应为空值"); NULL parameters are accepted on parse.
inline constexpr std::string_view kSm3WithSm2Oid = "1.2.156.10197.1.501";

struct Signer {
  // The signer's public key (used for Z and put into AKI / CSR by callers).
  crypto::Sm2PublicKey public_key;
  // Returns a DER SM2Signature over `message` with ID kSm2SignerId, i.e. over
  // e = SM3(Z || message). Must be thread-safe if the Signer is shared across threads.
  std::function<Result<Bytes>(ByteView message)> sign;
};

// A Signer over an in-memory key (tests, demos, the soft device). `id` exists only so tests
// can produce non-compliant signatures; production code leaves it at the default.
Signer MakeSoftwareSigner(std::shared_ptr<const crypto::Sm2PrivateKey> key,
                          const crypto::Sm2PublicKey& public_key,
                          std::string_view id = kSm2SignerId);

// AlgorithmIdentifier { 1.2.156.10197.1.501 } with parameters absent.
Bytes Sm3WithSm2AlgorithmId();

// Signs `tbs_der` and returns SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING signature }:
// the shape shared by Certificate, CertificateList, CertificationRequest and SignedCTL.
Result<Bytes> SignAndWrap(ByteView tbs_der, const Signer& signer);

// Checks an SM2-with-SM3 signature (ID kSm2SignerId) over `tbs_der` as received.
// kBadSignature when it does not verify.
Status VerifySm2Signature(const crypto::Sm2PublicKey& key, ByteView tbs_der,
                          ByteView der_signature);

}  // namespace gmpki::x509
