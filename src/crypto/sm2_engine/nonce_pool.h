// Signing nonces prepared ahead, in batches (issue #3: signing >= 150,000/s per core).
//
// A signature (GB/T 32918.2-2016 6.1) needs a fresh uniformly random k in [1, n-1] (A3) and the
// x coordinate of k*G (A4); neither depends on the key or the message. Preparing them in batches
// of kNonceBatch lets one DRBG call and one field inversion (Montgomery's simultaneous
// inversion over the batch) serve the whole batch: per signature that removes the inversion of
// k*G's Z coordinate (~1.3 us) and most of a DRBG call, about a fifth of a signature.
//
// Security: k stays uniformly random from crypto::RandomFill, is used exactly once (taken out of
// the pool and wiped in the same step) and never leaves the thread that drew it (one pool per
// thread, no sharing, no locking). A pool copied into a child process by fork() would hand the
// same k to parent and child, which reveals d from two signatures; a pthread_atfork child
// handler therefore bumps a process-wide generation and a pool from an older generation is
// wiped, unused, before the next take. (Only fork() runs the handlers: a raw clone() or
// vfork() child that signs before exec is not supported, as with any user-space DRBG state.)
// The batch computation is constant time in the k values (ScalarMulBase, the batched
// inversion); only the public rejection verdict of A3 (k outside [1, n-1], probability about
// 2^-224 per candidate) branches.
#pragma once

#include <cstddef>

#include "base/result.h"
#include "crypto/sm2_engine/fn.h"

namespace gmpki::crypto::sm2_engine {

inline constexpr std::size_t kNonceBatch = 16;

// k in Montgomery form mod n, and x1 = x(k*G) reduced mod n (as A5 uses it).
struct Nonce {
  Sc k;
  Sc x1;
};

// Takes one unused nonce of the calling thread's pool into `out`, refilling the pool first
// when it is empty or was inherited through fork(). Fails only when the DRBG fails (or keeps
// returning out-of-range values). The caller wipes `out` after use.
Status TakeNonce(Nonce& out);

// The batch computation alone, for the tests and the constant-time check: out[j] = (k_j,
// x(k_j * G) mod n) for j < count. REQUIRES: 1 <= k[j] <= n - 1 (then no k_j*G is infinity).
// Constant time in the k_j. Returns false only if some k_j*G was infinity (k_j = 0 mod n).
bool ComputeNonces(Nonce* out, const U256* k, std::size_t count);

// Wipes the calling thread's pool (tests: the next TakeNonce refills).
void DiscardThreadNoncesForTesting();

}  // namespace gmpki::crypto::sm2_engine
