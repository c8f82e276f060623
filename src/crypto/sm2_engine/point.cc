#include "crypto/sm2_engine/point.h"

#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "base/bytes.h"

namespace gmpki::crypto::sm2_engine {
namespace {

// GB/T 32918.5-2017 section 3: b, Gx, Gy.
constexpr U256 kB = {
    {0xddbcbd414d940e93ULL, 0xf39789f515ab8f92ULL, 0x4d5a9e4bcf6509a7ULL, 0x28e9fa9e9d9f5e34ULL}};
constexpr U256 kGx = {
    {0x715a4589334c74c7ULL, 0x8fe30bbff2660be1ULL, 0x5f9904466a39c994ULL, 0x32c4ae2c1f198119ULL}};
constexpr U256 kGy = {
    {0x02df32e52139f0a0ULL, 0xd0a9877cc62a4740ULL, 0x59bdcee36b692153ULL, 0xbc3736a2f4f6779cULL}};

constexpr int kWindowBits = 7;
constexpr int kWindows = 37;  // 37 signed 7-bit digits cover 256 bits plus the Booth carry
constexpr int kEntries = 64;  // |digit| in 1..64

using BaseTable = std::array<std::array<AffinePoint, kEntries>, kWindows>;

// table[i][j] = (j + 1) * 128^i * G, computed once at first use (152 KB, 37 inversions and
// about 15,000 multiplications: a few milliseconds).
const BaseTable& Table() {
  static const std::unique_ptr<BaseTable> table = [] {
    auto t = std::make_unique<BaseTable>();
    JacobianPoint base = ToJacobian(BasePoint());
    std::array<JacobianPoint, kEntries> row;
    for (int i = 0; i < kWindows; ++i) {
      row[0] = base;
      for (int j = 1; j < kEntries; ++j) PointAddVartime(row[j], row[j - 1], base);
      std::array<Fe, kEntries> scratch;
      BatchToAffineCt((*t)[i].data(), row.data(), kEntries, scratch.data());
      for (int k = 0; k < kWindowBits; ++k) PointDouble(base, base);
    }
    return t;
  }();
  return *table;
}

// Bits bit-1 .. bit+7 of k (bits outside [0, 256) read as zero): the 8-bit Booth window for
// signed 7-bit digits. bit is public.
inline unsigned BoothWindow(const U256& k, int bit) {
  unsigned w = 0;
  for (int b = 0; b < kWindowBits + 1; ++b) {
    int pos = bit - 1 + b;
    if (pos < 0 || pos >= 256) continue;  // public position
    w |= static_cast<unsigned>((k.v[pos / 64] >> (pos % 64)) & 1) << b;
  }
  return w;
}

// Booth recoding, branch-free: the 8-bit window w (bits bit-1 .. bit+6) stands for the digit
// floor((w + 1) / 2) - 128 * (w >> 7) in [-64, 64]; returned as sign (1 = negative) and
// magnitude. Summing digit_i * 128^i over all windows gives k back exactly.
inline void BoothRecode(unsigned in, unsigned& sign, unsigned& mag) {
  unsigned s = ~((in >> kWindowBits) - 1);  // all-ones when the top bit is set
  unsigned d = (1u << (kWindowBits + 1)) - in - 1;
  d = (d & s) | (in & ~s);
  d = (d >> 1) + (d & 1);
  sign = s & 1;
  mag = d;
}

}  // namespace

// r = entries[mag - 1] by a scan of all kEntries entries; r = (0, 0) when mag = 0. Every entry
// is read and masked, so neither the memory access pattern nor the time depends on mag. The
// masks come from lane-wise compares (GCC vector extensions), about three to six times fewer
// instructions than 64-bit selects:
// - AVX-512F: an entry (x, y: 64 bytes) is one 512-bit vector, one compare, AND and OR each.
//   The empty asm makes each entry a whole register first, so the compiler cannot turn
//   load-and-mask into a masked load (which would not read the entries left out).
// - otherwise 256-bit vectors for x and y, two operations each in the AVX2 clone, four SSE2
//   ones on plain x86-64 (the loader picks the clone by CPUID).
namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GMPKI_SM2_LOOKUP_AVX512 1
__attribute__((target("avx512f"))) void LookupCtAvx512(AffinePoint& r, const AffinePoint* entries,
                                                       unsigned mag) {
  using V8 = u64 __attribute__((vector_size(64)));
  static_assert(sizeof(AffinePoint) == sizeof(V8));
  V8 acc = {0, 0, 0, 0, 0, 0, 0, 0};
  const V8 want = {mag, mag, mag, mag, mag, mag, mag, mag};
  const V8 step = {1, 1, 1, 1, 1, 1, 1, 1};
  V8 index = step;  // j + 1 in every lane
  for (unsigned j = 0; j < kEntries; ++j, index += step) {
    const V8 mask = reinterpret_cast<V8>(index == want);
    V8 e;
    std::memcpy(&e, &entries[j], sizeof(e));
    asm("" : "+v"(e));
    acc |= e & mask;
  }
  std::memcpy(&r, &acc, sizeof(acc));
}

const bool kHaveAvx512 = __builtin_cpu_supports("avx512f");
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void LookupCtV4(AffinePoint& r, const AffinePoint* entries, unsigned mag) {
  using V4 = u64 __attribute__((vector_size(32)));
  static_assert(sizeof(AffinePoint) == 2 * sizeof(V4));
  V4 rx = {0, 0, 0, 0}, ry = {0, 0, 0, 0};
  const V4 want = {mag, mag, mag, mag}, step = {1, 1, 1, 1};
  V4 index = step;  // j + 1 in every lane
  for (unsigned j = 0; j < kEntries; ++j, index += step) {
    // Lane-wise compare: all-ones where index == mag (vpcmpeqq / pcmpeqq, no branch).
    const V4 mask = reinterpret_cast<V4>(index == want);
    V4 ex, ey;
    std::memcpy(&ex, &entries[j].x, sizeof(ex));
    std::memcpy(&ey, &entries[j].y, sizeof(ey));
    rx |= ex & mask;
    ry |= ey & mask;
  }
  std::memcpy(&r.x, &rx, sizeof(rx));
  std::memcpy(&r.y, &ry, sizeof(ry));
}

}  // namespace

