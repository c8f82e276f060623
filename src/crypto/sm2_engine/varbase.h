// Constant-time variable-base scalar multiplication k*P on the SM2 curve, for the secret
// scalars of public-key encryption (GB/T 32918.4-2016 6.1 A4, the ephemeral k) and decryption
// (7.1 B3, the private key d_B). P itself is public (a public key or a received C1).
#pragma once

#include "crypto/sm2_engine/fn.h"
#include "crypto/sm2_engine/point.h"

namespace gmpki::crypto::sm2_engine {

// r = k*P for any 256-bit integer k (reduced mod n first; k = 0 mod n gives infinity) and a
// point P of the curve (the cofactor is 1, so P has order n). Constant time in k: k is
// reduced by a fixed sequence of operations, recoded into 52 signed 5-bit Booth digits without
// branches, and each digit selects its multiple of P by a masked scan of all 16 table entries;
// every window performs the same five doublings and one addition. The table P, 2P, ..., 16P is
// built per call from P alone.
void ScalarMulPoint(JacobianPoint& r, const U256& k, const AffinePoint& p);

}  // namespace gmpki::crypto::sm2_engine
