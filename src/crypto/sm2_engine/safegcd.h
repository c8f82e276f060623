// Constant-time modular inversion by Bernstein-Yang "safegcd" divsteps (D. J. Bernstein and
// B.-Y. Yang, "Fast constant-time gcd computation and modular inversion", TCHES 2019(3)), in the
// variant of libsecp256k1's modinv64 (P. Wuille, doc/safegcd_implementation.md): signed 62-bit
// limbs, batches of 59 divsteps on the low limbs with a 2x2 transition matrix, and 10 batches
// (590 divsteps, the proven bound for 256-bit inputs with delta starting at 1/2).
//
// Constant time: a fixed number of iterations; every data-dependent choice is a mask (the
// masks pass through volatile variables so the compiler cannot turn them into branches).
// Covered by the valgrind check (ct_check.cc) through FeInv / ScInv.
#pragma once

#include "crypto/sm2_engine/mont256.h"

namespace gmpki::crypto::sm2_engine {

// An odd 256-bit modulus prepared for SafegcdInverse.
struct SafegcdModulus {
  std::int64_t m[5];    // the modulus in signed 62-bit limbs
  std::uint64_t inv62;  // modulus^-1 mod 2^62
};

SafegcdModulus MakeSafegcdModulus(const U256& m);

// Returns x^-1 mod m for 0 <= x < m (plain integers, not Montgomery form); 0 when x = 0.
U256 SafegcdInverse(const U256& x, const SafegcdModulus& mod);

// The same result in variable time (libsecp256k1's modinv64_var: divsteps skip zero runs and
// the loop stops when g = 0), about twice as fast; for public values only (verification).
U256 SafegcdInverseVartime(const U256& x, const SafegcdModulus& mod);

}  // namespace gmpki::crypto::sm2_engine
