// Constant-time check for the secret-handling paths of the engine, run under valgrind memcheck
// (the technique of BoringSSL's CONSTTIME_SECRET / crypto/internal.h): the private key d and
// the nonce k are marked undefined, so any branch or memory index that depends on them makes
// memcheck report "Conditional jump or move depends on uninitialised value(s)" or an
// uninitialised address, and valgrind --error-exitcode turns that into a failure.
//
// Covered: k*G (fixed-base comb with the vectorised table scan), affine conversion (FeInv), the
// batched affine conversion of key generation (BatchToAffineCt), the batched signing nonces
// (ComputeNonces: k*G, shared inversion, x1 mod n), ScInv and the signature
// equation s = (1 + d)^-1 (k - r d), each on the portable field code and on
// the MULX/ADX assembly (fp.h, mulx256.h). Not covered here: the range checks whose verdict
// is public by design (d in [1, n-2], k in [1, n-1]) and the public-value branches of signing
// (r = 0, r + k = n, s = 0) and of verification.
#include <valgrind/memcheck.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

#include "crypto/sm2_engine/fn.h"
#include "crypto/sm2_engine/nonce_pool.h"
#include "crypto/sm2_engine/point.h"

using namespace gmpki::crypto::sm2_engine;

namespace {

// The secret-handling work of signing and key derivation on the current field code.
void CheckedWork(int pass) {
  std::uint8_t d[32], k[32];
  for (int i = 0; i < 32; ++i) {
    d[i] = static_cast<std::uint8_t>(0x11 * (i + 1) + pass);
    k[i] = static_cast<std::uint8_t>(0x5a ^ i ^ pass);
  }
  VALGRIND_MAKE_MEM_UNDEFINED(d, sizeof(d));
  VALGRIND_MAKE_MEM_UNDEFINED(k, sizeof(k));

  const U256 d_int = FromBe32(d), k_int = FromBe32(k);
  // Public key derivation: d*G and its affine form.
  JacobianPoint p;
  ScalarMulBase(p, d_int);
  AffinePoint pub;
  PointToAffine(pub, p);
  // (1 + d)^-1, as kept in the key object.
  Sc d_m = ScFromIntReduce(d_int), d1, d1_inv;
  ScAdd(d1, d_m, ScOne());
  ScInv(d1_inv, d1);
  // Signing: x1 of k*G, r = e + x1, s = (1 + d)^-1 (k - r d).
  JacobianPoint kg;
  ScalarMulBase(kg, k_int);
  AffinePoint p1;
  PointToAffine(p1, kg);
  Sc k_m = ScFromIntReduce(k_int), r = ScFromIntReduce(FeToInt(p1.x)), t, s;
  ScMul(t, r, d_m);
  ScSub(t, k_m, t);
  ScMul(s, d1_inv, t);

  // Batched key generation (GenerateKeyBatch): k*G for several secret scalars, then one
  // affine conversion for all of them (BatchToAffineCt: the product of the Z's, one FeInv, the
  // walk back).
  constexpr int kBatch = 5;
  std::uint8_t batch_d[kBatch][32];
  for (int j = 0; j < kBatch; ++j) {
    for (int i = 0; i < 32; ++i) {
      batch_d[j][i] = static_cast<std::uint8_t>((0x3c * (j + 1)) ^ i ^ pass);
    }
  }
  VALGRIND_MAKE_MEM_UNDEFINED(batch_d, sizeof(batch_d));
  JacobianPoint batch_jac[kBatch];
  for (int j = 0; j < kBatch; ++j) ScalarMulBase(batch_jac[j], FromBe32(batch_d[j]));
  AffinePoint batch_pub[kBatch];
  Fe scratch[kBatch];
  u64 any_infinity = BatchToAffineCt(batch_pub, batch_jac, kBatch, scratch);
  VALGRIND_MAKE_MEM_DEFINED(&any_infinity, sizeof(any_infinity));
  VALGRIND_MAKE_MEM_DEFINED(batch_pub, sizeof(batch_pub));
  if (any_infinity) std::printf("unexpected infinity in the batch\n");

  // Signing nonces prepared in a batch (nonce_pool.h, ComputeNonces): k*G for each k, one
  // shared inversion, x1 mod n and k in Montgomery form. The batch scalars above serve as k.
  U256 nonce_k[kBatch];
  for (int j = 0; j < kBatch; ++j) nonce_k[j] = FromBe32(batch_d[j]);
  Nonce nonces[kBatch];
  bool finite = ComputeNonces(nonces, nonce_k, kBatch);
  VALGRIND_MAKE_MEM_DEFINED(&finite, sizeof(finite));
  if (!finite) std::printf("unexpected infinity among the nonces\n");
  Sc nonce_s;
  ScMul(nonce_s, nonces[kBatch - 1].k, nonces[kBatch - 1].x1);
  VALGRIND_MAKE_MEM_DEFINED(&nonce_s, sizeof(nonce_s));

  // The signature and the public key are public: declassify before using them.
  VALGRIND_MAKE_MEM_DEFINED(&s, sizeof(s));
  VALGRIND_MAKE_MEM_DEFINED(&pub, sizeof(pub));
  std::printf("ct check (%s) done: %016llx %016llx %016llx\n",
              EngineUsesAdx() ? "mulx/adx" : "portable", static_cast<unsigned long long>(s.m.v[0]),
              static_cast<unsigned long long>(pub.x.m.v[0]),
              static_cast<unsigned long long>(nonce_s.m.v[0]));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--deliberate-leak") == 0) {
    // Control: a branch on a secret byte must make memcheck fail the run (CTest expects the
    // failure: sm2_engine_constant_time_control, WILL_FAIL).
    std::uint8_t secret[1] = {0x5a};
    VALGRIND_MAKE_MEM_UNDEFINED(secret, sizeof(secret));
    if (secret[0] & 1) std::printf("odd\n");
    return 0;
  }
  // Build the static tables from public input first, so only the secret work is checked.
  JacobianPoint warm;
  ScalarMulBase(warm, U256{{1, 0, 0, 0}});

  // Both field back ends. valgrind's synthetic CPUID hides BMI2/ADX, so the start-up choice
  // is the portable path there; the MULX/ADX path is then forced on directly (valgrind's
  // translator executes MULX/ADCX/ADOX itself, whatever the host CPU).
  g_sm2_use_adx = false;
  CheckedWork(0);
#if defined(GMPKI_SM2_HAVE_ADX_ASM)
  g_sm2_use_adx = true;
  CheckedWork(1);
#endif
  return 0;
}
