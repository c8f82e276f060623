#include "crypto/sm2_engine/encrypt.h"

#include <cstring>
#include <span>

#include "crypto/sm2_cipher_internal.h"
#include "crypto/random.h"
#include "crypto/sm2_engine/varbase.h"

namespace gmpki::crypto::sm2_engine {
namespace {

constexpr int kMaxEncryptAttempts = 64;

// x2 || y2 of the shared point, wiped on destruction.
struct SharedPoint {
  std::uint8_t xy[64];
  ~SharedPoint() { SecureZero(xy, sizeof(xy)); }
};

// k*P as x2 || y2. False only when the product is infinity, which a valid P (order n) and
// k in [1, n-1] exclude; the verdict is public.
bool Multiply(const AffinePoint& p, const U256& k, SharedPoint& out) {
  JacobianPoint jp;
  ScalarMulPoint(jp, k, p);
  AffinePoint a;
  const u64 inf = PointToAffine(a, jp);
  FeToBytes(out.xy, a.x);
  FeToBytes(out.xy + 32, a.y);
  SecureZero(&jp, sizeof(jp));
  SecureZero(&a, sizeof(a));
  return inf == 0;
}

enum class Attempt { kDone, kRetry, kFailed };

// A2..A8 for one k (REQUIRES 1 <= k <= n-1). kRetry when t is all zero (A5 "return to A1").
Attempt EncryptWithScalar(const PublicKey& pub, ByteView m, const U256& k, Bytes& out) {
  // A2: C1 = [k]G.
  JacobianPoint c1j;
  ScalarMulBase(c1j, k);
  AffinePoint c1;
  if (PointToAffine(c1, c1j) != 0) return Attempt::kFailed;
  std::uint8_t c1x[32], c1y[32];
  FeToBytes(c1x, c1.x);
  FeToBytes(c1y, c1.y);
  // A3: S = [h]P_B is O only for an invalid P_B (h = 1), which PublicKey cannot hold.
  // A4: (x2, y2) = [k]P_B.
  SharedPoint shared;
  if (!Multiply(pub.point(), k, shared)) return Attempt::kFailed;
  auto c = internal::FinishSm2Encrypt(ByteView(c1x, 32), ByteView(c1y, 32),
                                      ByteView(shared.xy, 64), m);
  if (!c) return Attempt::kRetry;
  out = std::move(*c);
  return Attempt::kDone;
}

}  // namespace

Result<Bytes> EncryptC1C3C2(const PublicKey& pub, ByteView plaintext) {
  if (plaintext.empty()) return Error(ErrorCode::kInvalidArgument, "SM2: empty plaintext");
  std::uint8_t buf[32];
  Bytes out;
  for (int attempt = 0; attempt < kMaxEncryptAttempts; ++attempt) {
    // A1: k uniform in [1, n-1] by rejection sampling; a rejected candidate is discarded, so
    // the branch says nothing about the k that is used.
    GMPKI_RETURN_IF_ERROR(RandomFill(std::span<std::uint8_t>(buf, sizeof(buf))));
    U256 k = FromBe32(buf);
    SecureZero(buf, sizeof(buf));
    if (!ScInRangeMask(k)) continue;
    const Attempt a = EncryptWithScalar(pub, plaintext, k, out);
    SecureZero(&k, sizeof(k));
    switch (a) {
      case Attempt::kDone:
        return out;
      case Attempt::kRetry:
        continue;
      case Attempt::kFailed:
        return Error(ErrorCode::kCryptoFailure, "SM2 encryption failed");
    }
  }
  return Error(ErrorCode::kCryptoFailure, "SM2 encryption: no usable k");
}

Result<Bytes> EncryptC1C3C2WithK(const PublicKey& pub, ByteView plaintext, ByteView k32) {
  if (plaintext.empty()) return Error(ErrorCode::kInvalidArgument, "SM2: empty plaintext");
  if (k32.size() != 32) return Error(ErrorCode::kInvalidArgument, "k must be 32 bytes");
  U256 k = FromBe32(k32.data());
  if (!ScInRangeMask(k)) return Error(ErrorCode::kInvalidArgument, "k outside [1, n-1]");
  Bytes out;
  const Attempt a = EncryptWithScalar(pub, plaintext, k, out);
  SecureZero(&k, sizeof(k));
  switch (a) {
    case Attempt::kDone:
      return out;
    case Attempt::kRetry:
      return Error(ErrorCode::kInvalidArgument, "k gives an all-zero KDF output");
    case Attempt::kFailed:
      break;
  }
  return Error(ErrorCode::kCryptoFailure, "SM2 encryption failed");
}

Result<SecretBytes> Decrypt(const PrivateKey& key, ByteView ciphertext) {
  GMPKI_ASSIGN_OR_RETURN(auto parts, internal::ParseSm2Cipher(ciphertext));
  // B1: C1 must be a point of the curve (coordinates below p, curve equation). B2: S = [h]C1
  // is not O, automatic for h = 1 and an affine C1.
  AffinePoint c1;
  if (!FeFromBytesStrict(c1.x, parts.x1.data()) || !FeFromBytesStrict(c1.y, parts.y1.data()) ||
      !IsOnCurve(c1)) {
    return Error(ErrorCode::kMalformedInput, "SM2Cipher: C1 is not a point of the curve");
  }
  // B3: (x2, y2) = [d_B]C1; B4-B6 are shared with the OpenSSL implementation.
  SecretBytes d_bytes = key.ToScalar();
  U256 d = FromBe32(d_bytes.data());
  SharedPoint shared;
  const bool ok = Multiply(c1, d, shared);
  SecureZero(&d, sizeof(d));
  if (!ok) return Error(ErrorCode::kCryptoFailure, "SM2 decryption failed");
  return internal::FinishSm2Decrypt(ByteView(shared.xy, 64), parts.c3, parts.c2);
}

}  // namespace gmpki::crypto::sm2_engine
