// PKCS#10 certification requests (RFC 2986) with SM2 keys. Proof of possession is the CSR's
// own SM2-with-SM3 signature, checked with the GM/T ID "1234567812345678" (GM/T 0009 section
// 10). A CSR signed with OpenSSL 3.0's default empty ID (no `-sigopt distid:...`) therefore
// fails VerifyProofOfPossession(): we require the GM/T ID.
#pragma once

#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/sm2.h"
#include "x509/extensions.h"
#include "x509/name.h"
#include "x509/signer.h"

namespace gmpki::x509 {

inline constexpr std::size_t kMaxCsrSize = 64 * 1024;

class CertificateRequest {
 public:
  // kTooLarge over kMaxCsrSize; kMalformedInput on bad DER or trailing data;
  // kUnsupported for a key that is not SM2 (e.g. EC P-256, RSA) or a signature algorithm
  // other than SM2-with-SM3. The signature is NOT checked here.
  static Result<CertificateRequest> FromDer(ByteView der);
  static Result<CertificateRequest> FromPem(std::string_view pem);
  // PEM or DER, detected.
  static Result<CertificateRequest> Parse(ByteView data);

  const Name& subject() const { return subject_; }
  const crypto::Sm2PublicKey& public_key() const { return public_key_; }
  // From the PKCS#9 extensionRequest attribute (1.2.840.113549.1.9.14), if present.
  const std::vector<Extension>& requested_extensions() const { return requested_extensions_; }
  const Bytes& der() const { return der_; }
  // CertificationRequestInfo exactly as received.
  ByteView info_der() const { return ByteView(der_).subspan(info_offset_, info_size_); }

  // Checks the signature over info_der() with public_key() and ID 1234567812345678.
  // kBadSignature when it does not verify.
  Status VerifyProofOfPossession() const;

 private:
  CertificateRequest() = default;
  Bytes der_;
  std::size_t info_offset_ = 0, info_size_ = 0;
  Bytes signature_;
  Name subject_;
  crypto::Sm2PublicKey public_key_;
  std::vector<Extension> requested_extensions_;
};

// A CSR for `subject` and signer.public_key, signed by `signer` (with the GM/T ID).
Result<Bytes> BuildCsr(const Name& subject, const Signer& signer,
                       const std::vector<Extension>& requested_extensions = {});

}  // namespace gmpki::x509
