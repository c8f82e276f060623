// Internal to src/crypto: the one home of OpenSSL in this component (CONVENTIONS: every external
// library has exactly one home). Never include this from a public header or from another
// component; the public headers speak only in bytes.
#pragma once

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/error.h"

namespace gmpki::crypto::internal {

struct BnFree {
  // BN_clear_free: every BIGNUM here may hold a private scalar or a nonce.
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
};
struct BnCtxFree {
  void operator()(BN_CTX* p) const { BN_CTX_free(p); }
};
struct EcPointFree {
  void operator()(EC_POINT* p) const { EC_POINT_clear_free(p); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};

using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using BnCtxPtr = std::unique_ptr<BN_CTX, BnCtxFree>;
using EcPointPtr = std::unique_ptr<EC_POINT, EcPointFree>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// An Error whose message carries OpenSSL's first queued reason; the queue is cleared so that a
// stale entry cannot be misattributed to a later call.
Error OpensslError(ErrorCode code, const std::string& what);

// The SM2 curve (sm2p256v1), its order n and a Montgomery context for n, created once per
// process and shared read-only by all threads: creating an EC_GROUP costs more than a signature.
struct Sm2Curve {
  const EC_GROUP* group;
  const BIGNUM* n;
  const BIGNUM* n_minus_2;
  BN_MONT_CTX* mont_n;  // read-only after construction
};
const Sm2Curve& Curve();

// Big-endian, left-padded to `len` bytes. REQUIRES: BN_num_bytes(bn) <= len.
bool BnToFixed(const BIGNUM* bn, std::uint8_t* out, std::size_t len);

// Parses 04||X||Y into a point of the SM2 curve, rejecting wrong size/prefix, coordinates >= p,
// points off the curve and the point at infinity.
EcPointPtr PointFromUncompressed(ByteView point, BN_CTX* ctx);

}  // namespace gmpki::crypto::internal
