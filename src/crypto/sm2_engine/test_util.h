// Test helpers for the SM2 engine: conversions to and from OpenSSL BIGNUM, the independent
// arithmetic the tests compare against.
#pragma once

#include <openssl/bn.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "crypto/sm2_engine/mont256.h"

namespace gmpki::crypto::sm2_engine::testing {

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
struct CtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<BN_CTX, CtxFree>;

inline BnPtr ToBn(const U256& a) {
  std::uint8_t b[32];
  ToBe32(a, b);
  return BnPtr(BN_bin2bn(b, 32, nullptr));
}

inline U256 FromBn(const BIGNUM* bn) {
  std::uint8_t b[32];
  BN_bn2binpad(bn, b, 32);
  return FromBe32(b);
}

inline BnPtr HexBn(const char* hex) {
  BIGNUM* b = nullptr;
  BN_hex2bn(&b, hex);
  return BnPtr(b);
}

inline U256 RandomU256() {
  std::uint8_t b[32];
  RAND_bytes(b, 32);
  return FromBe32(b);
}

inline bool Equal(const U256& a, const U256& b) {
  return a.v[0] == b.v[0] && a.v[1] == b.v[1] && a.v[2] == b.v[2] && a.v[3] == b.v[3];
}

// Number of cases for the differential tests against OpenSSL: `default_count` (kept small so
// the suite stays fast) unless GMPKI_SM2_DIFF_CASES is set to a positive number, the long mode
// of issue #3 (e.g. GMPKI_SM2_DIFF_CASES=1000000; see README.md).
inline int DiffCases(int default_count) {
  const char* env = std::getenv("GMPKI_SM2_DIFF_CASES");
  if (env == nullptr || *env == '\0') return default_count;
  const long n = std::strtol(env, nullptr, 10);
  return n > 0 && n <= 100000000 ? static_cast<int>(n) : default_count;
}

}  // namespace gmpki::crypto::sm2_engine::testing
