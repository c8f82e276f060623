#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "crypto/sm2.h"
#include "crypto/sm2_internal.h"
#include "crypto/test_vectors.h"

namespace gmpki::crypto {
namespace {

using testing::LoadVectors;

constexpr char kN[] = "fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123";

struct AnnexA {
  Sm2PrivateKey d;
  Sm2PublicKey p;
  testing::VectorRecord v;
};

AnnexA LoadAnnexA() {
  const auto v = LoadVectors("gbt32918/sm2_sign.vec").at(0);
  auto d = Sm2PrivateKey::FromScalar(v.Hex("D"));
  auto p = Sm2PublicKey::FromPoint(v.Hex("P"));
  EXPECT_TRUE(d.ok() && p.ok());
  return AnnexA{std::move(d).value(), std::move(p).value(), v};
}

// req: CC-FCS
TEST(Sm2Sign, AnnexAIntermediateValuesZAndE) {
  const AnnexA a = LoadAnnexA();
  auto z = Sm2ComputeZ(a.p, a.v.Hex("Id"));
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(HexEncode(*z), a.v.Str("Z"));
  auto e = Sm2MessageDigest(a.p, a.v.Hex("Id"), a.v.Hex("Msg"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(HexEncode(*e), a.v.Str("E"));
  // The default ID constant is the Annex A ID.
  EXPECT_EQ(HexEncode(AsBytes(kDefaultSm2Id)), a.v.Str("Id"));
}

// req: CC-FCS
TEST(Sm2Sign, AnnexAReproducedWithItsK) {
  const AnnexA a = LoadAnnexA();
  auto derived = a.d.DerivePublicKey();
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(*derived, a.p);
  auto sig = internal::Sm2SignDigestWithK(a.d, a.v.Hex("E"), a.v.Hex("K"));
  ASSERT_TRUE(sig.ok()) << sig.error().ToString();
  EXPECT_EQ(HexEncode(*sig), a.v.Str("Sig"));
  EXPECT_TRUE(Sm2Verify(a.p, a.v.Hex("Id"), a.v.Hex("Msg"), a.v.Hex("Sig")).ok());
  EXPECT_TRUE(Sm2VerifyDigest(a.p, a.v.Hex("E"), a.v.Hex("Sig")).ok());
}

// req: CC-FCS
TEST(Sm2Sign, WithKRejectsOutOfRangeK) {
  const AnnexA a = LoadAnnexA();
  EXPECT_FALSE(internal::Sm2SignDigestWithK(a.d, a.v.Hex("E"), Bytes(32, 0)).ok());
  EXPECT_FALSE(internal::Sm2SignDigestWithK(a.d, a.v.Hex("E"), *HexDecode(kN)).ok());
  EXPECT_FALSE(internal::Sm2SignDigestWithK(a.d, a.v.Hex("E"), Bytes(31, 1)).ok());
}

// req: CC-FCS
TEST(Sm2Verify, RejectsEveryInvalidVector) {
  for (const auto& v : LoadVectors("gbt32918/sm2_sign_invalid.vec")) {
    SCOPED_TRACE(v.Where() + " " + v.Str("Case"));
    auto p = Sm2PublicKey::FromPoint(v.Hex("P"));
    ASSERT_TRUE(p.ok());
    const Status s = Sm2Verify(*p, v.Hex("Id"), v.Hex("Msg"), v.Hex("Sig"));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), ErrorCode::kBadSignature);
  }
}

// req: CC-FCS
TEST(Sm2Verify, RejectsWrongDigestSizeAndInvalidKey) {
  const AnnexA a = LoadAnnexA();
  EXPECT_EQ(Sm2VerifyDigest(a.p, Bytes(31, 0), a.v.Hex("Sig")).error().code(),
            ErrorCode::kInvalidArgument);
  // A default-constructed key (all zero) is not a point: nothing verifies against it.
  EXPECT_FALSE(Sm2VerifyDigest(Sm2PublicKey(), a.v.Hex("E"), a.v.Hex("Sig")).ok());
}

// req: CC-FCS
TEST(Sm2Sign, RoundTripWithFreshKeysAndNegativeCases) {
  auto kp = Sm2GenerateKeyPair();
  ASSERT_TRUE(kp.ok());
  auto other = Sm2GenerateKeyPair();
  ASSERT_TRUE(other.ok());
  const Bytes msg = ToBytes("tbsCertificate bytes");
  const ByteView id = AsBytes(kDefaultSm2Id);
  auto sig = Sm2Sign(kp->private_key, kp->public_key, id, msg);
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(Sm2Verify(kp->public_key, id, msg, *sig).ok());
  // Random k: signing twice gives two different valid signatures.
  auto sig2 = Sm2Sign(kp->private_key, kp->public_key, id, msg);
  ASSERT_TRUE(sig2.ok());
  EXPECT_NE(*sig, *sig2);
  EXPECT_TRUE(Sm2Verify(kp->public_key, id, msg, *sig2).ok());
  // Wrong key, wrong ID, wrong message, tampered signature.
  EXPECT_EQ(Sm2Verify(other->public_key, id, msg, *sig).error().code(), ErrorCode::kBadSignature);
  EXPECT_EQ(Sm2Verify(kp->public_key, AsBytes("1234567812345679"), msg, *sig).error().code(),
            ErrorCode::kBadSignature);
  EXPECT_EQ(Sm2Verify(kp->public_key, id, ToBytes("tbsCertificate byteS"), *sig).error().code(),
            ErrorCode::kBadSignature);
  Bytes tampered = *sig;
  tampered[tampered.size() - 1] ^= 0x01;
  EXPECT_EQ(Sm2Verify(kp->public_key, id, msg, tampered).error().code(),
            ErrorCode::kBadSignature);
  // IDs longer than ENTL can express are refused.
  EXPECT_EQ(Sm2Sign(kp->private_key, kp->public_key, Bytes(8192, 'a'), msg).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Sm2Sign(kp->private_key, kp->public_key, Bytes(8191, 'a'), msg).ok());
}

// req: CC-FCS
TEST(Sm2Keys, PrivateScalarRange) {
  Bytes n = *HexDecode(kN);
  Bytes n_minus_1 = n, n_minus_2 = n;
  n_minus_1.back() -= 1;
  n_minus_2.back() -= 2;
  Bytes one(32, 0);
  one.back() = 1;
  EXPECT_TRUE(Sm2PrivateKey::FromScalar(one).ok());
  EXPECT_TRUE(Sm2PrivateKey::FromScalar(n_minus_2).ok());
  EXPECT_EQ(Sm2PrivateKey::FromScalar(n_minus_1).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Sm2PrivateKey::FromScalar(n).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Sm2PrivateKey::FromScalar(Bytes(32, 0)).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Sm2PrivateKey::FromScalar(Bytes(32, 0xff)).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Sm2PrivateKey::FromScalar(Bytes(31, 1)).error().code(), ErrorCode::kInvalidArgument);
  // d = 1 has public key G (GB/T 32918.5 section 3).
  auto g = Sm2PrivateKey::FromScalar(one)->DerivePublicKey();
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(HexEncode(g->x()), "32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7");
  EXPECT_EQ(HexEncode(g->y()), "bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0");
  // d = n-2 still signs (1 + d = n-1 is invertible).
  auto edge = Sm2PrivateKey::FromScalar(n_minus_2);
  auto edge_pub = edge->DerivePublicKey();
  ASSERT_TRUE(edge_pub.ok());
  auto sig = Sm2Sign(*edge, *edge_pub, AsBytes(kDefaultSm2Id), AsBytes("m"));
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(Sm2Verify(*edge_pub, AsBytes(kDefaultSm2Id), AsBytes("m"), *sig).ok());
}

// req: CC-FCS
TEST(Sm2Keys, MovedFromKeyIsRefusedNotUsedAsZero) {
  auto kp = Sm2GenerateKeyPair();
  ASSERT_TRUE(kp.ok());
  Sm2PrivateKey taken = std::move(kp->private_key);
  EXPECT_TRUE(taken.DerivePublicKey().ok());
  const Sm2PrivateKey& empty = kp->private_key;  // NOLINT(bugprone-use-after-move): the point
  EXPECT_EQ(Sm2SignDigest(empty, Bytes(32, 1)).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(empty.DerivePublicKey().error().code(), ErrorCode::kInvalidArgument);
  auto ct = Sm2Encrypt(kp->public_key, AsBytes("x"));
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(Sm2Decrypt(empty, *ct).error().code(), ErrorCode::kInvalidArgument);
}

// req: CC-FCS
TEST(Sm2Keys, GeneratedScalarsAreInRangeAndDistinct) {
  auto a = Sm2GenerateKeyPair();
  auto b = Sm2GenerateKeyPair();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->private_key.scalar().size(), 32u);
  EXPECT_FALSE(ConstantTimeEqual(a->private_key.scalar().view(), b->private_key.scalar().view()));
  EXPECT_FALSE(a->public_key == b->public_key);
  auto again = a->private_key.DerivePublicKey();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, a->public_key);
}

// req: CC-FCS
TEST(Sm2Keys, FromPointRejectsInvalidPoints) {
  for (const auto& v : LoadVectors("gbt32918/sm2_pubkey_invalid.vec")) {
    SCOPED_TRACE(v.Where() + " " + v.Str("Case"));
    auto p = Sm2PublicKey::FromPoint(v.Hex("Point"));
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code(), ErrorCode::kMalformedInput);
  }
}

