// VerifyDigestPrecomputed against VerifyDigest: the same verdict and error code on the
// GB/T 32918.5 Annex A example, on random valid and corrupted signatures, on r/s edge values,
// and on scalars chosen to drive the fixed-base sums through their special cases (an addition
// that is a doubling, a partial sum of infinity, a total of infinity).
#include "crypto/sm2_engine/precomp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "crypto/random.h"
#include "crypto/test_vectors.h"

namespace gmpki::crypto::sm2_engine {
namespace {

using crypto::testing::LoadVectors;

// Both verifiers on the same input; returns the common verdict (fails the test on mismatch).
bool VerifyBoth(const PrecomputedPublicKey& pre, ByteView e, const Signature& sig) {
  Status plain = VerifyDigest(pre.public_key(), e, sig);
  Status fast = VerifyDigestPrecomputed(pre, e, sig);
  EXPECT_EQ(plain.ok(), fast.ok());
  if (!plain.ok() && !fast.ok()) {
    EXPECT_EQ(plain.error().code(), fast.error().code());
  }
  return fast.ok();
}

Signature FromInts(const U256& r, const U256& s) {
  Signature sig;
  ToBe32(r, sig.r.data());
  ToBe32(s, sig.s.data());
  return sig;
}

U256 Small(u64 v) { return U256{{v, 0, 0, 0}}; }

// k*A by double-and-add (test-only, independent of both verifiers' scalar multiplication).
JacobianPoint MulVartime(const AffinePoint& a, const U256& k) {
  JacobianPoint acc = Infinity();
  for (int bit = 255; bit >= 0; --bit) {
    PointDouble(acc, acc);
    if ((k.v[bit / 64] >> (bit % 64)) & 1) PointAddVartime(acc, acc, ToJacobian(a));
  }
  return acc;
}

// e such that (r, s) is a valid signature on it for the key with point q: e = r - x(s*G + t*Q).
Bytes DigestMakingValid(const AffinePoint& q, const U256& r, const U256& s) {
  Sc t;
  ScAdd(t, ScFromIntReduce(r), ScFromIntReduce(s));
  JacobianPoint sum;
  PointAddVartime(sum, MulVartime(BasePoint(), s), MulVartime(q, ScToInt(t)));
  AffinePoint a;
  EXPECT_EQ(PointToAffine(a, sum), 0u);
  Sc e;
  ScSub(e, ScFromIntReduce(r), ScFromIntReduce(FeToInt(a.x)));
  Bytes out(32);
  ScToBytes(out.data(), e);
  return out;
}

PrecomputedPublicKey KeyFor(const AffinePoint& q) {
  std::uint8_t enc[65];
  enc[0] = 0x04;
  FeToBytes(enc + 1, q.x);
  FeToBytes(enc + 33, q.y);
  auto pub = PublicKey::FromPoint(ByteView(enc, sizeof(enc)));
  EXPECT_TRUE(pub.ok());
  return PrecomputedPublicKey::Build(*pub);
}

// req: CC-FCS
TEST(Sm2Precomputed, AnnexAExample) {
  auto vectors = LoadVectors("gbt32918/sm2_sign.vec");
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.Where());
    auto pub = PublicKey::FromPoint(v.Hex("P"));
    ASSERT_TRUE(pub.ok());
    auto pre = PrecomputedPublicKey::Build(*pub);
    EXPECT_EQ(pre.public_key().ToPoint(), pub->ToPoint());
    auto sig = DecodeSignatureDer(v.Hex("Sig"));
    ASSERT_TRUE(sig.ok());
    Bytes e = v.Hex("E");
    EXPECT_TRUE(VerifyDigestPrecomputed(pre, e, *sig).ok());
    EXPECT_TRUE(VerifyBoth(pre, e, *sig));
    e[31] ^= 1;
    EXPECT_FALSE(VerifyBoth(pre, e, *sig));
  }
}

// req: CC-FCS
TEST(Sm2Precomputed, AgreesWithVerifyDigestOnRandomSignatures) {
  constexpr int kKeys = 12, kSigsPerKey = 25;  // 300 signatures, each corrupted 4 ways
  auto other = PrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  auto other_pre = PrecomputedPublicKey::Build(other->public_key());
  for (int k = 0; k < kKeys; ++k) {
    auto key = PrivateKey::Generate();
    ASSERT_TRUE(key.ok());
    auto pre = PrecomputedPublicKey::Build(key->public_key());
    for (int i = 0; i < kSigsPerKey; ++i) {
      SCOPED_TRACE(::testing::Message() << "key " << k << " sig " << i);
      auto e = RandomBytes(32);
      ASSERT_TRUE(e.ok());
      if (i == 0) *e = Bytes(32, 0xff);  // e >= n is reduced
      auto sig = SignDigest(*key, *e);
      ASSERT_TRUE(sig.ok());
      EXPECT_TRUE(VerifyBoth(pre, *e, *sig));
      auto flip = RandomBytes(3);
      ASSERT_TRUE(flip.ok());
      const std::size_t byte = (*flip)[0] % 32;
      const auto mask = static_cast<std::uint8_t>(1u << ((*flip)[1] % 8));
      Signature bad_r = *sig, bad_s = *sig;
      bad_r.r[byte] ^= mask;
      bad_s.s[byte] ^= mask;
      EXPECT_FALSE(VerifyBoth(pre, *e, bad_r));
      EXPECT_FALSE(VerifyBoth(pre, *e, bad_s));
      Bytes bad_e = *e;
      bad_e[(*flip)[2] % 32] ^= mask;
      EXPECT_FALSE(VerifyBoth(pre, bad_e, *sig));
      EXPECT_FALSE(VerifyBoth(other_pre, *e, *sig));  // wrong key
    }
  }
}

