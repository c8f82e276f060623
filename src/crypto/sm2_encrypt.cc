// SM2 public key encryption (GB/T 32918.4-2016 sections 6 and 7) with the GM/T 0009 ASN.1
// ciphertext SM2Cipher ::= SEQUENCE { XCoordinate INTEGER, YCoordinate INTEGER,
// HASH OCTET STRING (SIZE(32)), CipherText OCTET STRING }, i.e. C1 || C3 || C2.
#include <openssl/bn.h>
#include <openssl/ec.h>

#include <cstring>

#include "crypto/der_internal.h"
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

bool AllZero(const SecretBytes& t) {
  std::uint8_t acc = 0;
  for (std::size_t i = 0; i < t.size(); ++i) acc |= t[i];
  return acc == 0;
}

// C3 = Hash(x2 || M || y2) (GB/T 32918.4-2016 6.1 A7, 7.1 B6).
Sm3Digest HashC3(const SharedPoint& s, ByteView m) {
  Sm3Hasher h;
  h.Update(ByteView(s.xy, 32));
  h.Update(m);
  h.Update(ByteView(s.xy + 32, 32));
  return h.Final();
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
  // A5: t = KDF(x2 || y2, klen); back to A1 if t is all zero.
  SecretBytes t = Sm3Kdf(ByteView(shared.xy, 64), m.size());
  if (AllZero(t)) return Attempt::kRetry;
  // A6: C2 = M xor t.
  Bytes c2(m.size());
  for (std::size_t i = 0; i < m.size(); ++i) c2[i] = m[i] ^ t[i];
  const Sm3Digest c3 = HashC3(shared, m);
  Bytes seq;
  internal::AppendUnsignedInteger(seq, ByteView(c1_enc + 1, 32));
  internal::AppendUnsignedInteger(seq, ByteView(c1_enc + 33, 32));
  internal::AppendTlv(seq, internal::kTagOctetString, c3);
  internal::AppendTlv(seq, internal::kTagOctetString, c2);
  out.clear();
  internal::AppendTlv(out, internal::kTagSequence, seq);
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
  internal::DerReader outer(ciphertext);
  GMPKI_ASSIGN_OR_RETURN(ByteView seq, outer.Read(internal::kTagSequence));
  if (!outer.empty()) return Error(ErrorCode::kMalformedInput, "SM2Cipher: trailing data");
  internal::DerReader body(seq);
  GMPKI_ASSIGN_OR_RETURN(ByteView x, body.ReadUnsignedInteger());
  GMPKI_ASSIGN_OR_RETURN(ByteView y, body.ReadUnsignedInteger());
  GMPKI_ASSIGN_OR_RETURN(ByteView c3, body.Read(internal::kTagOctetString));
  GMPKI_ASSIGN_OR_RETURN(ByteView c2, body.Read(internal::kTagOctetString));
  if (!body.empty()) return Error(ErrorCode::kMalformedInput, "SM2Cipher: extra fields");
  if (x.size() > 32 || y.size() > 32) {
    return Error(ErrorCode::kMalformedInput, "SM2Cipher: C1 coordinate too long");
  }
  if (c3.size() != kSm3DigestSize) {
    return Error(ErrorCode::kMalformedInput, "SM2Cipher: HASH must be 32 bytes");
  }
  if (c2.empty()) return Error(ErrorCode::kMalformedInput, "SM2Cipher: empty ciphertext");

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
  std::memcpy(c1_enc + 1 + (32 - x.size()), x.data(), x.size());
  std::memcpy(c1_enc + 33 + (32 - y.size()), y.data(), y.size());
  EcPointPtr c1 = internal::PointFromUncompressed(ByteView(c1_enc, 65), ctx.get());
  if (!c1) return Error(ErrorCode::kMalformedInput, "SM2Cipher: C1 is not a point of the curve");
  // B3: (x2, y2) = [d_B]C1.
  SharedPoint shared;
  if (!Multiply(c1.get(), d.get(), ctx.get(), shared)) {
    return internal::OpensslError(ErrorCode::kCryptoFailure, "SM2 decryption failed");
  }
  // B4: t = KDF(x2 || y2, klen); an all-zero t is an error.
  SecretBytes t = Sm3Kdf(ByteView(shared.xy, 64), c2.size());
  if (AllZero(t)) return Error(ErrorCode::kBadSignature, "SM2 decryption: all-zero KDF output");
  // B5: M' = C2 xor t. B6: u = Hash(x2 || M' || y2) must equal C3, compared in constant time;
  // M' is wiped unless it matches.
  SecretBytes m(c2.size());
  for (std::size_t i = 0; i < c2.size(); ++i) m[i] = c2[i] ^ t[i];
  const Sm3Digest u = HashC3(shared, m.view());
  if (!ConstantTimeEqual(u, c3)) {
    return Error(ErrorCode::kBadSignature, "SM2 decryption: C3 mismatch (wrong key or tampered)");
  }
  return m;
}

}  // namespace gmpki::crypto