// req: CC-FCS
TEST(Sm2Keys, SpkiRoundTripAndExactEncoding) {
  const AnnexA a = LoadAnnexA();
  const Bytes der = a.p.ToSpkiDer();
  // SEQUENCE { SEQUENCE { id-ecPublicKey, sm2p256v1 }, BIT STRING 00 04 X Y } (GM/T 0015).
  EXPECT_EQ(HexEncode(der),
            "3059301306072a8648ce3d020106082a811ccf5501822d03420004" + a.v.Str("P").substr(2));
  auto back = Sm2PublicKey::FromSpkiDer(der);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, a.p);
  // The SM2 OID as algorithm (GM/T 0015-2023, TPMs, OpenSSL 3.1.0) is accepted too.
  auto sm2_alg = *HexDecode("305a301406082a811ccf5501822d06082a811ccf5501822d03420004" +
                            a.v.Str("P").substr(2));
  auto alt = Sm2PublicKey::FromSpkiDer(sm2_alg);
  ASSERT_TRUE(alt.ok()) << alt.error().ToString();
  EXPECT_EQ(*alt, a.p);
}

// req: CC-FCS
TEST(Sm2Keys, SpkiRejectsBadDer) {
  const AnnexA a = LoadAnnexA();
  const std::string point = a.v.Str("P").substr(2);
  struct Case {
    const char* name;
    std::string hex;
    ErrorCode code;
  };
  const Case cases[] = {
      {"absent parameters", "304e300906072a8648ce3d020103420004" + point,
       ErrorCode::kMalformedInput},
      {"P-256 curve", "3059301306072a8648ce3d020106082a8648ce3d03010703420004" + point,
       ErrorCode::kUnsupported},
      {"rsaEncryption", "3053300d06092a864886f70d010101050003420004" + point,
       ErrorCode::kUnsupported},
      {"unused bits", "3059301306072a8648ce3d020106082a811ccf5501822d03420104" + point,
       ErrorCode::kMalformedInput},
      {"trailing byte", "3059301306072a8648ce3d020106082a811ccf5501822d03420004" + point + "00",
       ErrorCode::kMalformedInput},
      {"truncated", ("3059301306072a8648ce3d020106082a811ccf5501822d03420004" + point)
                        .substr(0, 180), ErrorCode::kMalformedInput},
      {"point off curve",
       "3059301306072a8648ce3d020106082a811ccf5501822d03420004" + point.substr(0, 126) + "14",
       ErrorCode::kMalformedInput},
      {"empty", "", ErrorCode::kMalformedInput},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = Sm2PublicKey::FromSpkiDer(*HexDecode(c.hex));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), c.code) << r.error().ToString();
  }
}

