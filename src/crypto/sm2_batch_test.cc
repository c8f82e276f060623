// Batched SM2 key generation (issue #5): Sm2GenerateKeyPairs against the single-key path and
// OpenSSL, and the engine's batched affine conversion (sm2_engine/point.h BatchToAffineCt).
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "crypto/sm2.h"
#include "crypto/sm2_engine/engine.h"
#include "crypto/sm2_engine/point.h"
#include "crypto/sm2_internal.h"

namespace gmpki::crypto {
namespace {

// Every pair's public key is d*G as the single-key path derives it from a fresh copy of d (no
// state shared with the batch), and every d is a distinct scalar in [1, n-2].
void ExpectBatchMatchesSingleKeyPath(const std::vector<Sm2KeyPair>& pairs) {
  std::set<Bytes> scalars;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const SecretBytes& d = pairs[i].private_key.scalar();
    ASSERT_EQ(d.size(), 32u);
    auto copy = Sm2PrivateKey::FromScalar(d.view());  // rejects d outside [1, n-2]
    ASSERT_TRUE(copy.ok()) << i;
    auto derived = copy->DerivePublicKey();
    ASSERT_TRUE(derived.ok()) << i;
    EXPECT_EQ(*derived, pairs[i].public_key) << "pair " << i;
    EXPECT_TRUE(scalars.insert(Bytes(d.view().begin(), d.view().end())).second) << i;
  }
}

// req: CC-FCS
TEST(Sm2KeyBatch, EveryPublicKeyIsDerivedFromItsPrivateKey) {
  for (std::size_t count : {std::size_t{1}, std::size_t{2}, std::size_t{256}, std::size_t{1000}}) {
    auto pairs = Sm2GenerateKeyPairs(count);
    ASSERT_TRUE(pairs.ok()) << pairs.error().ToString();
    ASSERT_EQ(pairs->size(), count);
    ExpectBatchMatchesSingleKeyPath(*pairs);
  }
}

// req: CC-FCS
TEST(Sm2KeyBatch, CallsLargerThanOneEngineBatchCrossTheBoundary) {
  // 1024 keys per engine batch (sm2_key.cc): 1030 spans two, the second of 6 keys.
  auto pairs = Sm2GenerateKeyPairs(1030);
  ASSERT_TRUE(pairs.ok()) << pairs.error().ToString();
  ASSERT_EQ(pairs->size(), 1030u);
  ExpectBatchMatchesSingleKeyPath(*pairs);
}

// req: CC-FCS
TEST(Sm2KeyBatch, PublicKeysAgreeWithOpenssl) {
  // OpenSSL's EC_POINT_mul as the independent implementation, on a sample of a batch.
  auto pairs = Sm2GenerateKeyPairs(64);
  ASSERT_TRUE(pairs.ok());
  for (const auto& pair : *pairs) {
    auto ossl = internal::OsslSm2DerivePublicKey(pair.private_key);
    ASSERT_TRUE(ossl.ok());
    EXPECT_EQ(*ossl, pair.public_key);
  }
}

// req: CC-FCS
TEST(Sm2KeyBatch, ZeroKeysIsAnEmptyBatchAndTooManyIsRefused) {
  auto none = Sm2GenerateKeyPairs(0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto too_many = Sm2GenerateKeyPairs(kSm2MaxKeyBatch + 1);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code(), ErrorCode::kInvalidArgument);
}

// req: CC-FCS
TEST(Sm2KeyBatch, BatchKeysSignVerifyEncryptAndDecrypt) {
  auto pairs = Sm2GenerateKeyPairs(20);
  ASSERT_TRUE(pairs.ok());
  const Bytes msg = ToBytes("batch-generated key at work");
  for (std::size_t i = 0; i < pairs->size(); ++i) {
    const Sm2KeyPair& kp = (*pairs)[i];
    auto sig = Sm2Sign(kp.private_key, kp.public_key, AsBytes(kDefaultSm2Id), msg);
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE(Sm2Verify(kp.public_key, AsBytes(kDefaultSm2Id), msg, *sig).ok());
    // Another pair of the batch must not verify it.
    const Sm2KeyPair& other = (*pairs)[(i + 1) % pairs->size()];
    EXPECT_FALSE(Sm2Verify(other.public_key, AsBytes(kDefaultSm2Id), msg, *sig).ok());
    auto ct = Sm2Encrypt(kp.public_key, msg);
    ASSERT_TRUE(ct.ok());
    auto pt = Sm2Decrypt(kp.private_key, *ct);
    ASSERT_TRUE(pt.ok());
    EXPECT_EQ(Bytes(pt->view().begin(), pt->view().end()), msg);
  }
}

// req: CC-FCS
TEST(Sm2KeyBatch, EngineBatchRejectsMismatchedBuffers) {
  Bytes d(64), q(129);
  auto s = sm2_engine::GenerateKeyBatch(d, q);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  Bytes d_odd(33), q_one(65);
  EXPECT_FALSE(sm2_engine::GenerateKeyBatch(d_odd, q_one).ok());
  Bytes none_d, none_q;
  EXPECT_TRUE(sm2_engine::GenerateKeyBatch(none_d, none_q).ok());
}

// Both field back ends: the batched affine conversion equals PointToAffine point by point, and
// an infinity among the inputs is reported (and zeroes every output) rather than giving wrong
// points.
class Sm2BatchAffine : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam() && !sm2_engine::CpuHasAdx()) GTEST_SKIP() << "no BMI2/ADX on this CPU";
    saved_ = sm2_engine::EngineUsesAdx();
    sm2_engine::SetEngineUsesAdxForTesting(GetParam());
  }
  void TearDown() override { sm2_engine::SetEngineUsesAdxForTesting(saved_); }
  bool saved_ = false;
};

// req: CC-FCS
TEST_P(Sm2BatchAffine, MatchesOneInversionPerPoint) {
  using namespace sm2_engine;
  constexpr std::size_t kCount = 37;
  std::vector<JacobianPoint> jac(kCount);
  for (std::size_t j = 0; j < kCount; ++j) {
    // Small and large scalars (Z values of very different histories).
    U256 k{{0x9e3779b97f4a7c15ULL * (j + 1), j, j % 3 ? 0 : ~0ULL, 0x1234ULL + j}};
    ScalarMulBase(jac[j], k);
  }
  std::vector<AffinePoint> batch(kCount);
  std::vector<Fe> scratch(kCount);
  EXPECT_EQ(BatchToAffineCt(batch.data(), jac.data(), kCount, scratch.data()), 0u);
  for (std::size_t j = 0; j < kCount; ++j) {
    AffinePoint single;
    PointToAffine(single, jac[j]);
    EXPECT_NE(FeEqualMask(batch[j].x, single.x), 0u) << j;
    EXPECT_NE(FeEqualMask(batch[j].y, single.y), 0u) << j;
    EXPECT_TRUE(IsOnCurve(batch[j]));
  }
  // One point of the batch: no product, the plain inversion.
  AffinePoint one;
  EXPECT_EQ(BatchToAffineCt(&one, jac.data(), 1, scratch.data()), 0u);
  EXPECT_NE(FeEqualMask(one.x, batch[0].x), 0u);

  jac[5] = Infinity();
  EXPECT_EQ(BatchToAffineCt(batch.data(), jac.data(), kCount, scratch.data()), ~u64{0});
  for (const auto& p : batch) {
    EXPECT_NE(FeIsZeroMask(p.x) & FeIsZeroMask(p.y), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Sm2BatchAffine, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "MulxAdx" : "Portable"; });

}  // namespace
}  // namespace gmpki::crypto