// req: CC-FCS
TEST(Sm2Precomputed, RAndSEdgeValues) {
  auto key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  auto pre = PrecomputedPublicKey::Build(key->public_key());
  const U256 n = kOrderN.m;
  U256 n_minus_1, n_plus_1, top{{~u64{0}, ~u64{0}, ~u64{0}, ~u64{0}}};
  Sub4(n_minus_1, n, Small(1));
  Add4(n_plus_1, n, Small(1));
  const U256 values[] = {Small(0), Small(1), Small(2), n_minus_1, n, n_plus_1, top};
  Bytes e(32, 0x3c);
  for (const U256& r : values) {
    for (const U256& s : values) {
      VerifyBoth(pre, e, FromInts(r, s));
    }
  }
  // r + s = n (B5) is kBadSignature on both.
  Status st = VerifyDigestPrecomputed(pre, e, FromInts(Small(1), n_minus_1));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kBadSignature);
  EXPECT_FALSE(VerifyBoth(pre, e, FromInts(Small(1), n_minus_1)));
  // ... even when e makes s*G alone (t = 0 contributes nothing) satisfy B7.
  Bytes e_t0 = DigestMakingValid(key->public_key().point(), Small(1), n_minus_1);
  EXPECT_FALSE(VerifyBoth(pre, e_t0, FromInts(Small(1), n_minus_1)));
  // r = 0 and s = n are kBadSignature, as in VerifyDigest.
  st = VerifyDigestPrecomputed(pre, e, FromInts(Small(0), Small(5)));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kBadSignature);
  st = VerifyDigestPrecomputed(pre, e, FromInts(Small(5), n));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kBadSignature);
  // Extreme but valid r and s that do verify: e chosen to match.
  for (const auto& [r, s] : {std::pair{Small(1), Small(1)}, std::pair{n_minus_1, n_minus_1},
                             std::pair{Small(1), Small(2)}, std::pair{n_minus_1, Small(2)}}) {
    Bytes ok_e = DigestMakingValid(key->public_key().point(), r, s);
    EXPECT_TRUE(VerifyBoth(pre, ok_e, FromInts(r, s)));
  }
  // e of the wrong size is kInvalidArgument.
  st = VerifyDigestPrecomputed(pre, Bytes(31, 0), FromInts(Small(1), Small(2)));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
}

// Scalars with two nonzero digits in every window width used, on the keys G and -G, make the
// partial sums meet the table entries: s = 3 leaves 3*G before P's digits; t = 3 + 2^120 then
// adds 3*P first, which for P = G is a doubling (3G + 3G) and for P = -G gives infinity before
// the last digit (-2^120 G).
// req: CC-FCS
TEST(Sm2Precomputed, SpecialCasesOfTheFixedBaseSums) {
  const AffinePoint g = BasePoint();
  AffinePoint minus_g = g;
  FeNeg(minus_g.y, minus_g.y);
  for (const AffinePoint& q : {g, minus_g}) {
    auto pre = KeyFor(q);
    const U256 r = {{0, u64{1} << 56, 0, 0}}, s = Small(3);  // t = r + s = 2^120 + 3
    Bytes e = DigestMakingValid(q, r, s);
    EXPECT_TRUE(VerifyBoth(pre, e, FromInts(r, s)));
    e[0] ^= 0x80;
    EXPECT_FALSE(VerifyBoth(pre, e, FromInts(r, s)));
  }
  // s*G + t*P = infinity: P = G, s = n - 1, t = 1 (r = 2): kBadSignature on both.
  auto pre = KeyFor(g);
  U256 n_minus_1;
  Sub4(n_minus_1, kOrderN.m, Small(1));
  Status st = VerifyDigestPrecomputed(pre, Bytes(32, 0), FromInts(Small(2), n_minus_1));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kBadSignature);
  EXPECT_FALSE(VerifyBoth(pre, Bytes(32, 0), FromInts(Small(2), n_minus_1)));
}

