// SM2 public key encryption (GB/T 32918.4-2016 sections 6 and 7) with the GM/T 0009 ASN.1
// ciphertext SM2Cipher ::= SEQUENCE { XCoordinate INTEGER, YCoordinate INTEGER,
// HASH OCTET STRING (SIZE(32)), CipherText OCTET STRING }, i.e. C1 || C3 || C2.
#include <openssl/bn.h>
#include <openssl/ec.h>

#include <cstring>

#include "crypto/sm2_cipher_internal.h"
#include "crypto/ossl_internal.h"
#include "crypto/sm2.h"
#include "crypto/sm2_internal.h"

namespace gmpki::crypto {
namespace {

using internal::BnCtxPtr;
using internal::BnPtr;
using internal::EcPointPtr;

// x2 || y2 of a shared point, zeroised on destruction.
struct SharedPoint {
  std::uint8_t xy[64];
  ~SharedPoint() { SecureZero(xy, sizeof(xy)); }
};

// [scalar]P as 64-byte x || y. `scalar` is secret (k or d_B); with one point and no generator
// term EC_POINT_mul takes OpenSSL's constant-time ladder.
bool Multiply(const EC_POINT* p, const BIGNUM* scalar, BN_CTX* ctx, SharedPoint& out) {
  const auto& curve = internal::Curve();
  EcPointPtr q(EC_POINT_new(curve.group));
  std::uint8_t enc[65];
  const bool ok =
      q && EC_POINT_mul(curve.group, q.get(), nullptr, p, scalar, ctx) == 1 &&
      EC_POINT_is_at_infinity(curve.group, q.get()) != 1 &&
      EC_POINT_point2oct(curve.group, q.get(), POINT_CONVERSION_UNCOMPRESSED, enc, 65, ctx) == 65;
  if (ok) std::memcpy(out.xy, enc + 1, 64);
  SecureZero(enc, sizeof(enc));
  return ok;
}

enum class Attempt { kDone, kRetry, kFailed };

// A2-A8 for one k. kRetry when t is all zero (A5 "return to A1").
Attempt EncryptWithK(const EC_POINT* pb, ByteView m, const BIGNUM* k, BN_CTX* ctx, Bytes& out) {
  const auto& curve = internal::Curve();
  EcPointPtr c1(EC_POINT_new(curve.group));
  std::uint8_t c1_enc[65];
  SharedPoint shared;
  // A2: C1 = [k]G. A3: S = [h]P_B is O only for an invalid P_B (h = 1), excluded on parsing.
  // A4: (x2, y2) = [k]P_B.
  if (!c1 || EC_POINT_mul(curve.group, c1.get(), k, nullptr, nullptr, ctx) != 1 ||
      EC_POINT_point2oct(curve.group, c1.get(), POINT_CONVERSION_UNCOMPRESSED, c1_enc, 65, ctx) !=
          65 ||
      !Multiply(pb, k, ctx, shared)) {
    return Attempt::kFailed;
  }
  auto c = internal::FinishSm2Encrypt(ByteView(c1_enc + 1, 32), ByteView(c1_enc + 33, 32),
                                      ByteView(shared.xy, 64), m);
  if (!c) return Attempt::kRetry;
  out = std::move(*c);
  return Attempt::kDone;
}

Result<EcPointPtr> ParsePublic(const Sm2PublicKey& pub, BN_CTX* ctx) {
  EcPointPtr pb = internal::PointFromUncompressed(pub.point(), ctx);
  if (!pb) return Error(ErrorCode::kInvalidArgument, "SM2 public key is not valid");
  return pb;
}

}  // namespace

Result<Bytes> internal::OsslSm2Encrypt(const Sm2PublicKey& pub, ByteView plaintext) {
  if (plaintext.empty()) return Error(ErrorCode::kInvalidArgument, "SM2: empty plaintext");
  BnCtxPtr ctx(BN_CTX_secure_new());
  BnPtr k(BN_secure_new());
  if (!ctx || !k) return Error(ErrorCode::kCryptoFailure, "out of memory");
  BN_set_flags(k.get(), BN_FLG_CONSTTIME);
  GMPKI_ASSIGN_OR_RETURN(EcPointPtr pb, ParsePublic(pub, ctx.get()));
  Bytes out;
  for (int attempt = 0; attempt < 64; ++attempt) {
    // A1: k uniformly in [1, n-1].
    if (BN_priv_rand_range(k.get(), internal::Curve().n) != 1) {
      return internal::OpensslError(ErrorCode::kCryptoFailure, "SM2 encrypt: RNG failed");
    }
    if (BN_is_zero(k.get())) continue;
    switch (EncryptWithK(pb.get(), plaintext, k.get(), ctx.get(), out)) {
      case Attempt::kDone:
        return out;
      case Attempt::kRetry:
        continue;
      case Attempt::kFailed:
        return internal::OpensslError(ErrorCode::kCryptoFailure, "SM2 encryption failed");
    }
  }
  return Error(ErrorCode::kCryptoFailure, "SM2 encryption: no usable k");
}

namespace internal {

Result<Bytes> Sm2EncryptWithK(const Sm2PublicKey& pub, ByteView plaintext, ByteView k32) {
  if (plaintext.empty()) return Error(ErrorCode::kInvalidArgument, "SM2: empty plaintext");
  if (k32.size() != 32) return Error(ErrorCode::kInvalidArgument, "k must be 32 bytes");
  BnCtxPtr ctx(BN_CTX_secure_new());
  BnPtr k(BN_bin2bn(k32.data(), 32, nullptr));
  if (!ctx || !k) return Error(ErrorCode::kCryptoFailure, "out of memory");
  BN_set_flags(k.get(), BN_FLG_CONSTTIME);
  if (BN_is_zero(k.get()) || BN_cmp(k.get(), Curve().n) >= 0) {
    return Error(ErrorCode::kInvalidArgument, "k outside [1, n-1]");
  }
  GMPKI_ASSIGN_OR_RETURN(EcPointPtr pb, ParsePublic(pub, ctx.get()));
  Bytes out;
  switch (EncryptWithK(pb.get(), plaintext, k.get(), ctx.get(), out)) {
    case Attempt::kDone:
      return out;
    case Attempt::kRetry:
      return Error(ErrorCode::kInvalidArgument, "k gives an all-zero KDF output");
    case Attempt::kFailed:
      break;
  }
  return OpensslError(ErrorCode::kCryptoFailure, "SM2 encryption failed");
}

}  // namespace internal

Result<SecretBytes> internal::OsslSm2Decrypt(const Sm2PrivateKey& key, ByteView ciphertext) {
  GMPKI_ASSIGN_OR_RETURN(auto parts, internal::ParseSm2Cipher(ciphertext));
  if (key.scalar().size() != 32) {
    return Error(ErrorCode::kInvalidArgument, "SM2: empty private key");
  }
  BnCtxPtr ctx(BN_CTX_secure_new());
  BnPtr d(BN_secure_new());
  if (!ctx || !d ||
      BN_bin2bn(key.scalar().data(), static_cast<int>(key.scalar().size()), d.get()) == nullptr) {
    return Error(ErrorCode::kCryptoFailure, "out of memory");
  }
  BN_set_flags(d.get(), BN_FLG_CONSTTIME);
  // B1: C1 must be a point of the curve; B2: S = [h]C1 is not O (h = 1).
  std::uint8_t c1_enc[65] = {0x04};
  std::memcpy(c1_enc + 1, parts.x1.data(), 32);
  std::memcpy(c1_enc + 33, parts.y1.data(), 32);
  EcPointPtr c1 = internal::PointFromUncompressed(ByteView(c1_enc, 65), ctx.get());
  if (!c1) return Error(ErrorCode::kMalformedInput, "SM2Cipher: C1 is not a point of the curve");
  // B3: (x2, y2) = [d_B]C1; B4-B6 are shared with the engine.
  SharedPoint shared;
  if (!Multiply(c1.get(), d.get(), ctx.get(), shared)) {
    return internal::OpensslError(ErrorCode::kCryptoFailure, "SM2 decryption failed");
  }
  return internal::FinishSm2Decrypt(ByteView(shared.xy, 64), parts.c3, parts.c2);
}

}  // namespace gmpki::crypto