void LookupCt(AffinePoint& r, const AffinePoint* entries, unsigned mag) {
#if defined(GMPKI_SM2_LOOKUP_AVX512)
  if (kHaveAvx512) return LookupCtAvx512(r, entries, mag);  // a property of the CPU: public
#endif
  LookupCtV4(r, entries, mag);
}

void LookupCtNoAvx512(AffinePoint& r, const AffinePoint* entries, unsigned mag) {
  LookupCtV4(r, entries, mag);
}

const AffinePoint& BasePoint() {
  static const AffinePoint g = {FeFromInt(kGx), FeFromInt(kGy)};
  return g;
}

const Fe& CurveB() {
  static const Fe b = FeFromInt(kB);
  return b;
}

// dbl-2001-b rearranged as in OpenSSL's ecp_nistz256 (Gueron-Krasnov): with T = 2Y,
// S = X T^2 = 4 X Y^2, M = 3 (X - Z^2)(X + Z^2) (a = -3), X3 = M^2 - 2S, Y3 = M (S - X3) - T^4 / 2,
// Z3 = T Z. 4M + 4S like 3M + 5S, but 10 additions in place of 16 (no (Y + Z)^2 - Y^2 - Z^2,
// and 8 Y^4 as a halving instead of three doublings). Z = 0 (infinity) gives Z3 = 0.
void PointDouble(JacobianPoint& r, const JacobianPoint& a) {
  Fe zz, t1, t2, m, t, s, tt;
  FeSqrI(zz, a.z);
  FeAdd(t1, a.x, zz);
  FeSub(t2, a.x, zz);
  FeMulI(m, t1, t2);
  FeDbl(t1, m);
  FeAdd(m, m, t1);  // M = 3 (X - Z^2)(X + Z^2)
  FeDbl(t, a.y);    // T = 2Y
  FeMulI(r.z, t, a.z);
  FeSqrI(tt, t);       // T^2 = 4 Y^2
  FeMulI(s, tt, a.x);  // S = 4 X Y^2
  FeSqrI(tt, tt);      // T^4 = 16 Y^4
  FeHalf(tt, tt);      // 8 Y^4
  // r may alias a: a.x, a.y and a.z have all been read by now.
  FeSqrI(r.x, m);
  FeDbl(t1, s);
  FeSub(r.x, r.x, t1);  // X3 = M^2 - 2S
  FeSub(t1, s, r.x);
  FeMulI(t1, m, t1);
  FeSub(r.y, t1, tt);  // Y3 = M (S - X3) - 8 Y^4
}

