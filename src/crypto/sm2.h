// SM2 public key cryptography (GB/T 32918 / GM/T 0003) with the GM/T 0009 rules:
// the signer's distinguishing ID enters every signature and verification via
// Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), and e = SM3(Z || M).
// Ciphertexts use the GM/T 0009 ASN.1 form SEQUENCE { x INTEGER, y INTEGER, hash OCTET
// STRING(32), ciphertext OCTET STRING } (C1C3C2 order).
//
// Thread safety: all functions are thread-safe; keys are immutable values.
#pragma once

#include <array>
#include <memory>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "crypto/sm3.h"

namespace gmpki::crypto {

namespace internal {
struct Sm2KeyAccess;
}

// GM/T 0009-2012 section 10: the default user ID.
inline constexpr std::string_view kDefaultSm2Id = "1234567812345678";

// An SM2 public key: the uncompressed point 04 || X || Y, validated on the curve.
class Sm2PublicKey {
 public:
  // Rejects anything that is not a 65-byte uncompressed point on the curve, the point at
  // infinity, and points not in the subgroup of order n.
  static Result<Sm2PublicKey> FromPoint(ByteView uncompressed);
  // Parses a DER SubjectPublicKeyInfo (id-ecPublicKey or SM2 algorithm OID with the SM2
  // namedCurve 1.2.156.10197.1.301).
  static Result<Sm2PublicKey> FromSpkiDer(ByteView der);
  // DER SubjectPublicKeyInfo: AlgorithmIdentifier { id-ecPublicKey, 1.2.156.10197.1.301 }.
  Bytes ToSpkiDer() const;
  ByteView point() const { return ByteView(point_.data(), point_.size()); }
  ByteView x() const { return ByteView(point_.data() + 1, 32); }
  ByteView y() const { return ByteView(point_.data() + 33, 32); }
  bool operator==(const Sm2PublicKey& o) const { return point_ == o.point_; }

 private:
  std::array<std::uint8_t, 65> point_{};
};

// An SM2 private key d in [1, n-2]. Move-only; zeroised on destruction.
class Sm2PrivateKey {
 public:
  static Result<Sm2PrivateKey> FromScalar(ByteView d32);
  const SecretBytes& scalar() const { return d_; }
  Result<Sm2PublicKey> DerivePublicKey() const;
  Sm2PrivateKey(Sm2PrivateKey&&) = default;
  Sm2PrivateKey& operator=(Sm2PrivateKey&&) = default;

 private:
  friend struct internal::Sm2KeyAccess;
  Sm2PrivateKey() = default;
  SecretBytes d_;
  // The SM2 engine's precomputed form of this key ((1+d)^-1, the public point), built on first
  // use and shared by copies made with Clone-free moves; opaque here.
  mutable std::shared_ptr<const void> engine_;
};

struct Sm2KeyPair {
  Sm2PrivateKey private_key;
  Sm2PublicKey public_key;
};

Result<Sm2KeyPair> Sm2GenerateKeyPair();

// `count` fresh key pairs (0 gives an empty vector; at most kSm2MaxKeyBatch, kInvalidArgument
// beyond). Made in batches of up to 1024 keys: constant-time fixed-base multiplications and one
// field inversion per batch for the affine points. The pairwise-consistency test differs from
// Sm2GenerateKeyPair's per-key sign/verify: every public point is checked to be on the curve and
// one randomly chosen pair per batch is signed and verified (see sm2_key.cc);
// kSelfTestFailure if either fails, and then no key of the call is returned. Under
// GMPKI_SM2_IMPL=openssl this is `count` calls of Sm2GenerateKeyPair.
inline constexpr std::size_t kSm2MaxKeyBatch = std::size_t{1} << 20;
Result<std::vector<Sm2KeyPair>> Sm2GenerateKeyPairs(std::size_t count);

// Z_A of GB/T 32918.2 section 5.5. Fails only if the ID is longer than 8191 bytes.
Result<Sm3Digest> Sm2ComputeZ(const Sm2PublicKey& pub, ByteView id);
// e = SM3(Z_A || M).
Result<Sm3Digest> Sm2MessageDigest(const Sm2PublicKey& pub, ByteView id, ByteView message);

// Signs a precomputed e (as a crypto device's InternalSign does). Returns DER SM2Signature
// SEQUENCE { r INTEGER, s INTEGER }.
Result<Bytes> Sm2SignDigest(const Sm2PrivateKey& key, ByteView e32);
// Signs M with ID: computes Z from `pub` (which must match `key`) and e = SM3(Z || M).
Result<Bytes> Sm2Sign(const Sm2PrivateKey& key, const Sm2PublicKey& pub, ByteView id,
                      ByteView message);

// kBadSignature when the signature does not verify or is not a DER SM2Signature with
// 1 <= r, s <= n-1.
Status Sm2VerifyDigest(const Sm2PublicKey& pub, ByteView e32, ByteView der_signature);
Status Sm2Verify(const Sm2PublicKey& pub, ByteView id, ByteView message, ByteView der_signature);

// Encrypts to GM/T 0009 ASN.1 (C1C3C2). Plaintext must be non-empty.
Result<Bytes> Sm2Encrypt(const Sm2PublicKey& pub, ByteView plaintext);
// kBadSignature if C3 does not match (wrong key or tampered ciphertext), kMalformedInput if
// the encoding is wrong.
Result<SecretBytes> Sm2Decrypt(const Sm2PrivateKey& key, ByteView ciphertext);

}  // namespace gmpki::crypto
