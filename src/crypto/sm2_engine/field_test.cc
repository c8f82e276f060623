// Field (mod p) and scalar (mod n) arithmetic against OpenSSL BIGNUM on random inputs and the
// edge values 0, 1, p-1 / n-1.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "crypto/sm2_engine/fn.h"
#include "crypto/sm2_engine/fp.h"
#include "crypto/sm2_engine/safegcd.h"
#include "crypto/sm2_engine/test_util.h"

namespace gmpki::crypto::sm2_engine {
namespace {

using testing::BnPtr;
using testing::CtxPtr;
using testing::Equal;
using testing::FromBn;
using testing::RandomU256;
using testing::ToBn;

U256 MinusOne(const U256& m) {
  U256 r;
  Sub4(r, m, U256{{1, 0, 0, 0}});
  return r;
}

// Random values below m plus the edges 0, 1, m-1, m-2.
std::vector<U256> Inputs(const U256& m, int random_count) {
  std::vector<U256> v = {U256{{0, 0, 0, 0}}, U256{{1, 0, 0, 0}}, MinusOne(m),
                         MinusOne(MinusOne(m))};
  while (static_cast<int>(v.size()) < random_count + 4) {
    U256 x = RandomU256();
    if (MaskLess(x, m)) v.push_back(x);
  }
  return v;
}

struct Ops {
  U256 m;
  U256 (*from)(const U256&);
  U256 (*to)(const U256&);
  void (*add)(U256&, const U256&, const U256&);
  void (*sub)(U256&, const U256&, const U256&);
  void (*mul)(U256&, const U256&, const U256&);
  void (*inv)(U256&, const U256&);
};

Ops FieldOps() {
  return Ops{kFieldP.m,
             [](const U256& a) { return FeFromInt(a).m; },
             [](const U256& a) { return FeToInt(Fe{a}); },
             [](U256& r, const U256& a, const U256& b) { ModAdd<kFieldP>(r, a, b); },
             [](U256& r, const U256& a, const U256& b) { ModSub<kFieldP>(r, a, b); },
             [](U256& r, const U256& a, const U256& b) { MontMulP(r, a, b); },
             [](U256& r, const U256& a) {
               Fe out;
               FeInv(out, Fe{a});
               r = out.m;
             }};
}

Ops ScalarOps() {
  return Ops{kOrderN.m,
             [](const U256& a) { return ScFromIntReduce(a).m; },
             [](const U256& a) { return ScToInt(Sc{a}); },
             [](U256& r, const U256& a, const U256& b) { ModAdd<kOrderN>(r, a, b); },
             [](U256& r, const U256& a, const U256& b) { ModSub<kOrderN>(r, a, b); },
             [](U256& r, const U256& a, const U256& b) { MontMul<kOrderN>(r, a, b); },
             [](U256& r, const U256& a) {
               Sc out;
               ScInv(out, Sc{a});
               r = out.m;
             }};
}

void CheckAgainstBignum(const Ops& ops) {
  CtxPtr ctx(BN_CTX_new());
  BnPtr m = ToBn(ops.m);
  std::vector<U256> in = Inputs(ops.m, 200);
  for (std::size_t i = 0; i < in.size(); ++i) {
    const U256& a = in[i];
    const U256& b = in[(i * 7 + 3) % in.size()];
    BnPtr ba = ToBn(a), bb = ToBn(b), want(BN_new());
    U256 am = ops.from(a), bm = ops.from(b), r;
    ASSERT_TRUE(Equal(ops.to(am), a));  // round trip

    ops.add(r, am, bm);
    BN_mod_add(want.get(), ba.get(), bb.get(), m.get(), ctx.get());
    EXPECT_TRUE(Equal(ops.to(r), FromBn(want.get()))) << "add " << i;
    ops.sub(r, am, bm);
    BN_mod_sub(want.get(), ba.get(), bb.get(), m.get(), ctx.get());
    EXPECT_TRUE(Equal(ops.to(r), FromBn(want.get()))) << "sub " << i;
    ops.mul(r, am, bm);
    BN_mod_mul(want.get(), ba.get(), bb.get(), m.get(), ctx.get());
    EXPECT_TRUE(Equal(ops.to(r), FromBn(want.get()))) << "mul " << i;
    ops.mul(r, am, am);
    BN_mod_sqr(want.get(), ba.get(), m.get(), ctx.get());
    EXPECT_TRUE(Equal(ops.to(r), FromBn(want.get()))) << "sqr " << i;
    if (i % 4 == 0 || i < 4) {
      ops.inv(r, am);
      if (BN_is_zero(ba.get())) {
        EXPECT_TRUE(Equal(ops.to(r), U256{{0, 0, 0, 0}}));
      } else {
        ASSERT_NE(BN_mod_inverse(want.get(), ba.get(), m.get(), ctx.get()), nullptr);
        EXPECT_TRUE(Equal(ops.to(r), FromBn(want.get()))) << "inv " << i;
      }
    }
  }
}

// Runs body once on the portable path and, where the CPU has BMI2/ADX, once on the MULX/ADX
// path; restores the start-up choice afterwards.
template <typename F>
void ForEachBackend(F body) {
  const bool saved = EngineUsesAdx();
  for (bool adx : {false, true}) {
    if (adx && !CpuHasAdx()) continue;
    SetEngineUsesAdxForTesting(adx);
    SCOPED_TRACE(adx ? "adx" : "portable");
    body();
  }
  SetEngineUsesAdxForTesting(saved);
}

// req: CC-FCS
TEST(Sm2EngineField, MatchesBignumModP) {
  ForEachBackend([] { CheckAgainstBignum(FieldOps()); });
}

// req: CC-FCS
TEST(Sm2EngineScalar, MatchesBignumModN) {
  ForEachBackend([] { CheckAgainstBignum(ScalarOps()); });
}

// Inputs that drive every carry: all-ones limbs next to the modulus, values just below it, and
// random ones.
std::vector<U256> CarryHeavyInputs(const U256& m) {
  std::vector<U256> in = Inputs(m, 3000);
  for (u64 d = 1; d < 64; ++d) {
    U256 x;
    Sub4(x, m, U256{{d, 0, 0, 0}});
    in.push_back(x);
    Sub4(x, m, U256{{0, d << 32, 0, d}});
    if (MaskLess(x, m)) in.push_back(x);
  }
  in.push_back(U256{{~0ULL, ~0ULL, ~0ULL, 0}});
  in.push_back(U256{{~0ULL, 0, ~0ULL, 0xfffffffe00000000ULL}});
  return in;
}

// The MULX/ADX multiply and square, the portable squaring and the portable CIOS multiply give
// the same bits on the same inputs (mod p and mod n).
// req: CC-FCS
TEST(Sm2EngineField, AdxAndPortablePathsAgree) {
  for (const MontModulus* mod : {&kFieldP, &kOrderN}) {
    std::vector<U256> in = CarryHeavyInputs(mod->m);
    for (std::size_t i = 0; i < in.size(); ++i) {
      const U256& a = in[i];
      const U256& b = in[(i * 13 + 1) % in.size()];
      U256 want_mul, want_sqr, got;
      u64 t[8];
      if (mod == &kFieldP) {
        MontMulP(want_mul, a, b);
        MontMulP(want_sqr, a, a);
        MontSqrPPortable(got, a);
      } else {
        MontMul<kOrderN>(want_mul, a, b);
        MontMul<kOrderN>(want_sqr, a, a);
        SqrPortable512(t, a);
        Redc512(got, t, kOrderN);
      }
      ASSERT_TRUE(Equal(got, want_sqr)) << "portable sqr " << i;
      if (mod == &kFieldP) {  // FeAdd / FeSub (assembly on x86-64) against the generic code
        U256 want;
        Fe f;
        ModAdd<kFieldP>(want, a, b);
        FeAdd(f, Fe{a}, Fe{b});
        ASSERT_TRUE(Equal(f.m, want)) << "add " << i;
        ModSub<kFieldP>(want, a, b);
        FeSub(f, Fe{a}, Fe{b});
        ASSERT_TRUE(Equal(f.m, want)) << "sub " << i;
        ModSub<kFieldP>(want, b, a);
        FeSub(f, Fe{b}, Fe{a});
        ASSERT_TRUE(Equal(f.m, want)) << "sub' " << i;
      }
#if defined(GMPKI_SM2_HAVE_ADX_ASM)
      if (!CpuHasAdx()) continue;
      Mul512Adx(t, a, b);
      Redc512(got, t, *mod);
      ASSERT_TRUE(Equal(got, want_mul)) << "adx mul " << i;
      Sqr512Adx(t, a);
      Redc512(got, t, *mod);
      ASSERT_TRUE(Equal(got, want_sqr)) << "adx sqr " << i;
      if (mod == &kFieldP) {
        MontMulPAdx(got, a, b);
        ASSERT_TRUE(Equal(got, want_mul)) << "adx mul p " << i;
        MontSqrPAdx(got, a);
        ASSERT_TRUE(Equal(got, want_sqr)) << "adx sqr p " << i;
      }
#endif
    }
  }
}

// The shift-based reduction for p agrees with the generic Montgomery reduction, including
// operands next to p where the final subtraction and every carry are exercised.
// req: CC-FCS
TEST(Sm2EngineField, SpecialisedReductionMatchesGeneric) {
  std::vector<U256> in = Inputs(kFieldP.m, 2000);
  for (std::size_t i = 0; i < in.size(); ++i) {
    const U256& a = in[i];
    const U256& b = in[(i * 13 + 1) % in.size()];
    U256 x, y;
    MontMulP(x, a, b);
    MontMul<kFieldP>(y, a, b);
    ASSERT_TRUE(Equal(x, y)) << i;
  }
}

// req: CC-FCS
TEST(Sm2EngineField, BytesReduceAndStrictParse) {
  std::uint8_t b[32];
  // p itself: the strict parser rejects it, the reducing one maps it to 0.
  ToBe32(kFieldP.m, b);
  Fe f;
  EXPECT_FALSE(FeFromBytesStrict(f, b));
  EXPECT_NE(FeIsZeroMask(FeFromBytesReduce(b)), 0u);
  // 2^256 - 1 reduces to 2^256 - 1 - p.
  for (auto& x : b) x = 0xff;
  EXPECT_FALSE(FeFromBytesStrict(f, b));
  U256 all_ones{{~0ULL, ~0ULL, ~0ULL, ~0ULL}}, want;
  Sub4(want, all_ones, kFieldP.m);
  EXPECT_TRUE(Equal(FeToInt(FeFromBytesReduce(b)), want));
  // p - 1 is accepted and round-trips through bytes.
  ToBe32(MinusOne(kFieldP.m), b);
  ASSERT_TRUE(FeFromBytesStrict(f, b));
  std::uint8_t out[32];
  FeToBytes(out, f);
  EXPECT_EQ(0, std::memcmp(out, b, 32));
  // Scalars: n reduces to 0 and n - 1 is in range, n and 0 are not.
  ToBe32(kOrderN.m, b);
  EXPECT_NE(ScIsZeroMask(ScFromBytesReduce(b)), 0u);
  EXPECT_EQ(ScInRangeMask(kOrderN.m), 0u);
  EXPECT_EQ(ScInRangeMask(U256{{0, 0, 0, 0}}), 0u);
  EXPECT_NE(ScInRangeMask(MinusOne(kOrderN.m)), 0u);
}

// req: CC-FCS
TEST(Sm2EngineField, SelectAndMasks) {
  Fe a = FeFromInt(U256{{5, 0, 0, 0}}), b = FeFromInt(U256{{7, 0, 0, 0}}), r;
  FeSelect(r, 0, a, b);
  EXPECT_NE(FeEqualMask(r, a), 0u);
  FeSelect(r, ~0ULL, a, b);
  EXPECT_NE(FeEqualMask(r, b), 0u);
  EXPECT_EQ(FeEqualMask(a, b), 0u);
  EXPECT_EQ(MaskIsZero64(1ULL << 63), 0u);
  EXPECT_EQ(MaskIsZero64(0), ~0ULL);
}

// safegcd inversion (FeInv / ScInv) against the Fermat reference on carry-heavy inputs, and
// x * x^-1 = 1 for every nonzero input.
// req: CC-FCS
TEST(Sm2EngineField, SafegcdInverseMatchesFermat) {
  for (const U256& a : CarryHeavyInputs(kFieldP.m)) {
    Fe x{FeFromInt(a)}, inv, ref, one;
    FeInv(inv, x);
    FeInvFermat(ref, x);
    ASSERT_TRUE(Equal(inv.m, ref.m)) << "p";
    if (FeIsZeroMask(x)) continue;
    FeMul(one, inv, x);
    ASSERT_NE(FeEqualMask(one, FeOne()), 0u);
  }
  for (const U256& a : CarryHeavyInputs(kOrderN.m)) {
    Sc x = ScFromIntReduce(a), inv, ref, one;
    ScInv(inv, x);
    ScInvFermat(ref, x);
    ASSERT_TRUE(Equal(inv.m, ref.m)) << "n";
    if (ScIsZeroMask(x)) continue;
    ScMul(one, inv, x);
    ASSERT_TRUE(Equal(one.m, ScOne().m));
  }
}

// FeHalf (the doubling's 8 Y^4 = (2Y)^4 / 2): a / 2 mod p against BIGNUM (a * (p + 1) / 2).
// req: CC-FCS
TEST(Sm2EngineField, HalfMatchesBignum) {
  CtxPtr ctx(BN_CTX_new());
  BnPtr p = ToBn(kFieldP.m), half_inv(BN_new()), expect(BN_new());
  BN_add_word(half_inv.get(), 2);
  ASSERT_NE(BN_mod_inverse(half_inv.get(), half_inv.get(), p.get(), ctx.get()), nullptr);
  for (const U256& a : Inputs(kFieldP.m, 200)) {
    Fe h;
    FeHalf(h, FeFromInt(a));
    BnPtr ab = ToBn(a);
    ASSERT_EQ(BN_mod_mul(expect.get(), ab.get(), half_inv.get(), p.get(), ctx.get()), 1);
    EXPECT_TRUE(Equal(FeToInt(h), FromBn(expect.get())));
    Fe back;
    FeDbl(back, h);
    EXPECT_TRUE(Equal(FeToInt(back), a));
  }
}

// The variable-time safegcd (verification's batched inversion) against the constant-time one,
// for p and n, on carry-heavy and random inputs (many random ones exercise the zero-run and
// bit-cancelling steps with every pattern of low bits), 0 included.
// req: CC-FCS
TEST(Sm2EngineField, VartimeSafegcdMatchesConstantTime) {
  for (const U256* m : {&kFieldP.m, &kOrderN.m}) {
    const SafegcdModulus mod = MakeSafegcdModulus(*m);
    std::vector<U256> inputs = CarryHeavyInputs(*m);
    for (const U256& a : Inputs(*m, 2000)) inputs.push_back(a);
    for (const U256& a : inputs) {
      ASSERT_TRUE(Equal(SafegcdInverseVartime(a, mod), SafegcdInverse(a, mod)));
    }
  }
  for (const U256& a : Inputs(kFieldP.m, 100)) {
    Fe x = FeFromInt(a), inv, ref;
    FeInvVartime(inv, x);
    FeInv(ref, x);
    ASSERT_TRUE(Equal(inv.m, ref.m));
  }
}

}  // namespace
}  // namespace gmpki::crypto::sm2_engine
