// Points of the SM2 curve y^2 = x^3 + a*x + b over GF(p), a = p - 3 (GB/T 32918.5-2017
// section 3). Jacobian coordinates (X, Y, Z) stand for (X/Z^2, Y/Z^3); Z = 0 is the point at
// infinity. All formulas use a = -3 (doubling dbl-2001-b, 3M+5S; mixed and full addition from
// Hankerson-Menezes-Vanstone, "Guide to Elliptic Curve Cryptography", 3.2.2).
//
// Functions named *Vartime branch on their inputs and must only see public values
// (verification). All others run in constant time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "crypto/sm2_engine/fn.h"
#include "crypto/sm2_engine/fp.h"

namespace gmpki::crypto::sm2_engine {

struct AffinePoint {
  Fe x, y;  // Montgomery form
};

struct JacobianPoint {
  Fe x, y, z;  // Montgomery form; z = 0 is infinity
};

// The base point G and b, in Montgomery form.
const AffinePoint& BasePoint();
const Fe& CurveB();

inline JacobianPoint Infinity() { return JacobianPoint{FeOne(), FeOne(), FeZero()}; }
inline JacobianPoint ToJacobian(const AffinePoint& a) { return JacobianPoint{a.x, a.y, FeOne()}; }
inline u64 IsInfinityMask(const JacobianPoint& p) { return FeIsZeroMask(p.z); }

// r = 2a (infinity stays infinity). r may alias a.
void PointDouble(JacobianPoint& r, const JacobianPoint& a);

// r = a + b for affine b. Handles a = infinity and b = infinity (b_is_infinity all-ones) by
// masks. REQUIRES: a != b and a != -b when neither is infinity; callers guarantee it
// (ScalarMulBase proves it for its windows). r may alias a.
void PointAddMixed(JacobianPoint& r, const JacobianPoint& a, const AffinePoint& b,
                   u64 b_is_infinity);

// r = a + b for all inputs (infinity, a = b, a = -b), without secret-dependent branches.
void PointAdd(JacobianPoint& r, const JacobianPoint& a, const JacobianPoint& b);

// Variable-time versions for public inputs; all special cases handled (b affine is finite).
void PointAddVartime(JacobianPoint& r, const JacobianPoint& a, const JacobianPoint& b);
void PointAddMixedVartime(JacobianPoint& r, const JacobianPoint& a, const AffinePoint& b);

// Affine form of p; returns all-ones (and r = (0, 0)) when p is infinity. Constant time.
u64 PointToAffine(AffinePoint& r, const JacobianPoint& p);

// out[j] = the affine form of in[j] for j < count, with ONE field inversion for all of them
// (Montgomery's simultaneous-inversion trick) and 3 (count - 1) extra multiplications; `scratch`
// holds count elements. Constant time in the coordinates (batched key generation feeds it points
// derived from secret scalars); only count is public. Returns all-ones when some in[j] is
// infinity, and then every out[j] is (0, 0) (the product of the Z's is zero). out must not
// overlap in or scratch.
u64 BatchToAffineCt(AffinePoint* out, const JacobianPoint* in, std::size_t count, Fe* scratch);

// True when (x, y) satisfies the curve equation.
bool IsOnCurve(const AffinePoint& a);

// r = k*G for a plain 256-bit integer k (any value; k = 0 or a multiple of n gives infinity),
// in constant time: 37 signed 7-bit windows over a precomputed table of 37 x 64 affine
// multiples, each looked up by scanning all 64 entries.
void ScalarMulBase(JacobianPoint& r, const U256& k);

// Constant-time table lookup used by ScalarMulBase: r = entries[mag - 1] for mag in 1..64,
// r = (0, 0) for mag = 0, reading all 64 entries. Exposed for the tests.
void LookupCt(AffinePoint& r, const AffinePoint* entries, unsigned mag);
// The same without the AVX-512 path (the 256-bit-vector code, AVX2 or SSE2 clone), which
// LookupCt takes on CPUs without AVX-512F; exposed so that the tests cover both paths.
void LookupCtNoAvx512(AffinePoint& r, const AffinePoint* entries, unsigned mag);

// r = u1*G + u2*Q for public u1, u2, Q (signature verification). Variable time: one shared
// chain of doublings (Straus-Shamir), u1 in width-10 NAF over precomputed affine odd multiples
// of G, u2 in width-5 NAF over odd multiples of Q computed per call and made affine with one
// shared inversion, so every addition in the loop is a mixed one.
void DoubleScalarMulVartime(JacobianPoint& r, const U256& u1, const U256& u2, const AffinePoint& q);

}  // namespace gmpki::crypto::sm2_engine