namespace {

// The mixed-addition formula alone; H = 0 (a = +-b) gives Z3 = 0. Reports H = 0 and R = 0.
inline void AddMixedFormula(JacobianPoint& r, const JacobianPoint& a, const AffinePoint& b,
                            u64& h_zero, u64& r_zero) {
  Fe z1z1, u2, s2, h, rr, hh, hhh, v, t, x3, y3, z3;
  FeSqrI(z1z1, a.z);
  FeMulI(u2, b.x, z1z1);
  FeMulI(s2, b.y, a.z);
  FeMulI(s2, s2, z1z1);
  FeSub(h, u2, a.x);
  FeSub(rr, s2, a.y);
  h_zero = FeIsZeroMask(h);
  r_zero = FeIsZeroMask(rr);
  FeSqrI(hh, h);
  FeMulI(hhh, h, hh);
  FeMulI(v, a.x, hh);
  FeSqrI(x3, rr);
  FeSub(x3, x3, hhh);
  FeDbl(t, v);
  FeSub(x3, x3, t);
  FeSub(t, v, x3);
  FeMulI(y3, rr, t);
  FeMulI(t, a.y, hhh);
  FeSub(y3, y3, t);
  FeMulI(z3, a.z, h);
  r.x = x3;
  r.y = y3;
  r.z = z3;
}

// The full-addition formula; also reports H = 0 and R = 0 as masks.
inline void AddFormula(JacobianPoint& r, const JacobianPoint& a, const JacobianPoint& b,
                       u64& h_zero, u64& r_zero) {
  Fe z1z1, z2z2, u1, u2, s1, s2, h, rr, hh, hhh, v, t, x3, y3, z3;
  FeSqr(z1z1, a.z);
  FeSqr(z2z2, b.z);
  FeMul(u1, a.x, z2z2);
  FeMul(u2, b.x, z1z1);
  FeMul(s1, a.y, b.z);
  FeMul(s1, s1, z2z2);
  FeMul(s2, b.y, a.z);
  FeMul(s2, s2, z1z1);
  FeSub(h, u2, u1);
  FeSub(rr, s2, s1);
  h_zero = FeIsZeroMask(h);
  r_zero = FeIsZeroMask(rr);
  FeSqr(hh, h);
  FeMul(hhh, h, hh);
  FeMul(v, u1, hh);
  FeSqr(x3, rr);
  FeSub(x3, x3, hhh);
  FeDbl(t, v);
  FeSub(x3, x3, t);
  FeSub(t, v, x3);
  FeMul(y3, rr, t);
  FeMul(t, s1, hhh);
  FeSub(y3, y3, t);
  FeMul(z3, a.z, b.z);
  FeMul(z3, z3, h);
  r.x = x3;
  r.y = y3;
  r.z = z3;
}

inline void SelectPoint(JacobianPoint& r, u64 mask, const JacobianPoint& a,
                        const JacobianPoint& b) {
  FeSelect(r.x, mask, a.x, b.x);
  FeSelect(r.y, mask, a.y, b.y);
  FeSelect(r.z, mask, a.z, b.z);
}

}  // namespace

void PointAddMixed(JacobianPoint& r, const JacobianPoint& a, const AffinePoint& b,
                   u64 b_is_infinity) {
  JacobianPoint sum;
  u64 h_zero, r_zero;
  AddMixedFormula(sum, a, b, h_zero, r_zero);
  const u64 a_inf = IsInfinityMask(a);
  SelectPoint(sum, a_inf, sum, ToJacobian(b));
  SelectPoint(r, b_is_infinity, sum, a);
}

