#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include <cstdlib>

#include "crypto/ossl_internal.h"

namespace gmpki::crypto::internal {

Error OpensslError(ErrorCode code, const std::string& what) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return Error(code, what);
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return Error(code, what + " (" + buf + ")");
}

const Sm2Curve& Curve() {
  static const Sm2Curve curve = [] {
    BnCtxPtr ctx(BN_CTX_new());
    EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_sm2);
    // The curve is built into every OpenSSL 3.0 with SM2 enabled (Debian's is); without it the
    // component cannot do anything, so fail at first use rather than limp on.
    if (!ctx || group == nullptr) std::abort();
    const BIGNUM* n = EC_GROUP_get0_order(group);
    BIGNUM* n2 = BN_dup(n);
    BN_MONT_CTX* mont = BN_MONT_CTX_new();
    if (n2 == nullptr || mont == nullptr || BN_sub_word(n2, 2) != 1 ||
        BN_MONT_CTX_set(mont, n, ctx.get()) != 1) {
      std::abort();
    }
    return Sm2Curve{group, n, n2, mont};
  }();
  return curve;
}

bool BnToFixed(const BIGNUM* bn, std::uint8_t* out, std::size_t len) {
  return BN_bn2binpad(bn, out, static_cast<int>(len)) == static_cast<int>(len);
}

EcPointPtr PointFromUncompressed(ByteView point, BN_CTX* ctx) {
  // Only the uncompressed form 04||X||Y (GB/T 32918.1 4.2.9) is accepted: compressed and hybrid
  // forms are legal in the standard but never used in certificates, and refusing them keeps one
  // encoding per key.
  if (point.size() != 65 || point[0] != 0x04) return nullptr;
  const EC_GROUP* group = Curve().group;
  EcPointPtr p(EC_POINT_new(group));
  if (!p) return nullptr;
  // EC_POINT_oct2point rejects coordinates >= p and points not on the curve.
  if (EC_POINT_oct2point(group, p.get(), point.data(), point.size(), ctx) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  if (EC_POINT_is_at_infinity(group, p.get()) == 1) return nullptr;
  if (EC_POINT_is_on_curve(group, p.get(), ctx) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return p;
}

}  // namespace gmpki::crypto::internal
