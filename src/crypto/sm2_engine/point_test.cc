// Point arithmetic and scalar multiplication against OpenSSL's EC_POINT_mul on sm2p256v1.
#include "crypto/sm2_engine/point.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include <memory>

#include "crypto/sm2_engine/test_util.h"

namespace gmpki::crypto::sm2_engine {
namespace {

using testing::BnPtr;
using testing::CtxPtr;
using testing::Equal;
using testing::RandomU256;

U256 RandomU256Below(const U256& m) {
  for (;;) {
    U256 x = RandomU256();
    if (MaskLess(x, m)) return x;
  }
}
using testing::ToBn;

struct GroupFree {
  void operator()(EC_GROUP* g) const { EC_GROUP_free(g); }
};
struct PointFree {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};

// k*G from OpenSSL as 04 || X || Y, or an empty array for infinity.
std::array<std::uint8_t, 65> OpensslMulBase(const U256& k) {
  std::unique_ptr<EC_GROUP, GroupFree> g(EC_GROUP_new_by_curve_name(NID_sm2));
  std::unique_ptr<EC_POINT, PointFree> p(EC_POINT_new(g.get()));
  CtxPtr ctx(BN_CTX_new());
  BnPtr kb = ToBn(k);
  EC_POINT_mul(g.get(), p.get(), kb.get(), nullptr, nullptr, ctx.get());
  std::array<std::uint8_t, 65> out{};
  if (EC_POINT_is_at_infinity(g.get(), p.get())) return out;
  EC_POINT_point2oct(g.get(), p.get(), POINT_CONVERSION_UNCOMPRESSED, out.data(), 65, ctx.get());
  return out;
}

std::array<std::uint8_t, 65> Encode(const JacobianPoint& p) {
  std::array<std::uint8_t, 65> out{};
  AffinePoint a;
  if (PointToAffine(a, p)) return out;
  out[0] = 0x04;
  FeToBytes(out.data() + 1, a.x);
  FeToBytes(out.data() + 33, a.y);
  return out;
}

U256 Sub1(const U256& a) {
  U256 r;
  Sub4(r, a, U256{{1, 0, 0, 0}});
  return r;
}

// req: CC-FCS
TEST(Sm2EnginePoint, GeneratorOnCurveAndOrder) {
  EXPECT_TRUE(IsOnCurve(BasePoint()));
  AffinePoint bad = BasePoint();
  FeAdd(bad.y, bad.y, FeOne());
  EXPECT_FALSE(IsOnCurve(bad));

  JacobianPoint r;
  ScalarMulBase(r, kOrderN.m);  // n*G = infinity
  EXPECT_NE(IsInfinityMask(r), 0u);
  ScalarMulBase(r, U256{{0, 0, 0, 0}});
  EXPECT_NE(IsInfinityMask(r), 0u);

  // (n-1)*G = -G.
  ScalarMulBase(r, Sub1(kOrderN.m));
  AffinePoint a;
  ASSERT_EQ(PointToAffine(a, r), 0u);
  Fe neg_gy;
  FeNeg(neg_gy, BasePoint().y);
  EXPECT_NE(FeEqualMask(a.x, BasePoint().x), 0u);
  EXPECT_NE(FeEqualMask(a.y, neg_gy), 0u);

  // 1*G = G.
  ScalarMulBase(r, U256{{1, 0, 0, 0}});
  ASSERT_EQ(PointToAffine(a, r), 0u);
  EXPECT_NE(FeEqualMask(a.x, BasePoint().x), 0u);
}

// req: CC-FCS
TEST(Sm2EnginePoint, AdditionSpecialCases) {
  JacobianPoint g = ToJacobian(BasePoint()), inf = Infinity(), r, dbl;
  PointDouble(dbl, g);
  PointAdd(r, g, g);  // a = b goes through the doubling
  EXPECT_EQ(Encode(r), Encode(dbl));
  PointAdd(r, inf, g);
  EXPECT_EQ(Encode(r), Encode(g));
  PointAdd(r, g, inf);
  EXPECT_EQ(Encode(r), Encode(g));
  PointAdd(r, inf, inf);
  EXPECT_NE(IsInfinityMask(r), 0u);
  JacobianPoint neg = g;
  FeNeg(neg.y, neg.y);
  PointAdd(r, g, neg);
  EXPECT_NE(IsInfinityMask(r), 0u);
  PointAddVartime(r, g, g);
  EXPECT_EQ(Encode(r), Encode(dbl));
  PointAddVartime(r, g, neg);
  EXPECT_NE(IsInfinityMask(r), 0u);
  PointAddMixed(r, inf, BasePoint(), 0);
  EXPECT_EQ(Encode(r), Encode(g));
  PointAddMixed(r, dbl, BasePoint(), ~0ULL);  // b = infinity leaves a
  EXPECT_EQ(Encode(r), Encode(dbl));
  // 3G two ways: dbl + G (mixed) and G + 2G (full, non-unit Z on both sides).
  JacobianPoint t1, t2;
  PointAddMixed(t1, dbl, BasePoint(), 0);
  PointAdd(t2, g, dbl);
  EXPECT_EQ(Encode(t1), Encode(t2));
  EXPECT_EQ(Encode(t1), OpensslMulBase(U256{{3, 0, 0, 0}}));
  // The top window: k = 2^256 and 2^257 mod n are the values whose last addition in
  // ScalarMulBase is a doubling (the window sum equals the top digit's point).
  CtxPtr ctx(BN_CTX_new());
  BnPtr n = ToBn(kOrderN.m);
  for (int bit : {256, 257}) {
    BnPtr pow2(BN_new()), k(BN_new());
    BN_set_bit(pow2.get(), bit);
    BN_mod(k.get(), pow2.get(), n.get(), ctx.get());
    U256 kk = testing::FromBn(k.get());
    ScalarMulBase(r, kk);
    EXPECT_EQ(Encode(r), OpensslMulBase(kk)) << bit;
  }
}

// req: CC-FCS
TEST(Sm2EnginePoint, ScalarMulBaseMatchesOpenssl) {
  for (int i = 0; i < 200; ++i) {
    U256 k = RandomU256();
    if (i == 0) k = U256{{~0ULL, ~0ULL, ~0ULL, ~0ULL}};  // above n: reduced implicitly
    if (i == 1) k = U256{{0, 0, 0, 1ULL << 63}};
    if (i == 2)
      k = U256{{0x8888888888888888ULL, 0x8888888888888888ULL, 0x8888888888888888ULL,
                0x8888888888888888ULL}};
    if (i >= 3 && i <= 7) {  // n - 1, n, n + 1 (top digit wraps past n), 0, 1
      const u64 delta[] = {~0ULL, 0, 1};
      if (i <= 5) {
        Add4(k, kOrderN.m, U256{{delta[i - 3], delta[i - 3] == ~0ULL ? ~0ULL : 0,
                                 delta[i - 3] == ~0ULL ? ~0ULL : 0,
                                 delta[i - 3] == ~0ULL ? ~0ULL : 0}});
      } else {
        k = U256{{static_cast<u64>(i - 6), 0, 0, 0}};
      }
    }
    JacobianPoint r;
    ScalarMulBase(r, k);
    EXPECT_EQ(Encode(r), OpensslMulBase(k)) << "case " << i;
  }
}

// req: CC-FCS
TEST(Sm2EnginePoint, DoubleScalarMatchesOpenssl) {
  std::unique_ptr<EC_GROUP, GroupFree> g(EC_GROUP_new_by_curve_name(NID_sm2));
  CtxPtr ctx(BN_CTX_new());
  for (int i = 0; i < 50; ++i) {
    U256 d = RandomU256(), u1 = RandomU256(), u2 = RandomU256();
    if (i == 0) u1 = U256{{0, 0, 0, 0}};
    if (i == 1) u2 = U256{{0, 0, 0, 0}};
    JacobianPoint qj;
    ScalarMulBase(qj, d);
    AffinePoint q;
    ASSERT_EQ(PointToAffine(q, qj), 0u);
    JacobianPoint r;
    DoubleScalarMulVartime(r, u1, u2, q);

    std::unique_ptr<EC_POINT, PointFree> oq(EC_POINT_new(g.get())), out(EC_POINT_new(g.get()));
    std::array<std::uint8_t, 65> qbytes = Encode(qj);
    ASSERT_EQ(EC_POINT_oct2point(g.get(), oq.get(), qbytes.data(), 65, ctx.get()), 1);
    BnPtr b1 = ToBn(u1), b2 = ToBn(u2);
    ASSERT_EQ(EC_POINT_mul(g.get(), out.get(), b1.get(), oq.get(), b2.get(), ctx.get()), 1);
    std::array<std::uint8_t, 65> want{};
    if (!EC_POINT_is_at_infinity(g.get(), out.get())) {
      EC_POINT_point2oct(g.get(), out.get(), POINT_CONVERSION_UNCOMPRESSED, want.data(), 65,
                         ctx.get());
    }
    EXPECT_EQ(Encode(r), want) << "case " << i;
  }
}

// The vectorised constant-time lookup returns exactly entry mag - 1, and zeros for mag = 0, on
// the path the CPU takes and on the one without AVX-512.
// req: CC-FCS
TEST(Sm2EnginePoint, ConstantTimeLookupSelectsTheEntry) {
  AffinePoint entries[64];
  for (int j = 0; j < 64; ++j) {
    entries[j].x = FeFromInt(RandomU256Below(kFieldP.m));
    entries[j].y = FeFromInt(RandomU256Below(kFieldP.m));
  }
  for (auto* lookup : {&LookupCt, &LookupCtNoAvx512}) {
    for (unsigned mag = 0; mag <= 64; ++mag) {
      AffinePoint r;
      lookup(r, entries, mag);
      if (mag == 0) {
        EXPECT_NE(FeIsZeroMask(r.x) & FeIsZeroMask(r.y), 0u);
      } else {
        EXPECT_TRUE(Equal(r.x.m, entries[mag - 1].x.m)) << mag;
        EXPECT_TRUE(Equal(r.y.m, entries[mag - 1].y.m)) << mag;
      }
    }
  }
}

}  // namespace
}  // namespace gmpki::crypto::sm2_engine
