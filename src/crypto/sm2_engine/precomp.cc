#include "crypto/sm2_engine/precomp.h"

#include <memory>
#include <utility>
#include <vector>

namespace gmpki::crypto::sm2_engine {
namespace {

// A fixed-base table for signed w-bit digits. A scalar k < 2^256 recodes into
// kDigits = (256 + w) / w digits in [-(2^(w-1) - 1), 2^(w-1)]: w * kDigits >= 257, so the last
// window holds at most w - 1 bits of k and absorbs the final carry without another. The table
// holds entry [i][j - 1] = j * 2^(w*i) * B for j in 1..2^(w-1), so k*B is the sum of one entry
// (or its negation) per nonzero digit: no doubling at all.
template <int W>
struct FixedBaseLayout {
  static constexpr int kWidth = W;
  static constexpr int kDigits = (256 + W) / W;
  static constexpr int kEntries = 1 << (W - 1);
  static constexpr int kPoints = kDigits * kEntries;
};

// Per key: 43 x 32 points (88 KB), 43 additions. Width 5 (52 x 16 points, 53 KB) costs 9 more
// additions, about 10% of a verification.
using KeyLayout = FixedBaseLayout<6>;
// For G, one table per process: 26 x 512 points (852 KB), 26 additions; built at first use
// (a few ms). Width 8 (270 KB, 33 additions) is about 10% slower per verification.
using BaseLayout = FixedBaseLayout<10>;

// Fills out[0 .. L::kPoints) with the table of b. No entry is infinity: j * 2^m with
// j <= 2^(w-1) is a product of numbers below the prime n, so never a multiple of n, and b has
// order n. That keeps every Z nonzero for the batched inversion.
template <typename L>
void BuildFixedBase(AffinePoint* out, const AffinePoint& b) {
  std::vector<JacobianPoint> jac(L::kPoints);
  JacobianPoint base = ToJacobian(b);
  for (int i = 0; i < L::kDigits; ++i) {
    JacobianPoint* row = &jac[static_cast<std::size_t>(i) * L::kEntries];
    row[0] = base;
    PointDouble(row[1], base);
    for (int j = 2; j < L::kEntries; ++j) PointAddVartime(row[j], row[j - 1], base);
    PointDouble(base, row[L::kEntries - 1]);  // 2^w * base, the next window's base
  }
  // Montgomery's simultaneous inversion: one FeInv for all the Z coordinates.
  std::vector<Fe> prefix(L::kPoints);
  Fe acc = FeOne();
  for (int k = 0; k < L::kPoints; ++k) {
    prefix[k] = acc;
    FeMul(acc, acc, jac[k].z);
  }
  Fe inv;
  FeInv(inv, acc);
  for (int k = L::kPoints - 1; k >= 0; --k) {
    Fe zinv, zinv2, zinv3;
    FeMul(zinv, inv, prefix[k]);
    FeMul(inv, inv, jac[k].z);
    FeSqr(zinv2, zinv);
    FeMul(zinv3, zinv2, zinv);
    FeMul(out[k].x, jac[k].x, zinv2);
    FeMul(out[k].y, jac[k].y, zinv3);
  }
}

// Bits [pos, pos + w) of k; bits at 256 and above read as zero.
inline unsigned Bits(const U256& k, int pos, int w) {
  if (pos >= 256) return 0;
  const int limb = pos / 64, shift = pos % 64;
  u64 v = k.v[limb] >> shift;
  if (shift + w > 64 && limb + 1 < 4) v |= k.v[limb + 1] << (64 - shift);
  return static_cast<unsigned>(v & ((u64{1} << w) - 1));
}

// Signed w-bit digits of k, least significant first.
template <typename L>
void Recode(int (&digits)[L::kDigits], const U256& k) {
  int carry = 0;
  for (int i = 0; i < L::kDigits; ++i) {
    int d = static_cast<int>(Bits(k, L::kWidth * i, L::kWidth)) + carry;
    carry = d > L::kEntries ? 1 : 0;
    digits[i] = d - (carry << L::kWidth);
  }
}

// The accumulator in XYZZ coordinates (x = X/ZZ, y = Y/ZZZ, ZZ^3 = ZZZ^2; ZZ = 0 is
// infinity): a mixed addition costs 8M + 2S against 8M + 3S in Jacobian coordinates, and the
// final x1 test needs no squaring (Bernstein-Lange, Explicit-Formulas Database, "xyzz").
struct XyzzPoint {
  Fe x, y, zz, zzz;
};

// r = 2a for a = -3 (dbl-2008-s-1): M = 3 X^2 + a ZZ^2 = 3 (X - ZZ)(X + ZZ).
void DoubleXyzz(XyzzPoint& r, const XyzzPoint& a) {
  Fe u, v, w, s, m, t, x3;
  FeDbl(u, a.y);
  FeSqr(v, u);
  FeMul(w, u, v);
  FeMul(s, a.x, v);
  FeSub(m, a.x, a.zz);
  FeAdd(t, a.x, a.zz);
  FeMul(m, m, t);
  FeDbl(t, m);
  FeAdd(m, m, t);
  FeSqr(x3, m);
  FeDbl(t, s);
  FeSub(x3, x3, t);
  FeSub(t, s, x3);
  FeMul(m, m, t);
  FeMul(t, w, a.y);
  FeSub(r.y, m, t);
  FeMul(r.zz, v, a.zz);
  FeMul(r.zzz, w, a.zzz);
  r.x = x3;
}

// acc += b for affine b (madd-2008-s). Variable time; handles acc = infinity, acc = b (a
// doubling) and acc = -b (P = 0 gives ZZ3 = 0: infinity).
inline void AddMixedXyzz(XyzzPoint& acc, const AffinePoint& b) {
  if (FeIsZeroMask(acc.zz)) {
    acc = XyzzPoint{b.x, b.y, FeOne(), FeOne()};
    return;
  }
  Fe p, rr, pp, ppp, q, t, x3;
  FeMul(p, b.x, acc.zz);
  FeSub(p, p, acc.x);
  FeMul(rr, b.y, acc.zzz);
  FeSub(rr, rr, acc.y);
  if (FeIsZeroMask(p) && FeIsZeroMask(rr)) {
    DoubleXyzz(acc, acc);
    return;
  }
  FeSqr(pp, p);
  FeMul(ppp, p, pp);
  FeMul(q, acc.x, pp);
  FeSqr(x3, rr);
  FeSub(x3, x3, ppp);
  FeDbl(t, q);
  FeSub(x3, x3, t);
  FeSub(t, q, x3);
  FeMul(rr, rr, t);
  FeMul(t, acc.y, ppp);
  FeSub(acc.y, rr, t);
  FeMul(acc.zz, acc.zz, pp);
  FeMul(acc.zzz, acc.zzz, ppp);
  acc.x = x3;
}

// acc += k * B from the fixed-base table of B. Variable time: k is public.
template <typename L>
void AddFixedBaseVartime(XyzzPoint& acc, const AffinePoint* table, const U256& k) {
  int digits[L::kDigits];
  Recode<L>(digits, k);
  for (int i = 0; i < L::kDigits; ++i) {
    const int d = digits[i];
    const AffinePoint* row = table + static_cast<std::size_t>(i) * L::kEntries;
    if (d > 0) {
      AddMixedXyzz(acc, row[d - 1]);
    } else if (d < 0) {
      AffinePoint neg = row[-d - 1];
      FeNeg(neg.y, neg.y);
      AddMixedXyzz(acc, neg);
    }
  }
}

const AffinePoint* BaseTable() {
  static const std::unique_ptr<AffinePoint[]> table = [] {
    auto t = std::make_unique<AffinePoint[]>(BaseLayout::kPoints);
    BuildFixedBase<BaseLayout>(t.get(), BasePoint());
    return t;
  }();
  return table.get();
}

}  // namespace

struct PrecomputedPublicKey::Table {
  AffinePoint points[KeyLayout::kPoints];
};

std::size_t PrecomputedPublicKey::TableBytes() { return sizeof(Table); }

PrecomputedPublicKey PrecomputedPublicKey::Build(const PublicKey& pub) {
  auto table = std::make_shared<Table>();
  BuildFixedBase<KeyLayout>(table->points, pub.point());
  return PrecomputedPublicKey(pub, std::move(table));
}

Status VerifyDigestPrecomputed(const PrecomputedPublicKey& key, ByteView e32,
                               const Signature& sig) {
  // The checks and messages mirror VerifyDigest (engine.cc) step for step.
  if (e32.size() != 32) return Error(ErrorCode::kInvalidArgument, "SM2 verify: e must be 32 bytes");
  // B1, B2: 1 <= r, s <= n - 1.
  const U256 r_int = FromBe32(sig.r.data());
  const U256 s_int = FromBe32(sig.s.data());
  if (!ScInRangeMask(r_int) || !ScInRangeMask(s_int)) {
    return Error(ErrorCode::kBadSignature, "SM2 signature: r or s not in [1, n-1]");
  }
  // B5: t = (r + s) mod n, t != 0.
  Sc r = ScFromIntReduce(r_int), s = ScFromIntReduce(s_int), t;
  ScAdd(t, r, s);
  if (ScIsZeroMask(t)) return Error(ErrorCode::kBadSignature, "SM2 signature: r + s = n");
  // B6: (x1, y1) = [s]G + [t]P, both from fixed-base tables. AddMixedXyzz handles every special
  // case (a partial sum equal to, or the negation of, the next entry; infinity).
  XyzzPoint p{FeOne(), FeOne(), FeZero(), FeZero()};
  AddFixedBaseVartime<BaseLayout>(p, BaseTable(), s_int);
  AddFixedBaseVartime<KeyLayout>(p, key.table_->points, ScToInt(t));
  if (FeIsZeroMask(p.zz)) return Error(ErrorCode::kBadSignature, "SM2 signature does not verify");
  // B7: R = (e + x1) mod n = r  <=>  x1 = c or x1 = c + n with c = (r - e) mod n (x1 < p < 2n),
  // compared projectively (X = x1 * ZZ) to save the inversion.
  Sc e = ScFromBytesReduce(e32.data()), c_m;
  ScSub(c_m, r, e);
  const U256 c = ScToInt(c_m);
  Fe cand;
  FeMul(cand, FeFromInt(c), p.zz);
  if (FeEqualMask(cand, p.x)) return OkStatus();
  U256 c_plus_n;
  if (Add4(c_plus_n, c, kOrderN.m) == 0 && MaskLess(c_plus_n, kFieldP.m)) {
    FeMul(cand, FeFromInt(c_plus_n), p.zz);
    if (FeEqualMask(cand, p.x)) return OkStatus();
  }
  return Error(ErrorCode::kBadSignature, "SM2 signature does not verify");
}

}  // namespace gmpki::crypto::sm2_engine
