// Internal to src/crypto: the pieces of the "gmpki" OpenSSL provider (ossl_provider.h) shared by
// its key management, signature and asymmetric-cipher files, and the hooks its tests use.
#pragma once

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

#include <atomic>
#include <optional>

#include "base/bytes.h"
#include "crypto/sm2.h"

namespace gmpki::crypto::internal {

// The provider-side key object (the `keydata` OpenSSL passes around). Immutable once imported
// or generated, so several operations may share it across threads. Reference-counted: an
// operation context holds a reference so that the key outlives it whatever order OpenSSL frees
// them in.
struct ProvSm2Key {
  std::optional<Sm2PublicKey> pub;
  std::optional<Sm2PrivateKey> priv;
  // The private scalar as imported (for export and matching); wiped when the key is freed.
  SecretBytes scalar;
  std::atomic<int> refs{1};
};

ProvSm2Key* KeyRef(ProvSm2Key* key);  // adds a reference; returns `key`
void KeyUnref(ProvSm2Key* key);       // drops one; the last one wipes and frees the key

// A dispatch-table entry's function, checked at compile time against OpenSSL's declared type
// (OSSL_FUNC_<type>_fn of core_dispatch.h) before the cast to the generic pointer the table holds.
#define GMPKI_OSSL_FN(type, fn) \
  reinterpret_cast<void (*)(void)>(static_cast<OSSL_FUNC_##type##_fn*>(&fn))

// Dispatch tables of the three operations.
extern const OSSL_DISPATCH kSm2KeymgmtFunctions[];
extern const OSSL_DISPATCH kSm2SignatureFunctions[];
extern const OSSL_DISPATCH kSm2AsymCipherFunctions[];

// Counters behind Sm2ProviderOperations().
enum class ProvOp { kSign, kVerify, kEncrypt, kDecrypt, kEmptyIdVerify };
void CountProviderOp(ProvOp op);

// Called with the private scalar's storage after it was wiped and before it is released, for
// the zeroisation test. nullptr (the default) to switch off. Not for production code.
using KeyWipeHook = void (*)(ByteView wiped_scalar);
void SetKeyWipeHookForTesting(KeyWipeHook hook);
KeyWipeHook KeyWipeHookForTesting();

// DER AlgorithmIdentifier of SM2-with-SM3, 1.2.156.10197.1.501 with parameters absent
// (GM/T 0006 / GB/T 33560; STANDARDS-NOTES 1.1), as X509_sign asks a provider for it.
inline constexpr std::uint8_t kSm2WithSm3AlgorithmId[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x81,
                                                          0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75};
// Largest DER SM2Signature: SEQUENCE { INTEGER (<= 33 bytes), INTEGER (<= 33 bytes) }.
inline constexpr std::size_t kSm2MaxSignatureSize = 72;

}  // namespace gmpki::crypto::internal
