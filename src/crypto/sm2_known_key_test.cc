// sm2.h verification of a key that verifies often switches to a precomputed table
// (sm2_dispatch.cc KnownKeys): the verdicts must not change when it does.
#include <gtest/gtest.h>

#include <vector>

#include "crypto/random.h"
#include "crypto/sm2.h"

namespace gmpki::crypto {
namespace {

// req: CC-FCS
TEST(Sm2KnownKey, VerdictsAreTheSameBeforeAndAfterTheTableIsBuilt) {
  auto kp = Sm2GenerateKeyPair();
  ASSERT_TRUE(kp.ok());
  auto other = Sm2GenerateKeyPair();
  ASSERT_TRUE(other.ok());
  for (int i = 0; i < 40; ++i) {  // well past the point where the key gets its table
    auto e = RandomBytes(32);
    ASSERT_TRUE(e.ok());
    auto sig = Sm2SignDigest(kp->private_key, *e);
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE(Sm2VerifyDigest(kp->public_key, *e, *sig).ok()) << i;
    Bytes bad = *sig;
    bad[bad.size() - 1] ^= 0x01;
    EXPECT_EQ(Sm2VerifyDigest(kp->public_key, *e, bad).error().code(), ErrorCode::kBadSignature) << i;
    Bytes wrong_e = *e;
    wrong_e[0] ^= 0x80;
    EXPECT_FALSE(Sm2VerifyDigest(kp->public_key, wrong_e, *sig).ok()) << i;
    EXPECT_FALSE(Sm2VerifyDigest(other->public_key, *e, *sig).ok()) << i;
  }
}

// req: CC-FCS
TEST(Sm2KnownKey, ManyDistinctKeysStayCorrect) {
  // More keys with tables than the cache keeps (64), and more keys seen than it remembers:
  // eviction must never hand one key another key's table.
  struct Case {
    Sm2KeyPair kp;
    Bytes e, sig;
  };
  std::vector<Case> cases;
  for (int i = 0; i < 80; ++i) {
    auto kp = Sm2GenerateKeyPair();
    ASSERT_TRUE(kp.ok());
    auto e = RandomBytes(32);
    auto sig = Sm2SignDigest(kp->private_key, *e);
    ASSERT_TRUE(sig.ok());
    for (int j = 0; j < 10; ++j) EXPECT_TRUE(Sm2VerifyDigest(kp->public_key, *e, *sig).ok());
    cases.push_back({std::move(*kp), *e, *sig});
  }
  for (int i = 0; i < 300; ++i) {  // one-off keys push the early ones out of the map
    auto kp = Sm2GenerateKeyPair();
    auto e = RandomBytes(32);
    EXPECT_TRUE(Sm2VerifyDigest(kp->public_key, *e, *Sm2SignDigest(kp->private_key, *e)).ok());
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_TRUE(Sm2VerifyDigest(cases[i].kp.public_key, cases[i].e, cases[i].sig).ok()) << i;
    const auto& next = cases[(i + 1) % cases.size()];
    EXPECT_FALSE(Sm2VerifyDigest(cases[i].kp.public_key, next.e, next.sig).ok()) << i;
  }
}

}  // namespace
}  // namespace gmpki::crypto