void PointAdd(JacobianPoint& r, const JacobianPoint& a, const JacobianPoint& b) {
  JacobianPoint sum, dbl;
  u64 h_zero, r_zero;
  AddFormula(sum, a, b, h_zero, r_zero);
  PointDouble(dbl, a);
  const u64 a_inf = IsInfinityMask(a);
  const u64 b_inf = IsInfinityMask(b);
  // a = b (both finite): the addition formula degenerates, use the doubling.
  SelectPoint(sum, h_zero & r_zero & ~a_inf & ~b_inf, sum, dbl);
  SelectPoint(sum, a_inf, sum, b);
  SelectPoint(r, b_inf & ~a_inf, sum, a);
}

void PointAddVartime(JacobianPoint& r, const JacobianPoint& a, const JacobianPoint& b) {
  if (IsInfinityMask(a)) {
    r = b;
    return;
  }
  if (IsInfinityMask(b)) {
    r = a;
    return;
  }
  u64 h_zero, r_zero;
  JacobianPoint sum;
  AddFormula(sum, a, b, h_zero, r_zero);
  if (h_zero && r_zero) {
    PointDouble(r, a);
    return;
  }
  r = sum;  // h_zero alone (a = -b) leaves Z3 = 0: infinity
}

void PointAddMixedVartime(JacobianPoint& r, const JacobianPoint& a, const AffinePoint& b) {
  if (IsInfinityMask(a)) {
    r = ToJacobian(b);
    return;
  }
  u64 h_zero, r_zero;
  JacobianPoint sum;
  AddMixedFormula(sum, a, b, h_zero, r_zero);
  if (h_zero && r_zero) {
    PointDouble(r, a);
    return;
  }
  r = sum;
}

u64 PointToAffine(AffinePoint& r, const JacobianPoint& p) {
  Fe zinv, zinv2;
  FeInv(zinv, p.z);  // 0 for infinity, which zeroes the result
  FeSqr(zinv2, zinv);
  FeMul(r.x, p.x, zinv2);
  FeMul(zinv2, zinv2, zinv);
  FeMul(r.y, p.y, zinv2);
  return IsInfinityMask(p);
}

namespace {

// Montgomery's trick: scratch[j] = z_0 * ... * z_j; one inversion of the full product; then,
// walking back, inv = (z_0 ... z_j)^-1 gives z_j^-1 = inv * scratch[j-1] and the next inv as
// inv * z_j. 3 (count - 1) multiplications and one inversion in place of count inversions.
// Only j and count steer the loops; no value is branched on (Inv decides about the inversion).
template <void (*Inv)(Fe&, const Fe&)>
u64 BatchToAffineWith(AffinePoint* out, const JacobianPoint* in, std::size_t count, Fe* scratch) {
  if (count == 0) return 0;
  scratch[0] = in[0].z;
  for (std::size_t j = 1; j < count; ++j) FeMul(scratch[j], scratch[j - 1], in[j].z);
  const u64 any_infinity = FeIsZeroMask(scratch[count - 1]);
  Fe inv;
  Inv(inv, scratch[count - 1]);  // 0 when some z is 0: every result is then (0, 0)
  for (std::size_t j = count; j-- > 0;) {
    Fe zinv = inv, zinv2;
    if (j > 0) {
      FeMul(zinv, inv, scratch[j - 1]);
      FeMul(inv, inv, in[j].z);
    }
    FeSqr(zinv2, zinv);
    FeMul(out[j].x, in[j].x, zinv2);
    FeMul(zinv2, zinv2, zinv);
    FeMul(out[j].y, in[j].y, zinv2);
  }
  return any_infinity;
}

}  // namespace

u64 BatchToAffineCt(AffinePoint* out, const JacobianPoint* in, std::size_t count, Fe* scratch) {
  return BatchToAffineWith<FeInv>(out, in, count, scratch);
}

