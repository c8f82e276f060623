// gmpki's own SM2 signature engine (issue #3, first increment): SM2 digital signatures
// (GB/T 32918.2-2016 sections 6.1 and 7.1) on the recommended curve (GB/T 32918.5-2017),
// built on constant-time 4x64-bit Montgomery arithmetic. Not yet wired in behind sm2.h; the
// OpenSSL-backed crypto::Sm2SignDigest / Sm2VerifyDigest remain the default.
//
// Side channels: key generation, public-key derivation and signing run without branches or
// memory indexes that depend on the private key or the nonce k. Verification handles public
// values only and is variable time.
//
// Thread safety: keys are immutable after construction; all functions are thread-safe (the
// fixed-base table is built once, on first use, under C++ static-initialisation locking).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/sm2_engine/fn.h"
#include "crypto/sm2_engine/point.h"

namespace gmpki::crypto::sm2_engine {

// (r, s) as two 32-byte big-endian integers.
struct Signature {
  std::array<std::uint8_t, 32> r{};
  std::array<std::uint8_t, 32> s{};
  bool operator==(const Signature&) const = default;
};

// DER SM2Signature ::= SEQUENCE { r INTEGER, s INTEGER } (GM/T 0009).
Bytes EncodeSignatureDer(const Signature& sig);
// kMalformedInput unless strict DER with two non-negative INTEGERs of at most 32 bytes of
// magnitude; range checks are VerifyDigest's.
Result<Signature> DecodeSignatureDer(ByteView der);

class PublicKey {
 public:
  // Accepts only 04 || X || Y with X, Y < p on the curve. The cofactor is 1, so every such
  // point is in the subgroup of order n; infinity has no uncompressed encoding.
  static Result<PublicKey> FromPoint(ByteView uncompressed);
  std::array<std::uint8_t, 65> ToPoint() const;
  const AffinePoint& point() const { return q_; }

 private:
  friend class PrivateKey;
  PublicKey() = default;  // only FromPoint and PrivateKey make keys, so q_ is always valid
  AffinePoint q_{};
};

// A private key d in [1, n-2] with (1 + d)^-1 mod n precomputed, so signing needs no
// inversion. Move-only; the scalars are wiped on destruction.
class PrivateKey {
 public:
  // kInvalidArgument unless d32 is 32 bytes holding 1 <= d <= n - 2 (GB/T 32918.1-2016 6.1).
  static Result<PrivateKey> FromScalar(ByteView d32);
  // d uniformly random in [1, n-2] from crypto::RandomFill.
  static Result<PrivateKey> Generate();

  const PublicKey& public_key() const { return pub_; }
  SecretBytes ToScalar() const;

  PrivateKey(PrivateKey&& o) noexcept;
  PrivateKey& operator=(PrivateKey&& o) noexcept;
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  ~PrivateKey();

 private:
  PrivateKey() = default;
  friend Result<Signature> SignDigestWithK(const PrivateKey&, ByteView, ByteView);
  friend Result<Signature> SignDigest(const PrivateKey&, ByteView);
  Sc d_{};
  Sc d1_inv_{};  // (1 + d)^-1 mod n
  PublicKey pub_;
};

// Batched key generation for a key management centre (issue #5). With count =
// d32_out.size() / 32: for each j < count draws d_j uniformly in [1, n-2] (GB/T 32918.1-2016
// 6.1) from crypto::RandomFill, writes it big-endian to d32_out[32j, 32j + 32) and d_j*G as
// 04 || X || Y to point65_out[65j, 65j + 65). Each d_j*G is the constant-time k*G of point.h;
// the count points are made affine together with one field inversion (BatchToAffineCt), so a
// key costs one k*G and about six multiplications instead of a k*G and an inversion. Constant
// time in the scalars; the temporaries holding them are wiped. kInvalidArgument unless
// d32_out.size() is a multiple of 32 and point65_out.size() is 65 * count. No pairwise
// consistency test here: crypto::Sm2GenerateKeyPairs (sm2.h) runs it over the batch.
Status GenerateKeyBatch(std::span<std::uint8_t> d32_out, std::span<std::uint8_t> point65_out);

// GB/T 32918.2-2016 6.1 A3..A7 on a precomputed e (32 bytes) with a fresh random k, taken with
// x(k*G) from the calling thread's nonce pool (nonce_pool.h: batches of k drawn from
// crypto::RandomFill and multiplied by G ahead, one inversion per batch; fork-safe).
Result<Signature> SignDigest(const PrivateKey& key, ByteView e32);

// The same with a caller-chosen k, for the GB/T 32918.5 Annex A example and tests only: a
// repeated or predictable k reveals d. kInvalidArgument when k is not in [1, n-1] or gives
// r = 0, r + k = n or s = 0 (the standard's "return to A3").
Result<Signature> SignDigestWithK(const PrivateKey& key, ByteView e32, ByteView k32);

// GB/T 32918.2-2016 7.1 B1..B7: kBadSignature unless 1 <= r, s <= n-1, t = r + s != 0 mod n
// and (e + x1) mod n = r for (x1, y1) = s*G + t*P. kInvalidArgument when e32 is not 32 bytes.
Status VerifyDigest(const PublicKey& pub, ByteView e32, const Signature& sig);

}  // namespace gmpki::crypto::sm2_engine
