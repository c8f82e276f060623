// Start-up self-tests (CC-FPT): known-answer tests of SM3, HMAC-SM3, SM4 (ECB, CBC, CTR, GCM),
// the SM2 signature and decryption examples of GB/T 32918, a pairwise-consistency test of a
// freshly generated key, and a health test of the random source. Every binary calls
// RunSelfTests() before serving; a failure must stop the process.
#pragma once

#include "base/result.h"

namespace gmpki::crypto {

Status RunSelfTests();

// For tests of the failure path only: makes the next RunSelfTests() fail its SM3 KAT.
void InjectSelfTestFailureForTesting(bool on);

}  // namespace gmpki::crypto
