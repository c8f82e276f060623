#include "crypto/sm2_engine/encrypt.h"

#include <cstring>
#include <span>

#include "crypto/der_internal.h"
#include "crypto/random.h"
#include "crypto/sm2_engine/varbase.h"
#include "crypto/sm3.h"

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

// Constant-time: the loop runs over the whole of t, only the verdict leaves.
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
  // A5: t = KDF(x2 || y2, klen); back to A1 if t is all zero.
  SecretBytes t = Sm3Kdf(ByteView(shared.xy, 64), m.size());
  if (AllZero(t)) return Attempt::kRetry;
  // A6: C2 = M xor t. A7: C3 = Hash(x2 || M || y2). A8: C = C1 || C3 || C2 as GM/T 0009.
  Bytes c2(m.size());
  for (std::size_t i = 0; i < m.size(); ++i) c2[i] = m[i] ^ t[i];
  const Sm3Digest c3 = HashC3(shared, m);
  Bytes seq;
  internal::AppendUnsignedInteger(seq, ByteView(c1x, 32));
  internal::AppendUnsignedInteger(seq, ByteView(c1y, 32));
  internal::AppendTlv(seq, internal::kTagOctetString, c3);
  internal::AppendTlv(seq, internal::kTagOctetString, c2);
  out.clear();
  internal::AppendTlv(out, internal::kTagSequence, seq);
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

  // B1: C1 must be a point of the curve (coordinates below p, curve equation). B2: S = [h]C1
  // is not O, automatic for h = 1 and an affine C1.
  std::uint8_t xb[32] = {}, yb[32] = {};
  std::memcpy(xb + (32 - x.size()), x.data(), x.size());
  std::memcpy(yb + (32 - y.size()), y.data(), y.size());
  AffinePoint c1;
  if (!FeFromBytesStrict(c1.x, xb) || !FeFromBytesStrict(c1.y, yb) || !IsOnCurve(c1)) {
    return Error(ErrorCode::kMalformedInput, "SM2Cipher: C1 is not a point of the curve");
  }
  // B3: (x2, y2) = [d_B]C1.
  SecretBytes d_bytes = key.ToScalar();
  U256 d = FromBe32(d_bytes.data());
  SharedPoint shared;
  const bool ok = Multiply(c1, d, shared);
  SecureZero(&d, sizeof(d));
  if (!ok) return Error(ErrorCode::kCryptoFailure, "SM2 decryption failed");
  // B4: t = KDF(x2 || y2, klen); an all-zero t is an error.
  SecretBytes t = Sm3Kdf(ByteView(shared.xy, 64), c2.size());
  if (AllZero(t)) return Error(ErrorCode::kBadSignature, "SM2 decryption: all-zero KDF output");
  // B5: M' = C2 xor t. B6: u = Hash(x2 || M' || y2) must equal C3, compared in constant time;
  // M' is wiped (by SecretBytes) unless it matches.
  SecretBytes m(c2.size());
  for (std::size_t i = 0; i < c2.size(); ++i) m[i] = c2[i] ^ t[i];
  const Sm3Digest u = HashC3(shared, m.view());
  if (!ConstantTimeEqual(u, c3)) {
    return Error(ErrorCode::kBadSignature, "SM2 decryption: C3 mismatch (wrong key or tampered)");
  }
  return m;
}

}  // namespace gmpki::crypto::sm2_engine
