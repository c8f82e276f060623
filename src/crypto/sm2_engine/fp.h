// Arithmetic in GF(p) for SM2's p = 2^256 - 2^224 - 2^96 + 2^64 - 1 (GB/T 32918.5-2017
// section 3, recommended curve parameters). Elements are kept in Montgomery form x*R mod p,
// R = 2^256, always fully reduced (< p), so equality and zero tests are limb comparisons.
// Because p = -1 mod 2^64, -p^-1 mod 2^64 = 1 and the Montgomery reduction needs no multiply
// by n0.
//
// Every function here runs in constant time in its inputs, FeInv included (a fixed addition
// chain for p - 2, Fermat's little theorem).
#pragma once

#include <cstdint>

#include "crypto/sm2_engine/mont256.h"

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

inline void FeAdd(Fe& r, const Fe& a, const Fe& b) { ModAdd<kFieldP>(r.m, a.m, b.m); }
inline void FeSub(Fe& r, const Fe& a, const Fe& b) { ModSub<kFieldP>(r.m, a.m, b.m); }
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

inline void FeMul(Fe& r, const Fe& a, const Fe& b) { MontMulP(r.m, a.m, b.m); }
inline void FeSqr(Fe& r, const Fe& a) { MontMulP(r.m, a.m, a.m); }
inline void FeNeg(Fe& r, const Fe& a) { ModSub<kFieldP>(r.m, U256{{0, 0, 0, 0}}, a.m); }
inline void FeDbl(Fe& r, const Fe& a) { ModAdd<kFieldP>(r.m, a.m, a.m); }

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
  for (int i = 0; i < k; ++i) FeSqr(r, r);
}

// r = a^-1 = a^(p-2); r = 0 when a = 0.
void FeInv(Fe& r, const Fe& a);

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
