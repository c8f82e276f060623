// gmpki's SM2 inside OpenSSL: an OpenSSL 3 provider named "gmpki" that offers SM2 key
// management, signatures (SM3 digest, GM/T 0009 distinguishing ID) and encryption (GM/T 0009
// ASN.1 ciphertext) on the functions of sm2.h, so that OpenSSL's own code paths (X.509 and CRL
// verification, TLS chain checks, the CMP server's proof-of-possession checks, and any
// EVP_DigestSign/Verify, EVP_PKEY_sign/verify, EVP_PKEY_encrypt/decrypt on an SM2 key) run on
// gmpki's engine. OpenSSL's own SM2 stays loaded and selectable for comparison.
//
// The provider is installed into OpenSSL's default library context before main() in every
// binary that links gmpki_crypto (ossl_provider.cc); call InstallSm2Provider() to learn whether
// that worked (a start-up check) or to install it in a process that did not.
//
// Distinguishing ID (GB/T 32918.2 5.5, GM/T 0009-2012 section 10): when the caller sets none,
// signatures are made with "1234567812345678", the GM/T default (OpenSSL 3.0's own default is
// the empty ID; OpenSSL 4.0 adopts the GM/T one). Verification with no ID set accepts a
// signature under the GM/T ID and, failing that, under the empty ID, because OpenSSL 3.x peers
// (the `openssl cmp` client's proof of possession, `openssl req` CSRs) sign with the empty ID.
// An ID set explicitly (EVP_PKEY_CTX_set1_id, X509_set0_distinguishing_id) is the only one used.
//
// Thread safety: all functions are thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"

namespace gmpki::crypto {

// The provider's name and the value of its "provider" property.
inline constexpr std::string_view kSm2ProviderName = "gmpki";

enum class Sm2Impl {
  kGmpki,    // OpenSSL's SM2 fetches prefer the "gmpki" provider
  kOpenSsl,  // OpenSSL's own SM2 (the "default" provider)
};

// Registers the "gmpki" provider with OpenSSL's default library context, loads it beside the
// "default" provider and selects kGmpki, or kOpenSsl when the environment holds
// GMPKI_SM2_IMPL=openssl (the same switch that makes sm2.h use OpenSSL's arithmetic).
// Idempotent: later calls return the first call's outcome. kCryptoFailure when OpenSSL refuses.
Status InstallSm2Provider();

// Which SM2 OpenSSL fetches when a caller does not name a provider: sets OpenSSL's default
// property query ("?provider=gmpki" or "?provider!=gmpki"), replacing any default properties
// set before. Objects already set up for an operation keep their implementation.
// REQUIRES: InstallSm2Provider() succeeded (else kFailedPrecondition).
Status SelectSm2Impl(Sm2Impl impl);
// kOpenSsl also when the provider could not be installed.
Sm2Impl ActiveSm2Impl();

// Operations the provider has performed since the process started (for tests and metrics).
struct Sm2ProviderCounts {
  std::uint64_t signs = 0;
  std::uint64_t verifies = 0;  // each verification attempt, successful or not
  std::uint64_t encrypts = 0;
  std::uint64_t decrypts = 0;
  // Verifications with no ID set that succeeded only under the empty ID (OpenSSL 3.x signers).
  std::uint64_t empty_id_verifies = 0;
  std::uint64_t total() const { return signs + verifies + encrypts + decrypts; }
};
Sm2ProviderCounts Sm2ProviderOperations();

}  // namespace gmpki::crypto
