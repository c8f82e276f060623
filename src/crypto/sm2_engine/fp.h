// Arithmetic in GF(p) for SM2's p = 2^256 - 2^224 - 2^96 + 2^64 - 1 (GB/T 32918.5-2017
// section 3, recommended curve parameters). Elements are kept in Montgomery form x*R mod p,
// R = 2^256, always fully reduced (< p), so equality and zero tests are limb comparisons.
// Because p = -1 mod 2^64, -p^-1 mod 2^64 = 1 and the Montgomery reduction needs no multiply
// by n0.
//
// Every function here runs in constant time in its inputs, FeInv included (safegcd with a fixed
// number of divsteps).
#pragma once

#include <cstdint>

#include "crypto/sm2_engine/mont256.h"
#include "crypto/sm2_engine/mulx256.h"

namespace gmpki::crypto::sm2_engine {

inline constexpr MontModulus kFieldP = {
    {{0xffffffffffffffffULL, 0xffffffff00000000ULL, 0xffffffffffffffffULL, 0xfffffffeffffffffULL}},
    1,
    {{0x0000000200000003ULL, 0x00000002ffffffffULL, 0x0000000100000001ULL, 0x0000000400000002ULL}},
    {{0x0000000000000001ULL, 0x00000000ffffffffULL, 0x0000000000000000ULL, 0x0000000100000000ULL}},
};

// A field element in Montgomery form.
struct Fe {
  U256 m;
};

inline Fe FeZero() { return Fe{{{0, 0, 0, 0}}}; }
inline Fe FeOne() { return Fe{kFieldP.one}; }

#if defined(GMPKI_SM2_HAVE_ADX_ASM)
// Addition and subtraction mod p in x86-64 base instructions (add/adc/sbb/cmov; no BMI2 or
// ADX needed, so no run-time choice): GCC materialises the carries of the portable
// ModAdd / ModSub chains with setb/add pairs, which nearly doubles their length. Same results
// as ModAdd<kFieldP> / ModSub<kFieldP> (tested); constant time (cmov, no branch).
inline void FeAddAsm(U256& r, const U256& a, const U256& b) {
  u64 a0 = a.v[0], a1 = a.v[1], a2 = a.v[2], a3 = a.v[3], t0, t1, t2, t3, c;
  asm("xorl %k[c], %k[c]\n\t"
      "addq 0(%[b]), %[a0]\n\t"
      "adcq 8(%[b]), %[a1]\n\t"
      "adcq 16(%[b]), %[a2]\n\t"
      "adcq 24(%[b]), %[a3]\n\t"
      "adcq $0, %[c]\n\t"
      "movq %[a0], %[t0]\n\t"
      "movq %[a1], %[t1]\n\t"
      "movq %[a2], %[t2]\n\t"
      "movq %[a3], %[t3]\n\t"
      "subq $-1, %[t0]\n\t"  // p0 = 2^64 - 1 (sign-extended immediate)
      "sbbq %[p1], %[t1]\n\t"
      "sbbq $-1, %[t2]\n\t"  // p2 = 2^64 - 1
      "sbbq %[p3], %[t3]\n\t"
      "sbbq $0, %[c]\n\t"  // CF: the sum was below p, keep it
      "cmovcq %[a0], %[t0]\n\t"
      "cmovcq %[a1], %[t1]\n\t"
      "cmovcq %[a2], %[t2]\n\t"
      "cmovcq %[a3], %[t3]\n\t"
      : [a0] "+&r"(a0), [a1] "+&r"(a1), [a2] "+&r"(a2), [a3] "+&r"(a3), [t0] "=&r"(t0),
        [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [c] "=&r"(c)
      : [b] "r"(b.v) GMPKI_SM2_MEM_IN(b.v, 4),
        [p1] "r"(0xffffffff00000000ULL), [p3] "r"(0xfffffffeffffffffULL)
      : "cc" GMPKI_SM2_MEM_CLOBBER);
  r.v[0] = t0;
  r.v[1] = t1;
  r.v[2] = t2;
  r.v[3] = t3;
}

inline void FeSubAsm(U256& r, const U256& a, const U256& b) {
  u64 d0 = a.v[0], d1 = a.v[1], d2 = a.v[2], d3 = a.v[3], m, m1, m3;
  asm("subq 0(%[b]), %[d0]\n\t"
      "sbbq 8(%[b]), %[d1]\n\t"
      "sbbq 16(%[b]), %[d2]\n\t"
      "sbbq 24(%[b]), %[d3]\n\t"
      "sbbq %[m], %[m]\n\t"  // all-ones on borrow: add p back
      "movq %[m], %[m1]\n\t"
      "movq %[m], %[m3]\n\t"
      "andq %[p1], %[m1]\n\t"
      "andq %[p3], %[m3]\n\t"
      "addq %[m], %[d0]\n\t"
      "adcq %[m1], %[d1]\n\t"
      "adcq %[m], %[d2]\n\t"
      "adcq %[m3], %[d3]\n\t"
      : [d0] "+&r"(d0), [d1] "+&r"(d1), [d2] "+&r"(d2), [d3] "+&r"(d3), [m] "=&r"(m),
        [m1] "=&r"(m1), [m3] "=&r"(m3)
      : [b] "r"(b.v) GMPKI_SM2_MEM_IN(b.v, 4),
        [p1] "r"(0xffffffff00000000ULL), [p3] "r"(0xfffffffeffffffffULL)
      : "cc" GMPKI_SM2_MEM_CLOBBER);
  r.v[0] = d0;
  r.v[1] = d1;
  r.v[2] = d2;
  r.v[3] = d3;
}

inline void FeAdd(Fe& r, const Fe& a, const Fe& b) { FeAddAsm(r.m, a.m, b.m); }
inline void FeSub(Fe& r, const Fe& a, const Fe& b) { FeSubAsm(r.m, a.m, b.m); }
#else
inline void FeAdd(Fe& r, const Fe& a, const Fe& b) { ModAdd<kFieldP>(r.m, a.m, b.m); }
inline void FeSub(Fe& r, const Fe& a, const Fe& b) { ModSub<kFieldP>(r.m, a.m, b.m); }
#endif
// Montgomery multiplication specialised to p: with n0 = 1 the quotient digit is m = t0, and
// m*p = m*2^256 - m*2^224 - m*2^96 + m*2^64 - m, so (t + m*p) / 2^64 is t / 2^64 plus
// A - B with A = m*2^192 + m and B = m*2^160 + m*2^32: shifts instead of four multiplies.
inline void MontMulP(U256& r, const U256& a, const U256& b) {
  u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0;
  for (int i = 0; i < 4; ++i) {
    u64 row[5];
    const u64 t5 = MulAccRow(t0, t1, t2, t3, t4, row, a.v, b.v[i]);
    const u64 m = t0, lo = m << 32, hi = m >> 32;
    unsigned char br = 0;  // A >= B, so the chain ends without a borrow
    const u64 d0 = Sbb(m, lo, br), d1 = Sbb(0, hi, br), d2 = Sbb(0, lo, br), d3 = Sbb(m, hi, br);
    unsigned char c = 0;
    t0 = Adc(t1, d0, c);
    t1 = Adc(t2, d1, c);
    t2 = Adc(t3, d2, c);
    t3 = Adc(t4, d3, c);
    t4 = t5 + c;
  }
  SubtractIfAtLeast(r, U256{{t0, t1, t2, t3}}, t4, kFieldP.m);
}

// Run-time choice of the multiplication code: true when the CPU has BMI2 and ADX (CPUID,
// checked once during static initialisation in fp.cc) and GMPKI_SM2_NO_ADX is not set in the
// environment. Both paths give identical results; code running before the flag is set uses
// the portable path. The flag is public (a property of the machine), so branching on it
// leaks nothing.
extern bool g_sm2_use_adx;
inline bool EngineUsesAdx() { return g_sm2_use_adx; }
// True when the CPU supports the BMI2/ADX path (whatever the flag says).
bool CpuHasAdx();
// For tests and benchmarks: selects the ADX path (only if CpuHasAdx()) or the portable one.
// Not thread-safe against concurrent arithmetic; call it before starting threads.
void SetEngineUsesAdxForTesting(bool on);

// Portable squaring: the six cross products once, doubled, then the squares, reduced by
// RedcP512 (mulx256.h). About 25% fewer multiplications than MontMulP(a, a).
inline void SqrPortable512(u64 t[8], const U256& a) {
  const u64* x = a.v;
  // Cross products x_i x_j, i < j, accumulated into t[1..6].
  u128 p01 = static_cast<u128>(x[0]) * x[1], p02 = static_cast<u128>(x[0]) * x[2];
  u128 p03 = static_cast<u128>(x[0]) * x[3], p12 = static_cast<u128>(x[1]) * x[2];
  u128 p13 = static_cast<u128>(x[1]) * x[3], p23 = static_cast<u128>(x[2]) * x[3];
  unsigned char c = 0;
  u64 t1 = static_cast<u64>(p01);
  u64 t2 = Adc(static_cast<u64>(p01 >> 64), static_cast<u64>(p02), c);
  u64 t3 = Adc(static_cast<u64>(p02 >> 64), static_cast<u64>(p03), c);
  u64 t4 = Adc(static_cast<u64>(p03 >> 64), 0, c);
  c = 0;
  t3 = Adc(t3, static_cast<u64>(p12), c);
  t4 = Adc(t4, static_cast<u64>(p12 >> 64), c);
  u64 t5 = Adc(static_cast<u64>(p13 >> 64), 0, c);
  c = 0;
  t4 = Adc(t4, static_cast<u64>(p13), c);
  t5 = Adc(t5, static_cast<u64>(p23), c);
  u64 t6 = Adc(static_cast<u64>(p23 >> 64), 0, c);
  // Double: the bit shifted out of t6 becomes t7.
  const u64 t7 = t6 >> 63;
  t6 = (t6 << 1) | (t5 >> 63);
  t5 = (t5 << 1) | (t4 >> 63);
  t4 = (t4 << 1) | (t3 >> 63);
  t3 = (t3 << 1) | (t2 >> 63);
  t2 = (t2 << 1) | (t1 >> 63);
  t1 <<= 1;
  const u128 s0 = static_cast<u128>(x[0]) * x[0], s1 = static_cast<u128>(x[1]) * x[1];
  const u128 s2 = static_cast<u128>(x[2]) * x[2], s3 = static_cast<u128>(x[3]) * x[3];
  c = 0;
  t[0] = static_cast<u64>(s0);
  t[1] = Adc(t1, static_cast<u64>(s0 >> 64), c);
  t[2] = Adc(t2, static_cast<u64>(s1), c);
  t[3] = Adc(t3, static_cast<u64>(s1 >> 64), c);
  t[4] = Adc(t4, static_cast<u64>(s2), c);
  t[5] = Adc(t5, static_cast<u64>(s2 >> 64), c);
  t[6] = Adc(t6, static_cast<u64>(s3), c);
  t[7] = Adc(t7, static_cast<u64>(s3 >> 64), c);
}

// The two squaring paths as named functions, so the tests can compare them directly.
inline void MontSqrPPortable(U256& r, const U256& a) {
  u64 t[8];
  SqrPortable512(t, a);
  RedcP512(r, t);
}

#if defined(GMPKI_SM2_HAVE_ADX_ASM)
inline void MontMulPAdx(U256& r, const U256& a, const U256& b) { MontMulPAsm(r, a, b); }
inline void MontSqrPAdx(U256& r, const U256& a) { MontSqrPAsm(r, a); }
#endif

// Out-of-line portable paths (fp.cc), so that FeMul / FeSqr stay small enough to inline.
void FeMulPortable(Fe& r, const Fe& a, const Fe& b);
void FeSqrPortable(Fe& r, const Fe& a);

// FeMulI / FeSqrI inline the multiplication into the caller; FeMul / FeSqr are out-of-line
// calls to them. Measured on x86-64 with the assembly path: inlined into the mixed addition
// (signing's loop) it is ~10% faster, inlined into the doubling ~15% slower (the 13-register
// assembly blocks force spills among the doubling's live values), so point.cc inlines it in the
// mixed addition only, and FeSqrN (the inversion reference) uses FeSqrI.
inline void FeMulI(Fe& r, const Fe& a, const Fe& b) {
#if defined(GMPKI_SM2_HAVE_ADX_ASM)
  if (__builtin_expect(g_sm2_use_adx, 1)) {
    MontMulPAsm(r.m, a.m, b.m);
    return;
  }
#endif
  FeMulPortable(r, a, b);
}
inline void FeSqrI(Fe& r, const Fe& a) {
#if defined(GMPKI_SM2_HAVE_ADX_ASM)
  if (__builtin_expect(g_sm2_use_adx, 1)) {
    MontSqrPAsm(r.m, a.m);
    return;
  }
#endif
  FeSqrPortable(r, a);
}
void FeMul(Fe& r, const Fe& a, const Fe& b);
void FeSqr(Fe& r, const Fe& a);
inline void FeNeg(Fe& r, const Fe& a) { FeSub(r, FeZero(), a); }
// r = a / 2 mod p: a + p when a is odd (by mask, no branch), then one right shift with the
// carry of the addition as bit 255. The result is below p: (a + p) / 2 < p for a < p.
inline void FeHalf(Fe& r, const Fe& a) {
  const u64 mask = 0 - (a.m.v[0] & 1);
  unsigned char c = 0;
  const u64 t0 = Adc(a.m.v[0], kFieldP.m.v[0] & mask, c);
  const u64 t1 = Adc(a.m.v[1], kFieldP.m.v[1] & mask, c);
  const u64 t2 = Adc(a.m.v[2], kFieldP.m.v[2] & mask, c);
  const u64 t3 = Adc(a.m.v[3], kFieldP.m.v[3] & mask, c);
  r.m.v[0] = (t0 >> 1) | (t1 << 63);
  r.m.v[1] = (t1 >> 1) | (t2 << 63);
  r.m.v[2] = (t2 >> 1) | (t3 << 63);
  r.m.v[3] = (t3 >> 1) | (static_cast<u64>(c) << 63);
}
inline void FeDbl(Fe& r, const Fe& a) { FeAdd(r, a, a); }

// All-ones when a == 0 (a fully reduced element).
inline u64 FeIsZeroMask(const Fe& a) { return MaskIsZero(a.m); }
inline u64 FeEqualMask(const Fe& a, const Fe& b) {
  return MaskIsZero64((a.m.v[0] ^ b.m.v[0]) | (a.m.v[1] ^ b.m.v[1]) | (a.m.v[2] ^ b.m.v[2]) |
                      (a.m.v[3] ^ b.m.v[3]));
}
// r = mask ? b : a.
inline void FeSelect(Fe& r, u64 mask, const Fe& a, const Fe& b) { Select(r.m, mask, a.m, b.m); }

// r = a^(2^k), k squarings.
inline void FeSqrN(Fe& r, const Fe& a, int k) {
  r = a;
  for (int i = 0; i < k; ++i) FeSqrI(r, r);
}

// r = a^-1; r = 0 when a = 0. Bernstein-Yang safegcd (safegcd.h), constant time, about twice
// as fast as FeInvFermat, the fixed addition chain for a^(p-2) kept as the tests' reference.
void FeInv(Fe& r, const Fe& a);
void FeInvFermat(Fe& r, const Fe& a);
// FeInv in variable time (SafegcdInverseVartime): public values only (verification).
void FeInvVartime(Fe& r, const Fe& a);

// 32 big-endian bytes, reduced mod p (values in [p, 2^256) wrap), to Montgomery form.
Fe FeFromBytesReduce(const std::uint8_t in[32]);
// 32 big-endian bytes to Montgomery form; returns false (and leaves r unspecified) if the value
// is not below p. Used for public inputs (point coordinates), where rejecting is the rule.
bool FeFromBytesStrict(Fe& r, const std::uint8_t in[32]);
// The canonical 32 big-endian bytes of a (out of Montgomery form).
void FeToBytes(std::uint8_t out[32], const Fe& a);

// Plain integer (not Montgomery) limbs of a, fully reduced.
U256 FeToInt(const Fe& a);
Fe FeFromInt(const U256& a);  // REQUIRES: a < p

}  // namespace gmpki::crypto::sm2_engine
