// SM2 verification with a per-key precomputed table (issue #3: ">= 100,000 verifications/s
// with a precomputed key table"), for public keys that verify often: CA and OCSP issuer keys.
//
// VerifyDigest computes s*G + t*P with one shared chain of 256 doublings. Here both terms come
// from fixed-base tables of affine multiples, summed with mixed additions and no doubling:
// - G: one process-wide table, 26 windows x 512 points (j * 1024^i * G, 852 KB), signed
//   10-bit digits, built at first use (a few milliseconds);
// - P: a per-key table, 43 windows x 32 points (j * 64^i * P, 88 KB), signed 6-bit digits,
//   built by PrecomputedPublicKey::Build (about 0.4 ms).
// 69 additions in XYZZ coordinates (10 field multiplications each) against ~3,200
// multiplications for VerifyDigest: about 5 to 6 times faster.
//
// Everything here handles public values only (the key, the signature, e) and is variable
// time. Thread safety: a PrecomputedPublicKey is immutable after Build; copies share the
// table; VerifyDigestPrecomputed is thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/sm2_engine/engine.h"

namespace gmpki::crypto::sm2_engine {

class PrecomputedPublicKey {
 public:
  // Builds the fixed-base table of pub's point. Cannot fail: PublicKey is always a valid
  // point of order n (see PublicKey::FromPoint).
  static PrecomputedPublicKey Build(const PublicKey& pub);

  const PublicKey& public_key() const { return pub_; }
  // Size of the per-key table in bytes (the key's memory cost beyond PublicKey).
  static std::size_t TableBytes();

  struct Table;  // defined in precomp.cc

 private:
  PrecomputedPublicKey(const PublicKey& pub, std::shared_ptr<const Table> table)
      : pub_(pub), table_(std::move(table)) {}
  friend Status VerifyDigestPrecomputed(const PrecomputedPublicKey&, ByteView, const Signature&);
  PublicKey pub_;
  std::shared_ptr<const Table> table_;
};

// Same contract as VerifyDigest (GB/T 32918.2-2016 7.1 B1..B7), with the same results for
// every input: kInvalidArgument when e32 is not 32 bytes; kBadSignature unless
// 1 <= r, s <= n-1, t = (r + s) mod n != 0 and (e + x1) mod n = r for (x1, y1) = s*G + t*P.
Status VerifyDigestPrecomputed(const PrecomputedPublicKey& key, ByteView e32, const Signature& sig);

}  // namespace gmpki::crypto::sm2_engine
