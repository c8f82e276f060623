// SM2 signatures from the engine: the GB/T 32918.5 Annex A known answer, differential tests
// against gmpki's OpenSSL-backed implementation (crypto/sm2.h) in both directions, and the
// rejection rules of GB/T 32918.2-2016 7.1 and GB/T 32918.1-2016 6.2.1.
#include "crypto/sm2_engine/engine.h"

#include <gtest/gtest.h>

#include "crypto/random.h"
#include "crypto/sm2.h"
#include "crypto/sm2_engine/test_util.h"
#include "crypto/sm2_internal.h"
#include "crypto/test_vectors.h"

namespace gmpki::crypto::sm2_engine {
namespace {

using crypto::testing::LoadVectors;

Signature SigFromDer(const Bytes& der) {
  auto sig = DecodeSignatureDer(der);
  EXPECT_TRUE(sig.ok());
  return sig.ok() ? *sig : Signature{};
}

// req: CC-FCS
TEST(Sm2Engine, AnnexASignatureKnownAnswer) {
  auto vectors = LoadVectors("gbt32918/sm2_sign.vec");
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.Where());
    auto key = PrivateKey::FromScalar(v.Hex("D"));
    ASSERT_TRUE(key.ok());
    auto point = key->public_key().ToPoint();
    EXPECT_EQ(Bytes(point.begin(), point.end()), v.Hex("P"));
    auto sig = SignDigestWithK(*key, v.Hex("E"), v.Hex("K"));
    ASSERT_TRUE(sig.ok()) << sig.error().message();
    EXPECT_EQ(EncodeSignatureDer(*sig), v.Hex("Sig"));
    EXPECT_TRUE(VerifyDigest(key->public_key(), v.Hex("E"), *sig).ok());
    auto parsed = PublicKey::FromPoint(v.Hex("P"));
    ASSERT_TRUE(parsed.ok());
    EXPECT_TRUE(VerifyDigest(*parsed, v.Hex("E"), SigFromDer(v.Hex("Sig"))).ok());
  }
}

// req: CC-FCS
TEST(Sm2Engine, RejectsTheInvalidSignatureVectors) {
  for (const auto& v : LoadVectors("gbt32918/sm2_sign_invalid.vec")) {
    SCOPED_TRACE(v.Where() + " " + v.Str("Case"));
    auto pub = PublicKey::FromPoint(v.Hex("P"));
    ASSERT_TRUE(pub.ok());
    auto theirs = Sm2PublicKey::FromPoint(v.Hex("P"));
    ASSERT_TRUE(theirs.ok());
    auto e = Sm2MessageDigest(*theirs, v.Hex("Id"), v.Hex("Msg"));
    ASSERT_TRUE(e.ok());
    auto sig = DecodeSignatureDer(v.Hex("Sig"));
    if (!sig.ok()) continue;  // not DER: rejected before any arithmetic
    Status st = VerifyDigest(*pub, ByteView(e->data(), e->size()), *sig);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code(), ErrorCode::kBadSignature);
  }
}

// req: CC-FCS
TEST(Sm2Engine, RejectsInvalidPublicKeys) {
  for (const auto& v : LoadVectors("gbt32918/sm2_pubkey_invalid.vec")) {
    SCOPED_TRACE(v.Where() + " " + v.Str("Case"));
    EXPECT_FALSE(PublicKey::FromPoint(v.Hex("Point")).ok());
  }
  // A coordinate equal to p (a wrapped copy of a valid x) is rejected, not reduced.
  Bytes d(32, 0);
  d[31] = 7;
  auto key = PrivateKey::FromScalar(d);
  ASSERT_TRUE(key.ok());
  auto pt = key->public_key().ToPoint();
  Bytes p_bytes(32);
  ToBe32(kFieldP.m, p_bytes.data());
  Bytes bad(pt.begin(), pt.end());
  std::copy(p_bytes.begin(), p_bytes.end(), bad.begin() + 1);
  EXPECT_FALSE(PublicKey::FromPoint(bad).ok());
}

// req: CC-FCS
TEST(Sm2Engine, PrivateKeyRange) {
  Bytes d(32, 0);
  EXPECT_FALSE(PrivateKey::FromScalar(d).ok());  // 0
  ToBe32(kOrderN.m, d.data());
  EXPECT_FALSE(PrivateKey::FromScalar(d).ok());  // n
  d[31] -= 1;
  EXPECT_FALSE(PrivateKey::FromScalar(d).ok());  // n - 1: 1 + d = n has no inverse
  d[31] -= 1;
  auto key = PrivateKey::FromScalar(d);  // n - 2 is the largest valid key
  ASSERT_TRUE(key.ok());
  SecretBytes back = key->ToScalar();
  EXPECT_EQ(Bytes(back.view().begin(), back.view().end()), d);
  EXPECT_FALSE(PrivateKey::FromScalar(Bytes(31, 1)).ok());
}

