#include "crypto/sm2_engine/varbase.h"

#include "base/bytes.h"

namespace gmpki::crypto::sm2_engine {
namespace {

constexpr int kWindowBits = 5;
constexpr int kWindows = 52;  // 52 signed 5-bit digits cover 256 bits plus the Booth carry
constexpr int kEntries = 16;  // |digit| in 1..16

// Bits bit-1 .. bit+4 of k (bits outside [0, 256) read as zero). bit is public.
inline unsigned Window6(const U256& k, int bit) {
  unsigned w = 0;
  for (int b = 0; b < 6; ++b) {
    const int pos = bit - 1 + b;
    if (pos < 0 || pos >= 256) continue;  // public position
    w |= static_cast<unsigned>((k.v[pos / 64] >> (pos % 64)) & 1) << b;
  }
  return w;
}

// Branch-free Booth recoding of a 6-bit window into sign (1 = negative) and magnitude 0..16;
// digit = floor((w + 1) / 2) - 32 * (w >> 5), so sum(digit_i * 32^i) = k.
inline void BoothRecode5(unsigned in, unsigned& sign, unsigned& mag) {
  const unsigned s = ~((in >> 5) - 1);  // all-ones when the top bit is set
  unsigned d = (1u << 6) - in - 1;
  d = (d & s) | (in & ~s);
  d = (d >> 1) + (d & 1);
  sign = s & 1;
  mag = d;
}

// r = table[mag - 1] by a scan of all entries, then negated when sign is set; r = (0, 0) for
// mag = 0 (the caller passes the infinity flag separately).
inline void LookupSigned(AffinePoint& r, const AffinePoint table[kEntries], unsigned sign,
                         unsigned mag) {
  r.x = FeZero();
  r.y = FeZero();
  for (unsigned j = 0; j < kEntries; ++j) {
    const u64 mask = MaskIsZero64(static_cast<u64>(mag ^ (j + 1)));
    FeSelect(r.x, mask, r.x, table[j].x);
    FeSelect(r.y, mask, r.y, table[j].y);
  }
  Fe neg_y;
  FeNeg(neg_y, r.y);
  FeSelect(r.y, 0 - static_cast<u64>(sign), r.y, neg_y);
}

// table[j] = (j + 1) * P in affine form. P is public, but the construction is constant time
// anyway: complete additions, then one shared inversion (Montgomery's trick) for all 16 Z.
void BuildTable(AffinePoint table[kEntries], const AffinePoint& p) {
  JacobianPoint mult[kEntries];
  mult[0] = ToJacobian(p);
  PointDouble(mult[1], mult[0]);
  for (int j = 2; j < kEntries; ++j) PointAdd(mult[j], mult[j - 1], mult[0]);
  // prefix[j] = z_0 * ... * z_j; none is zero since P has order n > 16.
  Fe prefix[kEntries];
  prefix[0] = mult[0].z;
  for (int j = 1; j < kEntries; ++j) FeMul(prefix[j], prefix[j - 1], mult[j].z);
  Fe inv;
  FeInv(inv, prefix[kEntries - 1]);  // (z_0 ... z_15)^-1
  for (int j = kEntries - 1; j >= 0; --j) {
    Fe zinv = inv;
    if (j > 0) {
      FeMul(zinv, inv, prefix[j - 1]);  // z_j^-1
      FeMul(inv, inv, mult[j].z);       // (z_0 ... z_{j-1})^-1
    }
    Fe zinv2, zinv3;
    FeSqr(zinv2, zinv);
    FeMul(zinv3, zinv2, zinv);
    FeMul(table[j].x, mult[j].x, zinv2);
    FeMul(table[j].y, mult[j].y, zinv3);
  }
}

}  // namespace

void ScalarMulPoint(JacobianPoint& r, const U256& k_in, const AffinePoint& p) {
  AffinePoint table[kEntries];
  BuildTable(table, p);
  // k < n makes the mixed additions below exception-free (see the bound there).
  U256 k = ScToInt(ScFromIntReduce(k_in));

  // Horner from the top digit: before window i (i >= 1) acc = 32 V P with
  // 0 <= 32 V <= k / 32^i + 16 <= 2^251 + 16, and the entry is d P with |d| <= 16. acc = +-d P
  // would need 32 V = +-d mod n, which for these ranges means 32 V = d = 0, i.e. acc at infinity
  // and a zero digit, which PointAddMixed handles by its masks. So the formula's a = +-b case
  // cannot occur, and the whole loop is one fixed sequence of field operations.
  JacobianPoint acc = Infinity();
  AffinePoint t;
  for (int i = kWindows - 1; i >= 1; --i) {
    for (int d = 0; d < kWindowBits; ++d) PointDouble(acc, acc);
    unsigned sign, mag;
    BoothRecode5(Window6(k, kWindowBits * i), sign, mag);
    LookupSigned(t, table, sign, mag);
    PointAddMixed(acc, acc, t, MaskIsZero64(mag));
  }
  // Window 0: acc = (k - d_0) P where k - d_0 may reach n - 16 .. n + 16, so acc = +-d_0 P is
  // possible (k = n - 2|d_0| for a negative d_0 gives acc = d_0 P); the complete addition
  // covers it.
  for (int d = 0; d < kWindowBits; ++d) PointDouble(acc, acc);
  unsigned sign, mag;
  BoothRecode5(Window6(k, 0), sign, mag);
  LookupSigned(t, table, sign, mag);
  JacobianPoint last = ToJacobian(t);
  FeSelect(last.z, MaskIsZero64(mag), last.z, FeZero());
  PointAdd(r, acc, last);
  SecureZero(&k, sizeof(k));
  SecureZero(&t, sizeof(t));
  SecureZero(&last, sizeof(last));
  SecureZero(&acc, sizeof(acc));
}

}  // namespace gmpki::crypto::sm2_engine
