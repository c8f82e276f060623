#include "crypto/sm2_engine/fn.h"

#include "crypto/sm2_engine/safegcd.h"

namespace gmpki::crypto::sm2_engine {

void ScInvFermat(Sc& r, const Sc& a) {
  // n - 2, most significant limb first; the exponent is public, so indexing the table by its
  // nibbles leaks nothing about a.
  static constexpr u64 kExp[4] = {0x53bbf40939d54121ULL, 0x7203df6b21c6052bULL,
                                  0xffffffffffffffffULL, 0xfffffffeffffffffULL};
  Sc table[16];
  table[0] = ScOne();
  for (int i = 1; i < 16; ++i) ScMul(table[i], table[i - 1], a);
  Sc acc = ScOne();
  for (int limb = 3; limb >= 0; --limb) {
    for (int shift = 60; shift >= 0; shift -= 4) {
      for (int k = 0; k < 4; ++k) ScSqr(acc, acc);
      ScMul(acc, acc, table[(kExp[limb] >> shift) & 0xf]);
    }
  }
  r = acc;
}

void ScInv(Sc& r, const Sc& a) {
  // As FeInv: the plain inverse of a = s R, times R^3 in Montgomery form, is s^-1 R.
  static const SafegcdModulus kMod = MakeSafegcdModulus(kOrderN.m);
  static const U256 kR3 = [] {
    U256 t;
    MontMul<kOrderN>(t, kOrderN.rr, kOrderN.rr);
    return t;
  }();
  const U256 inv = SafegcdInverse(a.m, kMod);
  MontMul<kOrderN>(r.m, inv, kR3);
}

Sc ScFromIntReduce(const U256& a) {
  Sc r;
  MontMul<kOrderN>(r.m, ReduceOnce<kOrderN>(a), kOrderN.rr);
  return r;
}

Sc ScFromBytesReduce(const std::uint8_t in[32]) { return ScFromIntReduce(FromBe32(in)); }

U256 ScToInt(const Sc& a) {
  U256 r;
  MontMul<kOrderN>(r, a.m, U256{{1, 0, 0, 0}});
  return r;
}

void ScToBytes(std::uint8_t out[32], const Sc& a) { ToBe32(ScToInt(a), out); }

u64 ScInRangeMask(const U256& a) { return MaskLess(a, kOrderN.m) & ~MaskIsZero(a); }

}  // namespace gmpki::crypto::sm2_engine