// req: CC-FCS
TEST(Sm2Engine, RejectsOutOfRangeRAndS) {
  auto key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  Bytes e(32, 0x5a);
  auto good = SignDigest(*key, e);
  ASSERT_TRUE(good.ok());
  ASSERT_TRUE(VerifyDigest(key->public_key(), e, *good).ok());
  Signature n_sig;
  ToBe32(kOrderN.m, n_sig.r.data());
  std::array<std::uint8_t, 32> n_bytes = n_sig.r, zero{};
  for (auto [r, s] : {std::pair{zero, good->s}, std::pair{good->r, zero},
                      std::pair{n_bytes, good->s}, std::pair{good->r, n_bytes}}) {
    Signature bad{r, s};
    Status st = VerifyDigest(key->public_key(), e, bad);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code(), ErrorCode::kBadSignature);
  }
  // r + n (which reduces to the same residue) must not verify either.
  Signature wrapped = *good;
  U256 r_plus_n;
  if (Add4(r_plus_n, FromBe32(good->r.data()), kOrderN.m) == 0) {
    ToBe32(r_plus_n, wrapped.r.data());
    EXPECT_FALSE(VerifyDigest(key->public_key(), e, wrapped).ok());
  }
  // r + s = n is rejected (B5).
  Signature rs = *good;
  U256 s_comp;
  Sub4(s_comp, kOrderN.m, FromBe32(good->r.data()));
  ToBe32(s_comp, rs.s.data());
  EXPECT_FALSE(VerifyDigest(key->public_key(), e, rs).ok());
  // Wrong digest and wrong key.
  Bytes e2 = e;
  e2[0] ^= 1;
  EXPECT_FALSE(VerifyDigest(key->public_key(), e2, *good).ok());
  auto other = PrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(VerifyDigest(other->public_key(), e, *good).ok());
  // Bad k values and sizes.
  EXPECT_FALSE(SignDigestWithK(*key, e, Bytes(32, 0)).ok());
  Bytes k_n(32);
  ToBe32(kOrderN.m, k_n.data());
  EXPECT_FALSE(SignDigestWithK(*key, e, k_n).ok());
  EXPECT_FALSE(SignDigest(*key, Bytes(31, 0)).ok());
}

// req: CC-FCS
TEST(Sm2Engine, DerRoundTripAndStrictness) {
  Signature sig;
  sig.r[31] = 1;
  sig.s[0] = 0x80;
  Bytes der = EncodeSignatureDer(sig);
  auto back = DecodeSignatureDer(der);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, sig);
  der.push_back(0);
  EXPECT_FALSE(DecodeSignatureDer(der).ok());
}

// Differential: the engine against the OpenSSL implementation (internal::Ossl*), both directions,
// on random keys, digests and (for the fixed-k path) nonces.
// req: CC-FCS
TEST(Sm2Engine, DifferentialAgainstOpensslBackedSm2) {
  const int cases = sm2_engine::testing::DiffCases(200);  // GMPKI_SM2_DIFF_CASES for the long mode
  for (int i = 0; i < cases; ++i) {
    auto ours = PrivateKey::Generate();
    ASSERT_TRUE(ours.ok());
    auto theirs = Sm2PrivateKey::FromScalar(ours->ToScalar().view());
    ASSERT_TRUE(theirs.ok());
    auto their_pub = internal::OsslSm2DerivePublicKey(*theirs);
    ASSERT_TRUE(their_pub.ok());
    auto our_point = ours->public_key().ToPoint();
    ASSERT_EQ(Bytes(our_point.begin(), our_point.end()),
              Bytes(their_pub->point().begin(), their_pub->point().end()));
    auto e = RandomBytes(32);
    ASSERT_TRUE(e.ok());
    if (i == 0) *e = Bytes(32, 0xff);  // e >= n is reduced

    // Ours signs, theirs verifies.
    auto sig = SignDigest(*ours, *e);
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE(internal::OsslSm2VerifyDigest(*their_pub, *e, EncodeSignatureDer(*sig)).ok()) << i;
    // Theirs signs, ours verifies.
    auto their_sig = internal::OsslSm2SignDigest(*theirs, *e);
    ASSERT_TRUE(their_sig.ok());
    EXPECT_TRUE(VerifyDigest(ours->public_key(), *e, SigFromDer(*their_sig)).ok()) << i;
    // Same k: bit-identical signatures.
    if (i % 4 == 0) {
      auto k = RandomBytes(32);
      ASSERT_TRUE(k.ok());
      auto a = SignDigestWithK(*ours, *e, *k);
      auto b = internal::Sm2SignDigestWithK(*theirs, *e, *k);
      ASSERT_EQ(a.ok(), b.ok());
      if (a.ok()) {
        EXPECT_EQ(EncodeSignatureDer(*a), *b) << i;
      }
    }
    // A corrupted signature fails on both.
    Signature bad = *sig;
    bad.s[31] ^= 0x01;
    EXPECT_FALSE(VerifyDigest(ours->public_key(), *e, bad).ok());
    EXPECT_FALSE(internal::OsslSm2VerifyDigest(*their_pub, *e, EncodeSignatureDer(bad)).ok());
  }
}

}  // namespace
}  // namespace gmpki::crypto::sm2_engine
