#include "crypto/sm2_engine/safegcd.h"

namespace gmpki::crypto::sm2_engine {
namespace {

using i64 = std::int64_t;
using i128 = __int128;

constexpr u64 kM62 = ~0ULL >> 2;

struct Signed62 {
  i64 v[5];
};

struct Trans2x2 {
  i64 u, v, q, r;
};

Signed62 ToSigned62(const U256& a) {
  return Signed62{
      {static_cast<i64>(a.v[0] & kM62), static_cast<i64>(((a.v[0] >> 62) | (a.v[1] << 2)) & kM62),
       static_cast<i64>(((a.v[1] >> 60) | (a.v[2] << 4)) & kM62),
       static_cast<i64>(((a.v[2] >> 58) | (a.v[3] << 6)) & kM62), static_cast<i64>(a.v[3] >> 56)}};
}

// REQUIRES: limbs 0..3 in [0, 2^62), limb 4 in [0, 2^8).
U256 FromSigned62(const Signed62& s) {
  const u64 v0 = static_cast<u64>(s.v[0]), v1 = static_cast<u64>(s.v[1]);
  const u64 v2 = static_cast<u64>(s.v[2]), v3 = static_cast<u64>(s.v[3]);
  const u64 v4 = static_cast<u64>(s.v[4]);
  return U256{
      {v0 | (v1 << 62), (v1 >> 2) | (v2 << 60), (v2 >> 4) | (v3 << 58), (v3 >> 6) | (v4 << 56)}};
}

// 59 divsteps on the low 64 bits of f and g, zeta = -(delta + 1/2). Returns the new zeta and
// the transition matrix scaled by 2^62 (it starts at 8 = 2^3 and doubles 59 times).
i64 Divsteps59(i64 zeta, u64 f0, u64 g0, Trans2x2& t) {
  u64 u = 8, v = 0, q = 0, r = 8;
  volatile u64 c1, c2;
  u64 mask1, mask2, f = f0, g = g0, x, y, z;
  for (int i = 3; i < 62; ++i) {
    // f is always odd. mask1: delta > 0 (zeta < 0); mask2: g odd.
    c1 = static_cast<u64>(zeta >> 63);
    mask1 = c1;
    c2 = g & 1;
    mask2 = 0 - c2;
    // If delta > 0 use -f, -u, -v, else f, u, v; add them to g, q, r when g is odd.
    x = (f ^ mask1) - mask1;
    y = (u ^ mask1) - mask1;
    z = (v ^ mask1) - mask1;
    g += x & mask2;
    q += y & mask2;
    r += z & mask2;
    // Swap when delta > 0 and g is odd: (f, u, v) takes the old (g, q, r).
    mask1 &= mask2;
    zeta = (zeta ^ static_cast<i64>(mask1)) - 1;
    f += g & mask1;
    u += q & mask1;
    v += r & mask1;
    g >>= 1;
    u <<= 1;
    v <<= 1;
  }
  t.u = static_cast<i64>(u);
  t.v = static_cast<i64>(v);
  t.q = static_cast<i64>(q);
  t.r = static_cast<i64>(r);
  return zeta;
}

// [d, e] = t [d, e] / 2^62 mod m, keeping d and e in (-2m, m).
void UpdateDe(Signed62& d, Signed62& e, const Trans2x2& t, const SafegcdModulus& mod) {
  const i64 d0 = d.v[0], d1 = d.v[1], d2 = d.v[2], d3 = d.v[3], d4 = d.v[4];
  const i64 e0 = e.v[0], e1 = e.v[1], e2 = e.v[2], e3 = e.v[3], e4 = e.v[4];
  const i64 u = t.u, v = t.v, q = t.q, r = t.r;
  // md, me start as [u, q] if d < 0 plus [v, r] if e < 0 (brings the result back above -2m).
  const i64 sd = d4 >> 63, se = e4 >> 63;
  i64 md = (u & sd) + (v & se);
  i64 me = (q & sd) + (r & se);
  i128 cd = static_cast<i128>(u) * d0 + static_cast<i128>(v) * e0;
  i128 ce = static_cast<i128>(q) * d0 + static_cast<i128>(r) * e0;
  // Choose md, me so that t [d, e] + m [md, me] has 62 zero low bits.
  md -= static_cast<i64>((mod.inv62 * static_cast<u64>(cd) + static_cast<u64>(md)) & kM62);
  me -= static_cast<i64>((mod.inv62 * static_cast<u64>(ce) + static_cast<u64>(me)) & kM62);
  cd += static_cast<i128>(mod.m[0]) * md;
  ce += static_cast<i128>(mod.m[0]) * me;
  cd >>= 62;
  ce >>= 62;
  const i64 dl[5] = {d0, d1, d2, d3, d4}, el[5] = {e0, e1, e2, e3, e4};
  for (int i = 1; i < 5; ++i) {
    cd += static_cast<i128>(u) * dl[i] + static_cast<i128>(v) * el[i];
    ce += static_cast<i128>(q) * dl[i] + static_cast<i128>(r) * el[i];
    cd += static_cast<i128>(mod.m[i]) * md;
    ce += static_cast<i128>(mod.m[i]) * me;
    d.v[i - 1] = static_cast<i64>(static_cast<u64>(cd) & kM62);
    e.v[i - 1] = static_cast<i64>(static_cast<u64>(ce) & kM62);
    cd >>= 62;
    ce >>= 62;
  }
  d.v[4] = static_cast<i64>(cd);
  e.v[4] = static_cast<i64>(ce);
}

// [f, g] = t [f, g] / 2^62 (exact).
void UpdateFg(Signed62& f, Signed62& g, const Trans2x2& t) {
  const i64 u = t.u, v = t.v, q = t.q, r = t.r;
  i128 cf = static_cast<i128>(u) * f.v[0] + static_cast<i128>(v) * g.v[0];
  i128 cg = static_cast<i128>(q) * f.v[0] + static_cast<i128>(r) * g.v[0];
  cf >>= 62;
  cg >>= 62;
  for (int i = 1; i < 5; ++i) {
    const i64 fi = f.v[i], gi = g.v[i];
    cf += static_cast<i128>(u) * fi + static_cast<i128>(v) * gi;
    cg += static_cast<i128>(q) * fi + static_cast<i128>(r) * gi;
    f.v[i - 1] = static_cast<i64>(static_cast<u64>(cf) & kM62);
    g.v[i - 1] = static_cast<i64>(static_cast<u64>(cg) & kM62);
    cf >>= 62;
    cg >>= 62;
  }
  f.v[4] = static_cast<i64>(cf);
  g.v[4] = static_cast<i64>(cg);
}

// Variable-time divsteps (libsecp256k1's modinv64 divsteps_62_var; safegcd_implementation.md
// section 5): 62 divsteps on the low 64 bits with eta = -delta, skipping runs of zeros of g at
// once and cancelling up to 6 (eta < 0) or 4 low bits of g per step by a multiple of f. The
// matrix is scaled by 2^62 like Divsteps59's. Public inputs only.
i64 Divsteps62Vartime(i64 eta, u64 f0, u64 g0, Trans2x2& t) {
  u64 u = 1, v = 0, q = 0, r = 1, f = f0, g = g0, m, w;
  int i = 62;
  for (;;) {
    // A sentinel bit keeps the count of zeros at most i.
    const int zeros = __builtin_ctzll(g | (~0ULL << i));
    g >>= zeros;
    u <<= zeros;
    v <<= zeros;
    eta -= zeros;
    i -= zeros;
    if (i == 0) break;
    // f and g are both odd now.
    if (eta < 0) {
      // Negate eta and replace (f, g) with (g, -f); then cancel up to min(eta + 1, i, 6) bits.
      eta = -eta;
      u64 tmp = f;
      f = g;
      g = 0 - tmp;
      tmp = u;
      u = q;
      q = 0 - tmp;
      tmp = v;
      v = r;
      r = 0 - tmp;
      const int limit = static_cast<int>(eta) + 1 > i ? i : static_cast<int>(eta) + 1;
      m = (~0ULL >> (64 - limit)) & 63U;
      // f * (f^2 - 2) is -f^-1 mod 64 for odd f, so w = -g / f mod 2^limit.
      w = (f * g * (f * f - 2)) & m;
    } else {
      // eta tends to be small here: up to min(eta + 1, i, 4) bits, w = -g / f mod 16.
      const int limit = static_cast<int>(eta) + 1 > i ? i : static_cast<int>(eta) + 1;
      m = (~0ULL >> (64 - limit)) & 15U;
      w = f + (((f + 1) & 4) << 1);
      w = (0 - w * g) & m;
    }
    g += f * w;
    q += u * w;
    r += v * w;
  }
  t.u = static_cast<i64>(u);
  t.v = static_cast<i64>(v);
  t.q = static_cast<i64>(q);
  t.r = static_cast<i64>(r);
  return eta;
}

// r in (-2m, m) to [0, m), negated first when sign < 0 (f = -1 at the end).
void Normalize(Signed62& r, i64 sign, const SafegcdModulus& mod) {
  i64 r0 = r.v[0], r1 = r.v[1], r2 = r.v[2], r3 = r.v[3], r4 = r.v[4];
  volatile i64 cond_add, cond_negate;
  cond_add = r4 >> 63;  // add m when negative: (-2m, m) -> (-m, m)
  r0 += mod.m[0] & cond_add;
  r1 += mod.m[1] & cond_add;
  r2 += mod.m[2] & cond_add;
  r3 += mod.m[3] & cond_add;
  r4 += mod.m[4] & cond_add;
  cond_negate = sign >> 63;
  r0 = (r0 ^ cond_negate) - cond_negate;
  r1 = (r1 ^ cond_negate) - cond_negate;
  r2 = (r2 ^ cond_negate) - cond_negate;
  r3 = (r3 ^ cond_negate) - cond_negate;
  r4 = (r4 ^ cond_negate) - cond_negate;
  const i64 m62 = static_cast<i64>(kM62);
  r1 += r0 >> 62;
  r0 &= m62;
  r2 += r1 >> 62;
  r1 &= m62;
  r3 += r2 >> 62;
  r2 &= m62;
  r4 += r3 >> 62;
  r3 &= m62;
  cond_add = r4 >> 63;  // (-m, m) -> [0, m)
  r0 += mod.m[0] & cond_add;
  r1 += mod.m[1] & cond_add;
  r2 += mod.m[2] & cond_add;
  r3 += mod.m[3] & cond_add;
  r4 += mod.m[4] & cond_add;
  r1 += r0 >> 62;
  r0 &= m62;
  r2 += r1 >> 62;
  r1 &= m62;
  r3 += r2 >> 62;
  r2 &= m62;
  r4 += r3 >> 62;
  r3 &= m62;
  r = Signed62{{r0, r1, r2, r3, r4}};
}

}  // namespace

SafegcdModulus MakeSafegcdModulus(const U256& m) {
  SafegcdModulus out{};
  const Signed62 s = ToSigned62(m);
  for (int i = 0; i < 5; ++i) out.m[i] = s.v[i];
  // Newton iteration for m^-1 mod 2^64 (m odd): each step doubles the correct low bits.
  u64 inv = m.v[0];  // correct to 3 bits
  for (int i = 0; i < 5; ++i) inv *= 2 - m.v[0] * inv;
  out.inv62 = inv & kM62;
  return out;
}

U256 SafegcdInverse(const U256& x, const SafegcdModulus& mod) {
  Signed62 d = {{0, 0, 0, 0, 0}};
  Signed62 e = {{1, 0, 0, 0, 0}};
  Signed62 f = {{mod.m[0], mod.m[1], mod.m[2], mod.m[3], mod.m[4]}};
  Signed62 g = ToSigned62(x);
  i64 zeta = -1;  // delta = 1/2
  for (int i = 0; i < 10; ++i) {
    Trans2x2 t;
    zeta = Divsteps59(zeta, static_cast<u64>(f.v[0]), static_cast<u64>(g.v[0]), t);
    UpdateDe(d, e, t, mod);
    UpdateFg(f, g, t);
  }
  // Now g = 0 and f = +-gcd = +-1 (or f = +-m for x = 0, where d stays 0).
  Normalize(d, f.v[4], mod);
  return FromSigned62(d);
}

U256 SafegcdInverseVartime(const U256& x, const SafegcdModulus& mod) {
  Signed62 d = {{0, 0, 0, 0, 0}};
  Signed62 e = {{1, 0, 0, 0, 0}};
  Signed62 f = {{mod.m[0], mod.m[1], mod.m[2], mod.m[3], mod.m[4]}};
  Signed62 g = ToSigned62(x);
  i64 eta = -1;  // eta = -delta, delta = 1
  // Until g = 0; for gcd(x, m) = 1 that takes at most 12 rounds of 62 divsteps (724 is the
  // proven bound for 256 bits), usually about 7. x = 0 stops after one round with d = 0.
  bool done = false;
  for (int round = 0; round < 16 && !done; ++round) {
    Trans2x2 t;
    eta = Divsteps62Vartime(eta, static_cast<u64>(f.v[0]), static_cast<u64>(g.v[0]), t);
    UpdateDe(d, e, t, mod);
    UpdateFg(f, g, t);
    done = (g.v[0] | g.v[1] | g.v[2] | g.v[3] | g.v[4]) == 0;
  }
  if (!done) return SafegcdInverse(x, mod);  // beyond the bound: cannot happen; stay correct
  Normalize(d, f.v[4], mod);
  return FromSigned62(d);
}

}  // namespace gmpki::crypto::sm2_engine
