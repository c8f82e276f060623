// Arithmetic modulo SM2's group order n (GB/T 32918.5-2017 section 3). Scalars are kept in
// Montgomery form s*R mod n, R = 2^256, fully reduced. All functions run in constant time.
#pragma once

#include <cstdint>

#include "crypto/sm2_engine/fp.h"
#include "crypto/sm2_engine/mont256.h"

namespace gmpki::crypto::sm2_engine {

inline constexpr MontModulus kOrderN = {
    {{0x53bbf40939d54123ULL, 0x7203df6b21c6052bULL, 0xffffffffffffffffULL, 0xfffffffeffffffffULL}},
    0x327f9e8872350975ULL,
    {{0x901192af7c114f20ULL, 0x3464504ade6fa2faULL, 0x620fc84c3affe0d4ULL, 0x1eb5e412a22b3d3bULL}},
    {{0xac440bf6c62abeddULL, 0x8dfc2094de39fad4ULL, 0x0000000000000000ULL, 0x0000000100000000ULL}},
};

// A scalar mod n in Montgomery form.
struct Sc {
  U256 m;
};

inline Sc ScZero() { return Sc{{{0, 0, 0, 0}}}; }
inline Sc ScOne() { return Sc{kOrderN.one}; }
inline void ScAdd(Sc& r, const Sc& a, const Sc& b) { ModAdd<kOrderN>(r.m, a.m, b.m); }
inline void ScSub(Sc& r, const Sc& a, const Sc& b) { ModSub<kOrderN>(r.m, a.m, b.m); }
inline void ScMul(Sc& r, const Sc& a, const Sc& b) {
#if defined(GMPKI_SM2_HAVE_ADX_ASM)
  if (g_sm2_use_adx) {  // fp.h; same run-time choice as the field
    u64 t[8];
    Mul512Adx(t, a.m, b.m);
    Redc512(r.m, t, kOrderN);
    return;
  }
#endif
  MontMul<kOrderN>(r.m, a.m, b.m);
}
inline void ScSqr(Sc& r, const Sc& a) {
  u64 t[8];
#if defined(GMPKI_SM2_HAVE_ADX_ASM)
  if (g_sm2_use_adx) {
    Sqr512Adx(t, a.m);
    Redc512(r.m, t, kOrderN);
    return;
  }
#endif
  SqrPortable512(t, a.m);
  Redc512(r.m, t, kOrderN);
}
inline u64 ScIsZeroMask(const Sc& a) { return MaskIsZero(a.m); }

// r = a^-1 mod n; 0 when a = 0. safegcd (safegcd.h), constant time; ScInvFermat (s^(n-2) with
// a fixed window) is the tests' reference.
void ScInv(Sc& r, const Sc& a);
void ScInvFermat(Sc& r, const Sc& a);

// Plain integer a (any 256-bit value) reduced mod n, to Montgomery form.
Sc ScFromIntReduce(const U256& a);
// 32 big-endian bytes reduced mod n.
Sc ScFromBytesReduce(const std::uint8_t in[32]);
// Plain integer limbs of a, in [0, n).
U256 ScToInt(const Sc& a);
void ScToBytes(std::uint8_t out[32], const Sc& a);

// All-ones when 1 <= a <= n - 1 for a plain 256-bit integer (constant time).
u64 ScInRangeMask(const U256& a);

}  // namespace gmpki::crypto::sm2_engine
