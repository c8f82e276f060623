// SM2 digital signature (GB/T 32918.2-2016 sections 6 and 7) over BIGNUM/EC_POINT. Written here
// rather than through EVP_PKEY_sign so that one code path serves the random-k production call
// and the fixed-k Annex A reproduction, and so that no EVP_PKEY has to be built per signature.
//
// Secret scalars (d, k, 1+d) carry BN_FLG_CONSTTIME; k*G uses OpenSSL's Montgomery ladder
// (EC_POINT_mul with only the generator scalar), and (1+d)^-1 is computed by Fermat's little
// theorem with the constant-time modular exponentiation, as OpenSSL's own SM2 code does.
#include <openssl/bn.h>
#include <openssl/ec.h>

#include "crypto/der_internal.h"
#include "crypto/ossl_internal.h"
#include "crypto/sm2.h"
#include "crypto/sm2_internal.h"

namespace gmpki::crypto {
namespace {

using internal::BnCtxPtr;
using internal::BnPtr;
using internal::EcPointPtr;

// Outcome of one signing attempt: the standard sends some k back to step A3.
enum class Attempt { kDone, kRetry, kFailed };

struct Signature {
  BnPtr r{BN_new()};
  BnPtr s{BN_new()};
};

// GB/T 32918.2-2016 6.1 A4-A6 for a given k. `d` and `k` are flagged constant-time by the caller.
Attempt SignWithK(const BIGNUM* d, const BIGNUM* e, const BIGNUM* k, BN_CTX* ctx, Signature& out) {
  const auto& curve = internal::Curve();
  BN_CTX_start(ctx);
  BIGNUM* x1 = BN_CTX_get(ctx);
  BIGNUM* tmp = BN_CTX_get(ctx);
  BIGNUM* dp1 = BN_CTX_get(ctx);
  BIGNUM* inv = BN_CTX_get(ctx);
  EcPointPtr kg(EC_POINT_new(curve.group));
  Attempt result = Attempt::kFailed;
  if (inv == nullptr || !kg || !out.r || !out.s) goto done;
  BN_set_flags(dp1, BN_FLG_CONSTTIME);
  BN_set_flags(inv, BN_FLG_CONSTTIME);
  BN_set_flags(tmp, BN_FLG_CONSTTIME);
  // A4: (x1, y1) = [k]G.
  if (EC_POINT_mul(curve.group, kg.get(), k, nullptr, nullptr, ctx) != 1 ||
      EC_POINT_get_affine_coordinates(curve.group, kg.get(), x1, nullptr, ctx) != 1) {
    goto done;
  }
  // A5: r = (e + x1) mod n; back to A3 if r = 0 or r + k = n.
  if (BN_mod_add(out.r.get(), e, x1, curve.n, ctx) != 1 || BN_add(tmp, out.r.get(), k) != 1) {
    goto done;
  }
  if (BN_is_zero(out.r.get()) || BN_cmp(tmp, curve.n) == 0) {
    result = Attempt::kRetry;
    goto done;
  }
  // A6: s = ((1 + d)^-1 * (k - r*d)) mod n; back to A3 if s = 0. n is prime, so the inverse is
  // (1 + d)^(n-2); 1 + d is in [2, n-1] because d is in [1, n-2].
  if (BN_copy(dp1, d) == nullptr || BN_add_word(dp1, 1) != 1 ||
      BN_mod_exp_mont_consttime(inv, dp1, curve.n_minus_2, curve.n, ctx, curve.mont_n) != 1 ||
      BN_mod_mul(tmp, out.r.get(), d, curve.n, ctx) != 1 ||
      BN_mod_sub(tmp, k, tmp, curve.n, ctx) != 1 ||
      BN_mod_mul(out.s.get(), inv, tmp, curve.n, ctx) != 1) {
    goto done;
  }
  result = BN_is_zero(out.s.get()) ? Attempt::kRetry : Attempt::kDone;
done:
  BN_CTX_end(ctx);  // BN_CTX_secure_new contexts clear what they hand out
  return result;
}

Result<Bytes> EncodeSignature(const Signature& sig) {
  std::uint8_t r[32], s[32];
  if (!internal::BnToFixed(sig.r.get(), r, 32) || !internal::BnToFixed(sig.s.get(), s, 32)) {
    return Error(ErrorCode::kInternal, "SM2 signature component too long");
  }
  Bytes seq;
  internal::AppendUnsignedInteger(seq, ByteView(r, 32));
  internal::AppendUnsignedInteger(seq, ByteView(s, 32));
  Bytes out;
  internal::AppendTlv(out, internal::kTagSequence, seq);
  return out;
}

struct SignInputs {
  BnCtxPtr ctx{BN_CTX_secure_new()};
  BnPtr d{BN_secure_new()};
  BnPtr e{BN_new()};
};

Result<SignInputs> PrepareSign(const Sm2PrivateKey& key, ByteView e32) {
  if (e32.size() != kSm3DigestSize) {
    return Error(ErrorCode::kInvalidArgument, "SM2: e must be a 32-byte SM3 digest");
  }
  const SecretBytes& scalar = key.scalar();
  // A moved-from key has no scalar; signing with d = 0 must not happen silently.
  if (scalar.size() != 32) return Error(ErrorCode::kInvalidArgument, "SM2: empty private key");
  SignInputs in;
  if (!in.ctx || !in.d || !in.e ||
      BN_bin2bn(scalar.data(), static_cast<int>(scalar.size()), in.d.get()) == nullptr ||
      BN_bin2bn(e32.data(), 32, in.e.get()) == nullptr) {
    return Error(ErrorCode::kCryptoFailure, "out of memory");
  }
  BN_set_flags(in.d.get(), BN_FLG_CONSTTIME);
  return in;
}

}  // namespace

namespace internal {
Result<Bytes> OsslSm2SignDigest(const Sm2PrivateKey& key, ByteView e32) {
  GMPKI_ASSIGN_OR_RETURN(SignInputs in, PrepareSign(key, e32));
  BnPtr k(BN_secure_new());
  if (!k) return Error(ErrorCode::kCryptoFailure, "out of memory");
  BN_set_flags(k.get(), BN_FLG_CONSTTIME);
  Signature sig;
  // The retry conditions of A5/A6 occur with probability about 2^-255 each; the bound only
  // guards against a broken random generator looping forever.
  for (int attempt = 0; attempt < 64; ++attempt) {
    // A3: k uniformly in [1, n-1], from the private DRBG.
    if (BN_priv_rand_range(k.get(), internal::Curve().n) != 1) {
      return internal::OpensslError(ErrorCode::kCryptoFailure, "SM2 sign: RNG failed");
    }
    if (BN_is_zero(k.get())) continue;
    switch (SignWithK(in.d.get(), in.e.get(), k.get(), in.ctx.get(), sig)) {
      case Attempt::kDone:
        return EncodeSignature(sig);
      case Attempt::kRetry:
        continue;
      case Attempt::kFailed:
        return internal::OpensslError(ErrorCode::kCryptoFailure, "SM2 signing failed");
    }
  }
  return Error(ErrorCode::kCryptoFailure, "SM2 signing: no usable k");
}
}  // namespace internal

Result<Bytes> Sm2Sign(const Sm2PrivateKey& key, const Sm2PublicKey& pub, ByteView id,
                      ByteView message) {
  GMPKI_ASSIGN_OR_RETURN(Sm3Digest e, Sm2MessageDigest(pub, id, message));
  return Sm2SignDigest(key, e);
}

namespace internal {

Result<Bytes> Sm2SignDigestWithK(const Sm2PrivateKey& key, ByteView e32, ByteView k32) {
  GMPKI_ASSIGN_OR_RETURN(SignInputs in, PrepareSign(key, e32));
  if (k32.size() != 32) return Error(ErrorCode::kInvalidArgument, "k must be 32 bytes");
  BnPtr k(BN_secure_new());
  if (!k || BN_bin2bn(k32.data(), 32, k.get()) == nullptr) {
    return Error(ErrorCode::kCryptoFailure, "out of memory");
  }
  BN_set_flags(k.get(), BN_FLG_CONSTTIME);
  if (BN_is_zero(k.get()) || BN_cmp(k.get(), Curve().n) >= 0) {
    return Error(ErrorCode::kInvalidArgument, "k outside [1, n-1]");
  }
  Signature sig;
  switch (SignWithK(in.d.get(), in.e.get(), k.get(), in.ctx.get(), sig)) {
    case Attempt::kDone:
      return EncodeSignature(sig);
    case Attempt::kRetry:
      return Error(ErrorCode::kInvalidArgument, "k gives r = 0, r + k = n or s = 0");
    case Attempt::kFailed:
      break;
  }
  return OpensslError(ErrorCode::kCryptoFailure, "SM2 signing failed");
}

}  // namespace internal

namespace internal {
Status OsslSm2VerifyDigest(const Sm2PublicKey& pub, ByteView e32, ByteView der_signature) {
  if (e32.size() != kSm3DigestSize) {
    return Error(ErrorCode::kInvalidArgument, "SM2: e must be a 32-byte SM3 digest");
  }
  const Error bad(ErrorCode::kBadSignature, "SM2 signature does not verify");
  internal::DerReader outer(der_signature);
  auto seq = outer.Read(internal::kTagSequence);
  if (!seq.ok() || !outer.empty()) return bad;
  internal::DerReader body(*seq);
  auto r_bytes = body.ReadUnsignedInteger();
  if (!r_bytes.ok()) return bad;
  auto s_bytes = body.ReadUnsignedInteger();
  if (!s_bytes.ok() || !body.empty() || r_bytes->size() > 32 || s_bytes->size() > 32) return bad;

  const auto& curve = internal::Curve();
  BnCtxPtr ctx(BN_CTX_new());
  BnPtr r(BN_bin2bn(r_bytes->data(), static_cast<int>(r_bytes->size()), nullptr));
  BnPtr s(BN_bin2bn(s_bytes->data(), static_cast<int>(s_bytes->size()), nullptr));
  BnPtr e(BN_bin2bn(e32.data(), 32, nullptr));
  BnPtr t(BN_new());
  BnPtr x1(BN_new());
  EcPointPtr point(EC_POINT_new(curve.group));
  if (!ctx || !r || !s || !e || !t || !x1 || !point) {
    return Error(ErrorCode::kCryptoFailure, "out of memory");
  }
  // B1, B2: r and s in [1, n-1].
  if (BN_is_zero(r.get()) || BN_cmp(r.get(), curve.n) >= 0 || BN_is_zero(s.get()) ||
      BN_cmp(s.get(), curve.n) >= 0) {
    return bad;
  }
  EcPointPtr pa = internal::PointFromUncompressed(pub.point(), ctx.get());
  if (!pa) return Error(ErrorCode::kInvalidArgument, "SM2 public key is not valid");
  // B5: t = (r' + s') mod n, fail if t = 0. B6: (x1', y1') = [s']G + [t]P_A.
  if (BN_mod_add(t.get(), r.get(), s.get(), curve.n, ctx.get()) != 1) {
    return internal::OpensslError(ErrorCode::kCryptoFailure, "SM2 verify failed");
  }
  if (BN_is_zero(t.get())) return bad;
  if (EC_POINT_mul(curve.group, point.get(), s.get(), pa.get(), t.get(), ctx.get()) != 1) {
    return internal::OpensslError(ErrorCode::kCryptoFailure, "SM2 verify failed");
  }
  if (EC_POINT_is_at_infinity(curve.group, point.get()) == 1) return bad;
  // B7: R = (e' + x1') mod n; accept iff R = r'.
  if (EC_POINT_get_affine_coordinates(curve.group, point.get(), x1.get(), nullptr, ctx.get()) !=
          1 ||
      BN_mod_add(t.get(), e.get(), x1.get(), curve.n, ctx.get()) != 1) {
    return internal::OpensslError(ErrorCode::kCryptoFailure, "SM2 verify failed");
  }
  if (BN_cmp(t.get(), r.get()) != 0) return bad;
  return OkStatus();
}
}  // namespace internal

Status Sm2Verify(const Sm2PublicKey& pub, ByteView id, ByteView message, ByteView der_signature) {
  GMPKI_ASSIGN_OR_RETURN(Sm3Digest e, Sm2MessageDigest(pub, id, message));
  return Sm2VerifyDigest(pub, e, der_signature);
}

}  // namespace gmpki::crypto