bool IsOnCurve(const AffinePoint& a) {
  Fe lhs, rhs, t;
  FeSqr(lhs, a.y);
  FeSqr(rhs, a.x);
  FeMul(rhs, rhs, a.x);
  FeDbl(t, a.x);
  FeAdd(t, t, a.x);
  FeSub(rhs, rhs, t);
  FeAdd(rhs, rhs, CurveB());
  return FeEqualMask(lhs, rhs) != 0;
}

void ScalarMulBase(JacobianPoint& r, const U256& k_in) {
  const BaseTable& table = Table();
  // k mod n (k < 2^256 < 2n: one conditional subtraction, by mask), so that the proof below
  // covers the top window too and no complete addition is needed.
  U256 k;
  SubtractIfAtLeast(k, k_in, 0, kOrderN.m);
  JacobianPoint acc = Infinity();
  AffinePoint t;
  Fe neg_y;
  // Windows 0..35: acc holds m*G with |m| <= 64 (128^i - 1) / 127 < 128^i while the entry is
  // d*128^i*G with 1 <= |d| <= 64, and |m| + 64*128^i < 65*2^245 < n, so acc != +-entry: the
  // mixed formula's a = +-b case cannot occur.
  // Window 36 (bits 251..255, digit d in 0..16, never negative): acc = m*G with
  // m = k - d*2^252 in [-2^251, 2^251). acc = -entry needs k = 0 mod n, i.e. k = 0: then
  // m = d = 0 and both are infinity, which the masks handle. acc = entry needs
  // m - d*2^252 in {0, -n}: 0 forces m = d = 0 again; -n forces d*2^252 in
  // [n - 2^251, n + 2^251), so d = 16, m = 2^256 - n and k = 2^257 - n > n, impossible for
  // k < n. So every window is a mixed addition.
  for (int i = 0; i < kWindows; ++i) {
    unsigned sign, mag;
    BoothRecode(BoothWindow(k, kWindowBits * i), sign, mag);
    LookupCt(t, table[i].data(), mag);
    FeNeg(neg_y, t.y);
    FeSelect(t.y, 0 - static_cast<u64>(sign), t.y, neg_y);
    PointAddMixed(acc, acc, t, MaskIsZero64(mag));
  }
  r = acc;
  SecureZero(&k, sizeof(k));
}

namespace {

constexpr int kWnafQ = 5;  // Q, 3Q, ..., 15Q built per verification (affine)
// G, 3G, ..., 2047G precomputed once (affine, 64 KB, one batched inversion, about 0.3 ms at
// first use): width 12 means about 256 / 13 = 20 additions for u1 (23 at width 10).
constexpr int kWnafG = 12;

// Width-w NAF of k: digits odd in (-2^(w-1), 2^(w-1)) or zero, at most 257 of them; returns
// the number of digits up to the highest nonzero one. Variable time (public scalars only).
// count (<= 16) bits of k from bit pos; bits above 255 read as zero. Public inputs only.
inline unsigned BitsAt(const U256& k, int pos, int count) {
  if (pos >= 256) return 0;
  const int limb = pos / 64, shift = pos % 64;
  u64 x = k.v[limb] >> shift;
  if (shift + count > 64 && limb < 3) x |= k.v[limb + 1] << (64 - shift);
  return static_cast<unsigned>(x & ((1u << count) - 1));
}

int Wnaf(const U256& k, int w, int16_t out[257]) {
  // Reads w-bit words where a digit starts instead of shifting the whole scalar per bit (the
  // recoding of libsecp256k1's ecmult_wnaf): a digit starts where the bit differs from the
  // carry, word = bits + carry is then odd, and a top bit in the word becomes a carry.
  for (int i = 0; i < 257; ++i) out[i] = 0;
  int carry = 0, len = 0, bit = 0;
  while (bit < 257) {
    if (static_cast<int>(BitsAt(k, bit, 1)) == carry) {
      ++bit;
      continue;
    }
    const int now = w < 257 - bit ? w : 257 - bit;
    int word = static_cast<int>(BitsAt(k, bit, now)) + carry;
    carry = (word >> (w - 1)) & 1;
    word -= carry << w;
    out[bit] = static_cast<int16_t>(word);
    len = bit + 1;
    bit += now;
  }
  return len;
}

using OddGTable = std::array<AffinePoint, 1 << (kWnafG - 2)>;

const OddGTable& OddMultiplesOfG() {
  static const std::unique_ptr<OddGTable> table = [] {
    auto t = std::make_unique<OddGTable>();
    std::vector<JacobianPoint> jac(t->size());
    std::vector<Fe> scratch(t->size());
    JacobianPoint g = ToJacobian(BasePoint()), g2;
    PointDouble(g2, g);
    jac[0] = g;
    for (std::size_t i = 1; i < jac.size(); ++i) PointAddVartime(jac[i], jac[i - 1], g2);
    BatchToAffineCt(t->data(), jac.data(), jac.size(), scratch.data());  // one inversion
    return t;
  }();
  return *table;
}

}  // namespace

