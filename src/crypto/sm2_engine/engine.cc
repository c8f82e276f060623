#include "crypto/sm2_engine/engine.h"

#include <cstring>
#include <vector>

#include "crypto/der_internal.h"
#include "crypto/random.h"
#include "crypto/sm2_engine/nonce_pool.h"

namespace gmpki::crypto::sm2_engine {
namespace {

// base/bytes.h's SecureZero, which the optimiser may not drop.
void Wipe(void* p, std::size_t n) { SecureZero(p, n); }

constexpr int kMaxSignAttempts = 64;

}  // namespace

namespace {

// Appends INTEGER { v } for a 32-byte big-endian magnitude: leading zero bytes dropped, one
// 0x00 added when the top bit is set (X.690 8.3.2: minimal two's complement). r and s are
// public, so the loops may depend on them.
std::size_t AppendDerInteger(std::uint8_t* out, const std::array<std::uint8_t, 32>& v) {
  std::size_t skip = 0;
  while (skip < 31 && v[skip] == 0) ++skip;
  const std::size_t pad = (v[skip] & 0x80) != 0 ? 1 : 0;
  const std::size_t len = 32 - skip + pad;
  out[0] = internal::kTagInteger;
  out[1] = static_cast<std::uint8_t>(len);
  out[2] = 0;
  std::memcpy(out + 2 + pad, v.data() + skip, 32 - skip);
  return 2 + len;
}

}  // namespace

Bytes EncodeSignatureDer(const Signature& sig) {
  // At most 2 + 2 * 35 = 72 bytes: every length fits the short form (X.690 8.1.3.4), so the
  // encoding is written in one buffer with one allocation for the result.
  std::uint8_t buf[72];
  std::size_t len = 2;
  len += AppendDerInteger(buf + len, sig.r);
  len += AppendDerInteger(buf + len, sig.s);
  buf[0] = internal::kTagSequence;
  buf[1] = static_cast<std::uint8_t>(len - 2);
  return Bytes(buf, buf + len);
}

Result<Signature> DecodeSignatureDer(ByteView der) {
  internal::DerReader outer(der);
  GMPKI_ASSIGN_OR_RETURN(ByteView seq, outer.Read(internal::kTagSequence));
  if (!outer.empty()) return Error(ErrorCode::kMalformedInput, "trailing bytes after SM2Signature");
  internal::DerReader inner(seq);
  Signature sig;
  for (auto* field : {&sig.r, &sig.s}) {
    GMPKI_ASSIGN_OR_RETURN(ByteView mag, inner.ReadUnsignedInteger());
    if (mag.size() > 32) return Error(ErrorCode::kMalformedInput, "SM2Signature integer too long");
    std::memcpy(field->data() + (32 - mag.size()), mag.data(), mag.size());
  }
  if (!inner.empty()) return Error(ErrorCode::kMalformedInput, "trailing bytes in SM2Signature");
  return sig;
}

Result<PublicKey> PublicKey::FromPoint(ByteView uncompressed) {
  if (uncompressed.size() != 65 || uncompressed[0] != 0x04) {
    return Error(ErrorCode::kInvalidArgument, "SM2 public key must be a 65-byte 04||X||Y point");
  }
  PublicKey pk;
  if (!FeFromBytesStrict(pk.q_.x, uncompressed.data() + 1) ||
      !FeFromBytesStrict(pk.q_.y, uncompressed.data() + 33)) {
    return Error(ErrorCode::kInvalidArgument, "SM2 public key coordinate not below p");
  }
  if (!IsOnCurve(pk.q_)) return Error(ErrorCode::kInvalidArgument, "SM2 public key not on curve");
  return pk;
}

std::array<std::uint8_t, 65> PublicKey::ToPoint() const {
  std::array<std::uint8_t, 65> out{};
  out[0] = 0x04;
  FeToBytes(out.data() + 1, q_.x);
  FeToBytes(out.data() + 33, q_.y);
  return out;
}

Result<PrivateKey> PrivateKey::FromScalar(ByteView d32) {
  if (d32.size() != 32)
    return Error(ErrorCode::kInvalidArgument, "SM2 private key must be 32 bytes");
  U256 d = FromBe32(d32.data());
  // 1 <= d <= n - 2, i.e. d in [1, n-1] and d + 1 != n. Only the verdict leaves this check.
  U256 d1;
  Add4(d1, d, U256{{1, 0, 0, 0}});
  const u64 ok = ScInRangeMask(d) & ScInRangeMask(d1);
  if (!ok) {
    Wipe(&d, sizeof(d));
    Wipe(&d1, sizeof(d1));
    return Error(ErrorCode::kInvalidArgument, "SM2 private key out of range [1, n-2]");
  }
  PrivateKey key;
  key.d_ = ScFromIntReduce(d);
  ScInv(key.d1_inv_, ScFromIntReduce(d1));
  JacobianPoint p;
  ScalarMulBase(p, d);
  PointToAffine(key.pub_.q_, p);
  Wipe(&d, sizeof(d));
  Wipe(&d1, sizeof(d1));
  return key;
}

Result<PrivateKey> PrivateKey::Generate() {
  std::uint8_t buf[32];
  for (int attempt = 0; attempt < kMaxSignAttempts; ++attempt) {
    GMPKI_RETURN_IF_ERROR(RandomFill(std::span<std::uint8_t>(buf, sizeof(buf))));
    // Rejection sampling keeps d uniform; a rejected candidate is discarded, so the branch
    // reveals nothing about the accepted key.
    auto key = FromScalar(ByteView(buf, sizeof(buf)));
    Wipe(buf, sizeof(buf));
    if (key.ok()) return key;
  }
  return Error(ErrorCode::kCryptoFailure, "random generator keeps producing out-of-range keys");
}

Status GenerateKeyBatch(std::span<std::uint8_t> d32_out, std::span<std::uint8_t> point65_out) {
  const std::size_t count = d32_out.size() / 32;
  if (d32_out.size() % 32 != 0 || point65_out.size() != 65 * count) {
    return Error(ErrorCode::kInvalidArgument, "SM2 key batch: buffers of 32 and 65 bytes per key");
  }
  if (count == 0) return OkStatus();
  GMPKI_RETURN_IF_ERROR(RandomFill(d32_out));
  std::vector<U256> d(count);
  std::vector<JacobianPoint> jac(count);
  std::vector<AffinePoint> aff(count);
  std::vector<Fe> scratch(count);
  auto wipe = [&] {
    Wipe(d.data(), d.size() * sizeof(U256));
    Wipe(jac.data(), jac.size() * sizeof(JacobianPoint));
    Wipe(scratch.data(), scratch.size() * sizeof(Fe));
  };
  for (std::size_t j = 0; j < count; ++j) {
    std::uint8_t* dj = d32_out.data() + 32 * j;
    // Rejection sampling as in PrivateKey::Generate: a candidate outside [1, n-2] (probability
    // about 2^-32) is discarded and redrawn, so the branch says nothing about the kept scalar.
    for (int attempt = 0;; ++attempt) {
      d[j] = FromBe32(dj);
      U256 d1;
      Add4(d1, d[j], U256{{1, 0, 0, 0}});
      const u64 ok = ScInRangeMask(d[j]) & ScInRangeMask(d1);
      Wipe(&d1, sizeof(d1));
      if (ok) break;
      if (attempt + 1 == kMaxSignAttempts) {
        wipe();
        SecureZero(d32_out.data(), d32_out.size());
        return Error(ErrorCode::kCryptoFailure,
                     "random generator keeps producing out-of-range keys");
      }
      if (Status s = RandomFill(std::span<std::uint8_t>(dj, 32)); !s.ok()) {
        wipe();
        SecureZero(d32_out.data(), d32_out.size());
        return s;
      }
    }
    ScalarMulBase(jac[j], d[j]);
  }
  // d in [1, n-2] never gives infinity; the mask is checked anyway so that a fault cannot hand
  // out (0, 0) as a public key.
  const u64 any_infinity = BatchToAffineCt(aff.data(), jac.data(), count, scratch.data());
  wipe();
  if (any_infinity) {
    SecureZero(d32_out.data(), d32_out.size());
    return Error(ErrorCode::kInternal, "SM2 key batch: point at infinity");
  }
  for (std::size_t j = 0; j < count; ++j) {
    std::uint8_t* q = point65_out.data() + 65 * j;
    q[0] = 0x04;
    FeToBytes(q + 1, aff[j].x);
    FeToBytes(q + 33, aff[j].y);
  }
  return OkStatus();
}

SecretBytes PrivateKey::ToScalar() const {
  SecretBytes out(32);
  ScToBytes(out.data(), d_);
  return out;
}

PrivateKey::PrivateKey(PrivateKey&& o) noexcept : d_(o.d_), d1_inv_(o.d1_inv_), pub_(o.pub_) {
  Wipe(&o.d_, sizeof(o.d_));
  Wipe(&o.d1_inv_, sizeof(o.d1_inv_));
}

PrivateKey& PrivateKey::operator=(PrivateKey&& o) noexcept {
  if (this != &o) {
    d_ = o.d_;
    d1_inv_ = o.d1_inv_;
    pub_ = o.pub_;
    Wipe(&o.d_, sizeof(o.d_));
    Wipe(&o.d1_inv_, sizeof(o.d1_inv_));
  }
  return *this;
}

PrivateKey::~PrivateKey() {
  Wipe(&d_, sizeof(d_));
  Wipe(&d1_inv_, sizeof(d1_inv_));
}

namespace {

// GB/T 32918.2-2016 6.1 A5..A7 for a nonce k with x1 = x(k*G) mod n already known. Returns
// false for the standard's "return to A3" (r = 0, r + k = n or s = 0; public verdicts, each of
// probability about 2^-256). Wipes nothing of its inputs; its own temporaries are wiped.
bool SignEquation(const Sc& d, const Sc& d1_inv, ByteView e32, const Sc& k_m, const Sc& x1,
                  Signature& out) {
  // A5: r = (e + x1) mod n; r = 0 or r + k = n means another k (r is public anyway).
  Sc e = ScFromBytesReduce(e32.data());
  Sc r, t, s;
  ScAdd(r, e, x1);
  ScAdd(t, r, k_m);
  if (ScIsZeroMask(r) | ScIsZeroMask(t)) {
    Wipe(&t, sizeof(t));
    return false;
  }
  // A6: s = ((1 + d)^-1 * (k - r*d)) mod n.
  ScMul(t, r, d);
  ScSub(t, k_m, t);
  ScMul(s, d1_inv, t);
  Wipe(&t, sizeof(t));
  if (ScIsZeroMask(s)) return false;
  ScToBytes(out.r.data(), r);
  ScToBytes(out.s.data(), s);
  return true;
}

}  // namespace

Result<Signature> SignDigestWithK(const PrivateKey& key, ByteView e32, ByteView k32) {
  if (e32.size() != 32 || k32.size() != 32) {
    return Error(ErrorCode::kInvalidArgument, "SM2 sign: e and k must be 32 bytes");
  }
  U256 k = FromBe32(k32.data());
  if (!ScInRangeMask(k)) return Error(ErrorCode::kInvalidArgument, "SM2 sign: k not in [1, n-1]");
  // A4: (x1, y1) = [k]G.
  JacobianPoint kg;
  ScalarMulBase(kg, k);
  AffinePoint p1;
  PointToAffine(p1, kg);
  Sc x1 = ScFromIntReduce(FeToInt(p1.x)), k_m = ScFromIntReduce(k);
  Signature sig;
  const bool ok = SignEquation(key.d_, key.d1_inv_, e32, k_m, x1, sig);
  Wipe(&k, sizeof(k));
  Wipe(&k_m, sizeof(k_m));
  Wipe(&kg, sizeof(kg));
  Wipe(&p1, sizeof(p1));
  if (!ok) return Error(ErrorCode::kInvalidArgument, "SM2 sign: k gives r = 0, r + k = n or s = 0");
  return sig;
}

Result<Signature> SignDigest(const PrivateKey& key, ByteView e32) {
  if (e32.size() != 32) return Error(ErrorCode::kInvalidArgument, "SM2 sign: e must be 32 bytes");
  // A3 and A4 come prepared from the thread's nonce pool (nonce_pool.h): k uniformly random in
  // [1, n-1] from the DRBG, used once, with x1 of k*G.
  for (int attempt = 0; attempt < kMaxSignAttempts; ++attempt) {
    Nonce nonce;
    GMPKI_RETURN_IF_ERROR(TakeNonce(nonce));
    Signature sig;
    const bool ok = SignEquation(key.d_, key.d1_inv_, e32, nonce.k, nonce.x1, sig);
    Wipe(&nonce, sizeof(nonce));
    if (ok) return sig;
  }
  return Error(ErrorCode::kCryptoFailure, "SM2 sign: no usable k after repeated attempts");
}

Status VerifyDigest(const PublicKey& pub, ByteView e32, const Signature& sig) {
  if (e32.size() != 32) return Error(ErrorCode::kInvalidArgument, "SM2 verify: e must be 32 bytes");
  // B1, B2: 1 <= r, s <= n - 1.
  U256 r_int = FromBe32(sig.r.data());
  U256 s_int = FromBe32(sig.s.data());
  if (!ScInRangeMask(r_int) || !ScInRangeMask(s_int)) {
    return Error(ErrorCode::kBadSignature, "SM2 signature: r or s not in [1, n-1]");
  }
  // B5: t = (r + s) mod n, t != 0.
  Sc r = ScFromIntReduce(r_int), s = ScFromIntReduce(s_int), t;
  ScAdd(t, r, s);
  if (ScIsZeroMask(t)) return Error(ErrorCode::kBadSignature, "SM2 signature: r + s = n");
  // B6: (x1, y1) = [s]G + [t]P.
  JacobianPoint p;
  DoubleScalarMulVartime(p, s_int, ScToInt(t), pub.point());
  if (IsInfinityMask(p)) return Error(ErrorCode::kBadSignature, "SM2 signature does not verify");
  // B7: R = (e + x1) mod n = r  <=>  x1 = c or x1 = c + n with c = (r - e) mod n (x1 < p < 2n).
  // Compared projectively, X = x1 * Z^2, which saves the field inversion.
  Sc e = ScFromBytesReduce(e32.data()), c_m;
  ScSub(c_m, r, e);
  U256 c = ScToInt(c_m);
  Fe z2, cand;
  FeSqr(z2, p.z);
  FeMul(cand, FeFromInt(c), z2);
  if (FeEqualMask(cand, p.x)) return OkStatus();
  U256 c_plus_n;
  if (Add4(c_plus_n, c, kOrderN.m) == 0 && MaskLess(c_plus_n, kFieldP.m)) {
    FeMul(cand, FeFromInt(c_plus_n), z2);
    if (FeEqualMask(cand, p.x)) return OkStatus();
  }
  return Error(ErrorCode::kBadSignature, "SM2 signature does not verify");
}

}  // namespace gmpki::crypto::sm2_engine
