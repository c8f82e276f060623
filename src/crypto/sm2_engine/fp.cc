#include "crypto/sm2_engine/fp.h"

#include "crypto/sm2_engine/safegcd.h"

#include <cstdlib>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace gmpki::crypto::sm2_engine {

bool CpuHasAdx() {
#if defined(GMPKI_SM2_HAVE_ADX_ASM)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  constexpr unsigned kBmi2 = 1u << 8, kAdx = 1u << 19;  // CPUID.(EAX=7,ECX=0):EBX
  return (ebx & kBmi2) != 0 && (ebx & kAdx) != 0;
#else
  return false;
#endif
}

namespace {
bool ChooseAdx() {
  const char* off = std::getenv("GMPKI_SM2_NO_ADX");
  if (off != nullptr && *off != '\0' && *off != '0') return false;
  return CpuHasAdx();
}
}  // namespace

bool g_sm2_use_adx = ChooseAdx();

void SetEngineUsesAdxForTesting(bool on) { g_sm2_use_adx = on && CpuHasAdx(); }

void FeMulPortable(Fe& r, const Fe& a, const Fe& b) { MontMulP(r.m, a.m, b.m); }
void FeSqrPortable(Fe& r, const Fe& a) { MontSqrPPortable(r.m, a.m); }
void FeMul(Fe& r, const Fe& a, const Fe& b) { FeMulI(r, a, b); }
void FeSqr(Fe& r, const Fe& a) { FeSqrI(r, a); }

void FeInvFermat(Fe& r, const Fe& a) {
  // p - 2 = FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFD:
  // 31 ones, a zero, 128 ones, 32 zeros, 32 ones, 30 ones, a zero, a one (from the top).
  // xk denotes a^(2^k - 1). The chain is fixed, so the run time does not depend on a.
  Fe x1 = a, x2, x3, x6, x12, x15, x30, x31, x32, t;
  FeSqr(t, x1);
  FeMul(x2, t, x1);
  FeSqr(t, x2);
  FeMul(x3, t, x1);
  FeSqrN(t, x3, 3);
  FeMul(x6, t, x3);
  FeSqrN(t, x6, 6);
  FeMul(x12, t, x6);
  FeSqrN(t, x12, 3);
  FeMul(x15, t, x3);
  FeSqrN(t, x15, 15);
  FeMul(x30, t, x15);
  FeSqr(t, x30);
  FeMul(x31, t, x1);
  FeSqrN(t, x30, 2);
  FeMul(x32, t, x2);

  Fe acc;
  FeSqr(acc, x31);               // 31 ones, then the zero bit
  for (int i = 0; i < 4; ++i) {  // 128 ones
    FeSqrN(acc, acc, 32);
    FeMul(acc, acc, x32);
  }
  FeSqrN(acc, acc, 32);  // 32 zeros
  FeSqrN(acc, acc, 32);  // 32 ones
  FeMul(acc, acc, x32);
  FeSqrN(acc, acc, 30);  // 30 ones
  FeMul(acc, acc, x30);
  FeSqr(acc, acc);  // 0
  FeSqr(acc, acc);  // 1
  FeMul(r, acc, x1);
}

void FeInv(Fe& r, const Fe& a) {
  // a = x R (Montgomery form). The plain inverse of a is x^-1 R^-1; one Montgomery
  // multiplication by R^3 gives x^-1 R.
  static const SafegcdModulus kMod = MakeSafegcdModulus(kFieldP.m);
  static const U256 kR3 = [] {
    U256 t;
    MontMulP(t, kFieldP.rr, kFieldP.rr);
    return t;
  }();
  const U256 inv = SafegcdInverse(a.m, kMod);
  MontMulP(r.m, inv, kR3);
}

void FeInvVartime(Fe& r, const Fe& a) {
  static const SafegcdModulus kMod = MakeSafegcdModulus(kFieldP.m);
  static const U256 kR3 = [] {
    U256 t;
    MontMulP(t, kFieldP.rr, kFieldP.rr);
    return t;
  }();
  const U256 inv = SafegcdInverseVartime(a.m, kMod);
  MontMulP(r.m, inv, kR3);
}

Fe FeFromInt(const U256& a) {
  Fe r;
  MontMulP(r.m, a, kFieldP.rr);
  return r;
}

U256 FeToInt(const Fe& a) {
  U256 r;
  MontMulP(r, a.m, U256{{1, 0, 0, 0}});
  return r;
}

Fe FeFromBytesReduce(const std::uint8_t in[32]) {
  return FeFromInt(ReduceOnce<kFieldP>(FromBe32(in)));
}

bool FeFromBytesStrict(Fe& r, const std::uint8_t in[32]) {
  U256 v = FromBe32(in);
  if (!MaskLess(v, kFieldP.m)) return false;
  r = FeFromInt(v);
  return true;
}

void FeToBytes(std::uint8_t out[32], const Fe& a) { ToBe32(FeToInt(a), out); }

}  // namespace gmpki::crypto::sm2_engine