void DoubleScalarMulVartime(JacobianPoint& r, const U256& u1, const U256& u2,
                            const AffinePoint& q) {
  // Odd multiples Q, 3Q, ..., (2^(w-1) - 1)Q, made affine with one shared inversion so that
  // the main loop uses mixed additions (11 multiplications instead of 16). Q is a valid public
  // key (order n), so none of them is infinity.
  constexpr int kOddQ = 1 << (kWnafQ - 2);
  JacobianPoint odd_q_jac[kOddQ];
  JacobianPoint q2;
  PointDouble(q2, ToJacobian(q));
  // The odd multiples by mixed additions of 2Q (8M + 3S instead of 12M + 4S): on the curve
  // isomorphic by (x, y) -> (x Z^2, y Z^3) with Z = Z(2Q), 2Q is the affine point (X, Y) of q2
  // and Q is (x Z^2, y Z^3); the addition formulas do not involve a, so they hold there, and a
  // point (X', Y', Z') there is (X', Y', Z' Z) here (libsecp256k1's "effective affine"). The
  // doubling case of PointAddMixedVartime (a = -3 only) cannot occur: (2i - 1)Q != 2Q.
  Fe zz, zzz;
  FeSqr(zz, q2.z);
  FeMul(zzz, zz, q2.z);
  const AffinePoint q2_iso{q2.x, q2.y};
  odd_q_jac[0].z = FeOne();
  FeMul(odd_q_jac[0].x, q.x, zz);
  FeMul(odd_q_jac[0].y, q.y, zzz);
  for (int i = 1; i < kOddQ; ++i) PointAddMixedVartime(odd_q_jac[i], odd_q_jac[i - 1], q2_iso);
  for (int i = 0; i < kOddQ; ++i) FeMul(odd_q_jac[i].z, odd_q_jac[i].z, q2.z);
  AffinePoint odd_q[kOddQ];
  Fe scratch[kOddQ];
  BatchToAffineWith<FeInvVartime>(odd_q, odd_q_jac, kOddQ, scratch);  // public: variable time
  const OddGTable& odd_g = OddMultiplesOfG();

  // Both scalars share one chain of doublings (Straus-Shamir interleaving).
  int16_t naf1[257], naf2[257];
  const int len1 = Wnaf(u1, kWnafG, naf1);
  const int len2 = Wnaf(u2, kWnafQ, naf2);
  JacobianPoint acc = Infinity();
  for (int i = (len1 > len2 ? len1 : len2) - 1; i >= 0; --i) {
    PointDouble(acc, acc);
    if (const int d = naf2[i]; d > 0) {
      PointAddMixedVartime(acc, acc, odd_q[d >> 1]);
    } else if (d < 0) {
      AffinePoint neg = odd_q[(-d) >> 1];
      FeNeg(neg.y, neg.y);
      PointAddMixedVartime(acc, acc, neg);
    }
    if (const int d = naf1[i]; d > 0) {
      PointAddMixedVartime(acc, acc, odd_g[d >> 1]);
    } else if (d < 0) {
      AffinePoint neg = odd_g[(-d) >> 1];
      FeNeg(neg.y, neg.y);
      PointAddMixedVartime(acc, acc, neg);
    }
  }
  r = acc;
}

}  // namespace gmpki::crypto::sm2_engine