// B7's second candidate: x1 in [n, p), so (e + x1) mod n = r needs x1 = c + n. Such points
// occur with probability 2^-128 for honest signatures; the test makes one: a point R with
// x >= n, and the key P = 2^-1 (R - G), so that s = 1, t = 2 (r = 1) give s*G + t*P = R.
// req: CC-FCS
TEST(Sm2Precomputed, X1AtLeastN) {
  // y = rhs^((p + 1) / 4) is a square root when rhs is a square (p = 3 mod 4).
  U256 exp;
  Add4(exp, kFieldP.m, Small(1));
  for (int i = 0; i < 4; ++i) exp.v[i] = (exp.v[i] >> 2) | (i < 3 ? exp.v[i + 1] << 62 : 0);
  AffinePoint r_pt{};
  bool found = false;
  for (u64 k = 0; k < 200 && !found; ++k) {
    U256 x_int;
    Add4(x_int, kOrderN.m, Small(k));  // n + k < p
    r_pt.x = FeFromInt(x_int);
    Fe rhs, t;
    FeSqr(rhs, r_pt.x);
    FeMul(rhs, rhs, r_pt.x);
    FeDbl(t, r_pt.x);
    FeAdd(t, t, r_pt.x);
    FeSub(rhs, rhs, t);
    FeAdd(rhs, rhs, CurveB());
    Fe y = FeOne();
    for (int bit = 255; bit >= 0; --bit) {
      FeSqr(y, y);
      if ((exp.v[bit / 64] >> (bit % 64)) & 1) FeMul(y, y, rhs);
    }
    r_pt.y = y;
    found = IsOnCurve(r_pt);
  }
  ASSERT_TRUE(found);
  // P = 2^-1 (R - G).
  AffinePoint minus_g = BasePoint();
  FeNeg(minus_g.y, minus_g.y);
  JacobianPoint diff;
  PointAddVartime(diff, ToJacobian(r_pt), ToJacobian(minus_g));
  AffinePoint diff_a, p_pt;
  ASSERT_EQ(PointToAffine(diff_a, diff), 0u);
  Sc half;
  ScInv(half, ScFromIntReduce(Small(2)));
  ASSERT_EQ(PointToAffine(p_pt, MulVartime(diff_a, ScToInt(half))), 0u);
  auto pre = KeyFor(p_pt);
  const U256 r = Small(1), s = Small(1);
  Bytes e = DigestMakingValid(p_pt, r, s);  // e = 1 - x(R) mod n
  EXPECT_TRUE(VerifyBoth(pre, e, FromInts(r, s)));
  e[31] ^= 1;
  EXPECT_FALSE(VerifyBoth(pre, e, FromInts(r, s)));
}

// Timing, not a check: run with --gtest_also_run_disabled_tests.
TEST(Sm2Precomputed, DISABLED_Benchmark) {
  using Clock = std::chrono::steady_clock;
  auto key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  Bytes e(32, 0x42);
  auto sig = SignDigest(*key, e);
  ASSERT_TRUE(sig.ok());
  auto warm = PrecomputedPublicKey::Build(key->public_key());
  const auto g0 = Clock::now();
  ASSERT_TRUE(VerifyDigestPrecomputed(warm, e, *sig).ok());  // builds the G table
  std::printf("first verification, with the G table build: %.1f ms\n",
              std::chrono::duration<double, std::milli>(Clock::now() - g0).count());

  // Best of several batches: the figure least disturbed by other load on the machine.
  constexpr int kBatches = 7, kBuilds = 50, kVerifies = 4000;
  auto best = [&](auto&& body, int count) {
    double best_us = 1e30;
    for (int b = 0; b < kBatches; ++b) {
      auto t0 = Clock::now();
      for (int i = 0; i < count; ++i) body();
      const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      best_us = std::min(best_us, us / count);
    }
    return best_us;
  };
  const double build_us = best(
      [&] {
        auto pre = PrecomputedPublicKey::Build(key->public_key());
        ASSERT_EQ(pre.public_key().ToPoint(), key->public_key().ToPoint());
      },
      kBuilds);
  const double pre_us =
      best([&] { ASSERT_TRUE(VerifyDigestPrecomputed(warm, e, *sig).ok()); }, kVerifies);
  const double plain_us =
      best([&] { ASSERT_TRUE(VerifyDigest(key->public_key(), e, *sig).ok()); }, kVerifies / 4);
  std::printf(
      "table build %.1f us (%zu bytes); precomputed verify %.2f us (%.0f/s); "
      "VerifyDigest %.2f us (%.0f/s)\n",
      build_us, PrecomputedPublicKey::TableBytes(), pre_us, 1e6 / pre_us, plain_us, 1e6 / plain_us);
}

}  // namespace
}  // namespace gmpki::crypto::sm2_engine