// req: CC-FCS
TEST(Sm2Encrypt, AnnexCDecryptAndReproduceWithK) {
  for (const auto& v : LoadVectors("gbt32918/sm2_enc.vec")) {
    SCOPED_TRACE(v.Where());
    auto d = Sm2PrivateKey::FromScalar(v.Hex("D"));
    auto p = Sm2PublicKey::FromPoint(v.Hex("P"));
    ASSERT_TRUE(d.ok() && p.ok());
    auto m = Sm2Decrypt(*d, v.Hex("Ct"));
    ASSERT_TRUE(m.ok()) << m.error().ToString();
    EXPECT_EQ(HexEncode(m->view()), v.Str("Msg"));
    auto ct = internal::Sm2EncryptWithK(*p, v.Hex("Msg"), v.Hex("K"));
    ASSERT_TRUE(ct.ok());
    EXPECT_EQ(HexEncode(*ct), v.Str("Ct"));
  }
}

// req: CC-FCS
TEST(Sm2Encrypt, RoundTripAndNegativeCases) {
  auto kp = Sm2GenerateKeyPair();
  auto other = Sm2GenerateKeyPair();
  ASSERT_TRUE(kp.ok() && other.ok());
  for (std::size_t len : {1u, 16u, 32u, 33u, 200u}) {
    const Bytes msg(len, static_cast<std::uint8_t>(len));
    auto ct = Sm2Encrypt(kp->public_key, msg);
    ASSERT_TRUE(ct.ok());
    auto pt = Sm2Decrypt(kp->private_key, *ct);
    ASSERT_TRUE(pt.ok());
    EXPECT_TRUE(ConstantTimeEqual(pt->view(), msg));
  }
  EXPECT_EQ(Sm2Encrypt(kp->public_key, {}).error().code(), ErrorCode::kInvalidArgument);

  const auto v = LoadVectors("gbt32918/sm2_enc.vec").at(0);
  const Bytes ct = v.Hex("Ct");
  auto d = Sm2PrivateKey::FromScalar(v.Hex("D"));
  ASSERT_TRUE(d.ok());
  // Wrong key: C3 cannot match.
  EXPECT_EQ(Sm2Decrypt(other->private_key, ct).error().code(), ErrorCode::kBadSignature);
  // Layout of the Annex C DER: 30 7c | 02 20 x(32) | 02 21 00 y(32) | 04 20 C3 | 04 13 C2.
  const std::size_t c3_at = 2 + 34 + 35 + 2, c2_at = c3_at + 32 + 2;
  Bytes bad_c3 = ct;
  bad_c3[c3_at] ^= 1;
  EXPECT_EQ(Sm2Decrypt(*d, bad_c3).error().code(), ErrorCode::kBadSignature);
  Bytes bad_c2 = ct;
  bad_c2[c2_at + 3] ^= 0x80;
  EXPECT_EQ(Sm2Decrypt(*d, bad_c2).error().code(), ErrorCode::kBadSignature);
  Bytes bad_c1 = ct;
  bad_c1[4 + 31] ^= 1;  // last byte of x: C1 leaves the curve
  EXPECT_EQ(Sm2Decrypt(*d, bad_c1).error().code(), ErrorCode::kMalformedInput);
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{40}, ct.size() - 1}) {
    SCOPED_TRACE(cut);
    EXPECT_EQ(Sm2Decrypt(*d, ByteView(ct.data(), cut)).error().code(),
              ErrorCode::kMalformedInput);
  }
  Bytes trailing = ct;
  trailing.push_back(0);
  EXPECT_EQ(Sm2Decrypt(*d, trailing).error().code(), ErrorCode::kMalformedInput);
  // Raw C1||C3||C2 (not the GM/T 0009 ASN.1 form) is refused, not misparsed.
  Bytes raw = {0x04};
  raw.insert(raw.end(), ct.begin() + 4, ct.begin() + 36);                   // x1
  raw.insert(raw.end(), ct.begin() + 39, ct.begin() + 71);                  // y1
  raw.insert(raw.end(), ct.begin() + c3_at, ct.begin() + c3_at + 32);       // C3
  raw.insert(raw.end(), ct.begin() + c2_at, ct.end());                      // C2
  EXPECT_EQ(Sm2Decrypt(*d, raw).error().code(), ErrorCode::kMalformedInput);
}

