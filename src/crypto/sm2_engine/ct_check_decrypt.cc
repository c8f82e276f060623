// Constant-time check for SM2 encryption and decryption (GB/T 32918.4-2016 6.1, 7.1) under
// valgrind memcheck, the technique of ct_check.cc: the private key d_B and the ephemeral k are
// marked undefined, so a branch or memory index that depends on them, or on anything derived
// from them (the shared point, the KDF output, the recovered plaintext), makes memcheck report
// an error and valgrind --error-exitcode fail the run.
//
// Covered: the variable-base k*P_B and d_B*C1 (table scan, Booth recoding, additions), the
// affine conversion, the KDF over x2 || y2, M' = C2 xor t, u = SM3(x2 || M' || y2) and the C3
// comparison. The two verdicts that encrypt.cc branches on (t all zero, u == C3) are public by
// design and are declassified before use, as Decrypt uses them. Runs on the portable field
// code and on the MULX/ADX assembly.
#include <valgrind/memcheck.h>

#include <cstdint>
#include <cstdio>

#include "base/bytes.h"
#include "crypto/sm2_engine/fp.h"
#include "crypto/sm2_engine/point.h"
#include "crypto/sm2_engine/varbase.h"
#include "crypto/sm3.h"

using namespace gmpki;
using namespace gmpki::crypto;
using namespace gmpki::crypto::sm2_engine;

namespace {

// x || y of k*P, the shared point of A4 / B3.
void SharedPoint(std::uint8_t out[64], const U256& k, const AffinePoint& p) {
  JacobianPoint r;
  ScalarMulPoint(r, k, p);
  AffinePoint a;
  PointToAffine(a, r);
  FeToBytes(out, a.x);
  FeToBytes(out + 32, a.y);
}

}  // namespace

int RunOnce() {
  std::uint8_t d[32], k[32];
  for (int i = 0; i < 32; ++i) {
    d[i] = static_cast<std::uint8_t>(0x23 * (i + 3));
    k[i] = static_cast<std::uint8_t>(0xa5 ^ (7 * i));
  }
  d[0] &= 0x7f;  // keep both below n
  k[0] &= 0x7f;
  // Public inputs: P_B = d*G and C1 = k*G are public, computed before the secrets are marked.
  JacobianPoint j;
  AffinePoint pub, c1;
  ScalarMulBase(j, FromBe32(d));
  PointToAffine(pub, j);
  ScalarMulBase(j, FromBe32(k));
  PointToAffine(c1, j);
  const std::uint8_t msg[45] = "constant-time check of SM2 decryption path";

  VALGRIND_MAKE_MEM_UNDEFINED(d, sizeof(d));
  VALGRIND_MAKE_MEM_UNDEFINED(k, sizeof(k));

  // Encryption side, A4..A7: (x2, y2) = k*P_B, t = KDF(x2 || y2), C2 = M xor t, C3.
  std::uint8_t s_enc[64];
  SharedPoint(s_enc, FromBe32(k), pub);
  SecretBytes t_enc = Sm3Kdf(ByteView(s_enc, 64), sizeof(msg));
  std::uint8_t c2[sizeof(msg)];
  for (std::size_t i = 0; i < sizeof(msg); ++i) c2[i] = msg[i] ^ t_enc[i];
  Sm3Hasher h_enc;
  h_enc.Update(ByteView(s_enc, 32));
  h_enc.Update(ByteView(msg, sizeof(msg)));
  h_enc.Update(ByteView(s_enc + 32, 32));
  Sm3Digest c3 = h_enc.Final();
  // C2 and C3 are the ciphertext: public.
  VALGRIND_MAKE_MEM_DEFINED(c2, sizeof(c2));
  VALGRIND_MAKE_MEM_DEFINED(c3.data(), c3.size());

  // Decryption side, B3..B6: (x2, y2) = d*C1, t, M' = C2 xor t, u = SM3(x2 || M' || y2), u == C3.
  std::uint8_t s_dec[64];
  SharedPoint(s_dec, FromBe32(d), c1);
  SecretBytes t = Sm3Kdf(ByteView(s_dec, 64), sizeof(c2));
  std::uint8_t acc = 0;
  for (std::size_t i = 0; i < t.size(); ++i) acc |= t[i];
  bool t_zero = acc == 0;
  VALGRIND_MAKE_MEM_DEFINED(&t_zero, sizeof(t_zero));  // verdict, public
  SecretBytes m(sizeof(c2));
  for (std::size_t i = 0; i < sizeof(c2); ++i) m[i] = c2[i] ^ t[i];
  Sm3Hasher h;
  h.Update(ByteView(s_dec, 32));
  h.Update(m.view());
  h.Update(ByteView(s_dec + 32, 32));
  const Sm3Digest u = h.Final();
  bool match = ConstantTimeEqual(u, c3);
  VALGRIND_MAKE_MEM_DEFINED(&match, sizeof(match));  // verdict, public
  if (t_zero || !match) {
    std::printf("ct check: decryption did not round-trip\n");
    return 1;
  }
  // The plaintext is released after the check; declassify to print a byte of it.
  VALGRIND_MAKE_MEM_DEFINED(m.data(), m.size());
  std::printf("ct check done: %c%c\n", m[0], m[1]);
  return 0;
}

int main() {
  // Both field back ends, as in ct_check.cc: valgrind's CPUID hides BMI2/ADX, so the MULX/ADX
  // path is forced on directly for the second run.
  g_sm2_use_adx = false;
  if (RunOnce() != 0) return 1;
#if defined(GMPKI_SM2_HAVE_ADX_ASM)
  g_sm2_use_adx = true;
  if (RunOnce() != 0) return 1;
#endif
  return 0;
}
