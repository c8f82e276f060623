// SM2 keys (GB/T 32918.1-2016), SubjectPublicKeyInfo (GM/T 0015 / RFC 5480 shape) and the
// user-ID hash Z (GB/T 32918.2-2016 5.5).
#include <openssl/bn.h>
#include <openssl/ec.h>

#include <algorithm>
#include <cstring>
#include <span>

#include "crypto/der_internal.h"
#include "crypto/ossl_internal.h"
#include "crypto/random.h"
#include "crypto/sm2.h"
#include "crypto/sm2_engine/engine.h"
#include "crypto/sm2_internal.h"

namespace gmpki::crypto {
namespace {

using internal::BnCtxPtr;
using internal::BnPtr;
using internal::EcPointPtr;

// DER contents of the OIDs (STANDARDS-NOTES 1.1): id-ecPublicKey 1.2.840.10045.2.1 and the
// SM2 algorithm / curve OID 1.2.156.10197.1.301.
constexpr std::uint8_t kOidEcPublicKey[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};
constexpr std::uint8_t kOidSm2[] = {0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D};

bool Equal(ByteView a, ByteView b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

// a, b, xG, yG of sm2p256v1 (GB/T 32918.5-2016 section 3; STANDARDS-NOTES 1.2), the fixed part
// of the Z input.
constexpr std::uint8_t kCurveParamsForZ[128] = {
    // a
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFC,
    // b
    0x28, 0xE9, 0xFA, 0x9E, 0x9D, 0x9F, 0x5E, 0x34, 0x4D, 0x5A, 0x9E, 0x4B, 0xCF, 0x65, 0x09, 0xA7,
    0xF3, 0x97, 0x89, 0xF5, 0x15, 0xAB, 0x8F, 0x92, 0xDD, 0xBC, 0xBD, 0x41, 0x4D, 0x94, 0x0E, 0x93,
    // xG
    0x32, 0xC4, 0xAE, 0x2C, 0x1F, 0x19, 0x81, 0x19, 0x5F, 0x99, 0x04, 0x46, 0x6A, 0x39, 0xC9, 0x94,
    0x8F, 0xE3, 0x0B, 0xBF, 0xF2, 0x66, 0x0B, 0xE1, 0x71, 0x5A, 0x45, 0x89, 0x33, 0x4C, 0x74, 0xC7,
    // yG
    0xBC, 0x37, 0x36, 0xA2, 0xF4, 0xF6, 0x77, 0x9C, 0x59, 0xBD, 0xCE, 0xE3, 0x6B, 0x69, 0x21, 0x53,
    0xD0, 0xA9, 0x87, 0x7C, 0xC6, 0x2A, 0x47, 0x40, 0x02, 0xDF, 0x32, 0xE5, 0x21, 0x39, 0xF0, 0xA0,
};

// Keys per engine batch: one field inversion per this many keys, and bounded scratch memory
// (about 230 bytes per key) for calls of any size.
constexpr std::size_t kKeyBatch = 1024;

constexpr std::uint8_t kPctDigest[32] = {'g', 'm', 'p', 'k', 'i', ' ', 'p', 'c', 't'};

// Pairwise-consistency test (CC-FPT; FIPS 140-3 IG 10.3.A shape) of a sign/verify pair.
Status SignVerifyPct(const Sm2KeyPair& pair) {
  GMPKI_ASSIGN_OR_RETURN(Bytes sig, Sm2SignDigest(pair.private_key, ByteView(kPctDigest, 32)));
  if (!Sm2VerifyDigest(pair.public_key, ByteView(kPctDigest, 32), sig).ok()) {
    return Error(ErrorCode::kSelfTestFailure, "SM2 pairwise consistency test failed");
  }
  return OkStatus();
}

// The pairwise-consistency test of one engine batch, out[first, first + m) (CC-FPT). Why not
// Sm2GenerateKeyPair's sign + verify per key: that costs one unknown-key verification (~37 us)
// per key, four times the generation itself (~7 us), and would cap the batch at the single-key
// rate. What can go wrong in a batch, and what catches it:
//  - a fault in one key's k*G or in the shared inversion gives a wrong (x, y); a wrong Z^-1 by
//    a factor u maps the point onto the curve y^2 = x^3 + a u^4 x + b u^6, which is the SM2
//    curve only for u = +-1: the on-curve check of every point (Sm2PublicKey::FromPoint, done
//    by the caller) catches all of these except the sign of y;
//  - a systematic fault (the wrong scalar used, y negated, the table or the arithmetic broken)
//    affects every key of the batch: a sign + verify of one pair chosen at random (so that no
//    fixed position escapes) catches it. The signature is made from d alone (the engine
//    derives its own d*G), and the verification uses the batch's public point, so it also
//    proves that point is d*G for that pair.
// Together about 45 us per batch (0.2 us per key at 256 keys). Any failure discards the call.
Status BatchPairwiseTest(const std::vector<Sm2KeyPair>& out, std::size_t first, std::size_t m) {
  std::uint8_t pick[4];
  GMPKI_RETURN_IF_ERROR(RandomFill(std::span<std::uint8_t>(pick, sizeof(pick))));
  const std::uint32_t r = static_cast<std::uint32_t>(pick[0]) << 24 |
                          static_cast<std::uint32_t>(pick[1]) << 16 |
                          static_cast<std::uint32_t>(pick[2]) << 8 | pick[3];
  return SignVerifyPct(out[first + r % m]);
}

}  // namespace

Result<Sm2PublicKey> Sm2PublicKey::FromPoint(ByteView uncompressed) {
  if (uncompressed.size() != 65) {
    return Error(ErrorCode::kMalformedInput, "SM2 public key must be a 65-byte 04||X||Y point");
  }
  if (uncompressed[0] != 0x04) {
    return Error(ErrorCode::kMalformedInput, "SM2 public key must be an uncompressed point");
  }
  // GB/T 32918.1-2016 6.2.1 (public key validation): not infinity, coordinates in [0, p-1], on
  // the curve, and [n]P = O. The cofactor h of sm2p256v1 is 1, so every curve point other than
  // O has order n and the last check holds once the point is on the curve. The engine's check
  // (coordinates below p, curve equation; infinity has no 04 encoding) takes about 0.1 us
  // against 1.3 us for OpenSSL's EC_POINT_oct2point path (which stays in use under
  // GMPKI_SM2_IMPL=openssl); batched key generation runs it on every key.
  bool valid = false;
  if (internal::Sm2UsesOpenssl()) {
    BnCtxPtr ctx(BN_CTX_new());
    if (!ctx) return Error(ErrorCode::kCryptoFailure, "out of memory");
    valid = internal::PointFromUncompressed(uncompressed, ctx.get()) != nullptr;
  } else {
    valid = sm2_engine::PublicKey::FromPoint(uncompressed).ok();
  }
  if (!valid) {
    return Error(ErrorCode::kMalformedInput, "SM2 public key is not a point of the SM2 curve");
  }
  Sm2PublicKey key;
  std::memcpy(key.point_.data(), uncompressed.data(), 65);
  return key;
}

Result<Sm2PublicKey> Sm2PublicKey::FromSpkiDer(ByteView der) {
  using internal::DerReader;
  DerReader outer(der);
  GMPKI_ASSIGN_OR_RETURN(ByteView spki, outer.Read(internal::kTagSequence));
  if (!outer.empty()) return Error(ErrorCode::kMalformedInput, "SPKI: trailing data");
  DerReader body(spki);
  GMPKI_ASSIGN_OR_RETURN(ByteView alg, body.Read(internal::kTagSequence));
  GMPKI_ASSIGN_OR_RETURN(ByteView bits, body.Read(internal::kTagBitString));
  if (!body.empty()) return Error(ErrorCode::kMalformedInput, "SPKI: extra fields");
  DerReader alg_reader(alg);
  GMPKI_ASSIGN_OR_RETURN(ByteView alg_oid, alg_reader.Read(internal::kTagOid));
  // GM/T 0015-2023 (quoted in GmSSL PR #1912): both id-ecPublicKey and the SM2 OID may appear as
  // the algorithm; the parameters must name the SM2 curve. Absent parameters are rejected, as
  // OpenSSL 3.0 does (STANDARDS-NOTES 1.3).
  if (!Equal(alg_oid, kOidEcPublicKey) && !Equal(alg_oid, kOidSm2)) {
    return Error(ErrorCode::kUnsupported, "SPKI: not an EC/SM2 public key");
  }
  if (alg_reader.empty()) {
    return Error(ErrorCode::kMalformedInput, "SPKI: namedCurve parameters missing");
  }
  GMPKI_ASSIGN_OR_RETURN(ByteView curve_oid, alg_reader.Read(internal::kTagOid));
  if (!alg_reader.empty()) return Error(ErrorCode::kMalformedInput, "SPKI: bad parameters");
  if (!Equal(curve_oid, kOidSm2)) {
    return Error(ErrorCode::kUnsupported, "SPKI: curve is not sm2p256v1");
  }
  if (bits.empty() || bits[0] != 0) {
    return Error(ErrorCode::kMalformedInput, "SPKI: key BIT STRING has unused bits");
  }
  return FromPoint(bits.subspan(1));
}

Bytes Sm2PublicKey::ToSpkiDer() const {
  Bytes alg_content;
  internal::AppendTlv(alg_content, internal::kTagOid, kOidEcPublicKey);
  internal::AppendTlv(alg_content, internal::kTagOid, kOidSm2);
  Bytes bit_content;
  bit_content.reserve(66);
  bit_content.push_back(0);  // no unused bits
  bit_content.insert(bit_content.end(), point_.begin(), point_.end());
  Bytes body;
  internal::AppendTlv(body, internal::kTagSequence, alg_content);
  internal::AppendTlv(body, internal::kTagBitString, bit_content);
  Bytes out;
  internal::AppendTlv(out, internal::kTagSequence, body);
  return out;
}

Result<Sm2PrivateKey> Sm2PrivateKey::FromScalar(ByteView d32) {
  if (d32.size() != 32) return Error(ErrorCode::kInvalidArgument, "SM2 private key is 32 bytes");
  // GB/T 32918.1-2016 6.1: d in [1, n-2] (n-1 is excluded because 1 + d must be invertible
  // modulo n in the signature, GB/T 32918.2 6.1 A6): d and d + 1 both in [1, n-1], compared
  // with masks (only the verdict leaves the check), without a heap BIGNUM per key.
  sm2_engine::U256 d = sm2_engine::FromBe32(d32.data());
  sm2_engine::U256 d1;
  sm2_engine::Add4(d1, d, sm2_engine::U256{{1, 0, 0, 0}});
  const sm2_engine::u64 in_range = sm2_engine::ScInRangeMask(d) & sm2_engine::ScInRangeMask(d1);
  SecureZero(&d, sizeof(d));
  SecureZero(&d1, sizeof(d1));
  if (!in_range) return Error(ErrorCode::kInvalidArgument, "SM2 private key outside [1, n-2]");
  Sm2PrivateKey key;
  key.d_ = SecretBytes(d32);
  return key;
}

namespace internal {
Result<Sm2PublicKey> OsslSm2DerivePublicKey(const Sm2PrivateKey& key) {
  const SecretBytes& d_ = key.scalar();
  if (d_.size() != 32) return Error(ErrorCode::kInvalidArgument, "SM2: empty private key");
  const auto& curve = internal::Curve();
  BnCtxPtr ctx(BN_CTX_secure_new());
  BnPtr d(BN_secure_new());
  EcPointPtr p(EC_POINT_new(curve.group));
  if (!ctx || !d || !p || BN_bin2bn(d_.data(), static_cast<int>(d_.size()), d.get()) == nullptr) {
    return Error(ErrorCode::kCryptoFailure, "out of memory");
  }
  BN_set_flags(d.get(), BN_FLG_CONSTTIME);
  std::uint8_t point[65];
  if (EC_POINT_mul(curve.group, p.get(), d.get(), nullptr, nullptr, ctx.get()) != 1 ||
      EC_POINT_point2oct(curve.group, p.get(), POINT_CONVERSION_UNCOMPRESSED, point, 65,
                         ctx.get()) != 65) {
    return internal::OpensslError(ErrorCode::kCryptoFailure, "SM2 public key derivation failed");
  }
  return Sm2PublicKey::FromPoint(ByteView(point, 65));
}
}  // namespace internal

Result<Sm2KeyPair> Sm2GenerateKeyPair() {
  const auto& curve = internal::Curve();
  BnPtr d(BN_secure_new());
  if (!d) return Error(ErrorCode::kCryptoFailure, "out of memory");
  // GB/T 32918.1-2016 6.1: d uniformly in [1, n-2]: draw from [0, n-3] and add one.
  if (BN_priv_rand_range(d.get(), curve.n_minus_2) != 1 || BN_add_word(d.get(), 1) != 1) {
    return internal::OpensslError(ErrorCode::kCryptoFailure, "SM2 key generation: RNG failed");
  }
  SecretBytes scalar(32);
  if (!internal::BnToFixed(d.get(), scalar.data(), 32)) {
    return Error(ErrorCode::kInternal, "SM2 scalar too long");
  }
  GMPKI_ASSIGN_OR_RETURN(Sm2PrivateKey priv, Sm2PrivateKey::FromScalar(scalar.view()));
  GMPKI_ASSIGN_OR_RETURN(Sm2PublicKey pub, priv.DerivePublicKey());
  // Pairwise-consistency test of a fresh key pair (CC-FPT; FIPS 140-3 IG 10.3.A shape): a key
  // that cannot verify its own signature is never handed out.
  Sm2KeyPair pair{std::move(priv), std::move(pub)};
  GMPKI_RETURN_IF_ERROR(SignVerifyPct(pair));
  return pair;
}

Result<std::vector<Sm2KeyPair>> Sm2GenerateKeyPairs(std::size_t count) {
  if (count > kSm2MaxKeyBatch) {
    return Error(ErrorCode::kInvalidArgument, "SM2 key batch larger than kSm2MaxKeyBatch");
  }
  std::vector<Sm2KeyPair> out;
  out.reserve(count);
  if (internal::Sm2UsesOpenssl()) {
    for (std::size_t i = 0; i < count; ++i) {
      GMPKI_ASSIGN_OR_RETURN(Sm2KeyPair pair, Sm2GenerateKeyPair());
      out.push_back(std::move(pair));
    }
    return out;
  }
  const std::size_t largest = std::min(kKeyBatch, count);
  SecretBytes scalars(32 * largest);
  Bytes points(65 * largest);
  for (std::size_t done = 0; done < count;) {
    const std::size_t m = std::min(kKeyBatch, count - done);
    GMPKI_RETURN_IF_ERROR(
        sm2_engine::GenerateKeyBatch(std::span<std::uint8_t>(scalars.data(), 32 * m),
                                     std::span<std::uint8_t>(points.data(), 65 * m)));
    const std::size_t first = out.size();
    for (std::size_t j = 0; j < m; ++j) {
      GMPKI_ASSIGN_OR_RETURN(Sm2PrivateKey priv,
                             Sm2PrivateKey::FromScalar(ByteView(scalars.data() + 32 * j, 32)));
      // FromPoint validates the point (coordinates below p, on the curve): the per-key half of
      // the pairwise-consistency test below.
      auto pub = Sm2PublicKey::FromPoint(ByteView(points.data() + 65 * j, 65));
      if (!pub.ok()) {
        return Error(ErrorCode::kSelfTestFailure, "SM2 batch key generation: point off the curve");
      }
      out.push_back(Sm2KeyPair{std::move(priv), std::move(*pub)});
    }
    scalars.Wipe();
    GMPKI_RETURN_IF_ERROR(BatchPairwiseTest(out, first, m));
    done += m;
  }
  return out;
}

Result<Sm3Digest> Sm2ComputeZ(const Sm2PublicKey& pub, ByteView id) {
  // ENTL_A is the ID's length in bits as two bytes (GB/T 32918.2-2016 5.5), so the ID can hold at
  // most 8191 whole bytes.
  if (id.size() > 8191) return Error(ErrorCode::kInvalidArgument, "SM2 ID longer than 8191 bytes");
  const std::size_t bits = id.size() * 8;
  const std::uint8_t entl[2] = {static_cast<std::uint8_t>(bits >> 8),
                                static_cast<std::uint8_t>(bits)};
  Sm3Hasher h;
  h.Update(ByteView(entl, 2));
  h.Update(id);
  h.Update(ByteView(kCurveParamsForZ, sizeof(kCurveParamsForZ)));
  h.Update(pub.x());
  h.Update(pub.y());
  return h.Final();
}

Result<Sm3Digest> Sm2MessageDigest(const Sm2PublicKey& pub, ByteView id, ByteView message) {
  GMPKI_ASSIGN_OR_RETURN(Sm3Digest z, Sm2ComputeZ(pub, id));
  // GB/T 32918.2-2016 6.1 A1-A2: e = H_v(Z_A || M).
  Sm3Hasher h;
  h.Update(z);
  h.Update(message);
  return h.Final();
}

}  // namespace gmpki::crypto