// req: CC-FCS
TEST(Sm2, ConcurrentUseFromManyThreads) {
  auto kp = Sm2GenerateKeyPair();
  ASSERT_TRUE(kp.ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const Bytes msg(10, static_cast<std::uint8_t>(t));
      for (int i = 0; i < 25; ++i) {
        auto sig = Sm2Sign(kp->private_key, kp->public_key, AsBytes(kDefaultSm2Id), msg);
        if (!sig.ok() || !Sm2Verify(kp->public_key, AsBytes(kDefaultSm2Id), msg, *sig).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace gmpki::crypto

namespace gmpki::crypto {
namespace {

// A manual measurement, not a test: run with --gtest_also_run_disabled_tests
// --gtest_filter='*SignVerifyRate*' to print the single-thread SM2 rates.
TEST(Sm2Perf, DISABLED_SignVerifyRate) {
  auto kp = Sm2GenerateKeyPair();
  ASSERT_TRUE(kp.ok());
  const Bytes msg(300, 0x42);
  constexpr int kN = 2000;
  std::vector<Bytes> sigs;
  sigs.reserve(kN);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kN; ++i) {
    sigs.push_back(*Sm2Sign(kp->private_key, kp->public_key, AsBytes(kDefaultSm2Id), msg));
  }
  const auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(Sm2Verify(kp->public_key, AsBytes(kDefaultSm2Id), msg, sigs[i]).ok());
  }
  const auto t2 = std::chrono::steady_clock::now();
  const double sign_s = std::chrono::duration<double>(t1 - t0).count();
  const double verify_s = std::chrono::duration<double>(t2 - t1).count();
  std::printf("SM2 sign: %.0f/s  verify: %.0f/s  sign+verify: %.0f/s (one thread)\n",
              kN / sign_s, kN / verify_s, kN / (sign_s + verify_s));
}

}  // namespace
}  // namespace gmpki::crypto
