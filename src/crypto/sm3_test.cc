#include <gtest/gtest.h>

#include "crypto/random.h"
#include "crypto/sm3.h"
#include "crypto/test_vectors.h"

namespace gmpki::crypto {
namespace {

using testing::LoadVectors;

std::string Hex(ByteView b) { return HexEncode(b); }

// req: CC-FCS
TEST(Sm3, KnownAnswersOneShotAndIncremental) {
  for (const auto& v : LoadVectors("gmt0004/sm3.vec")) {
    SCOPED_TRACE(v.Where());
    const Bytes unit = v.Hex("In");
    const int repeat = v.Has("Repeat") ? std::stoi(v.Str("Repeat")) : 1;
    Bytes msg;
    for (int i = 0; i < repeat; ++i) msg.insert(msg.end(), unit.begin(), unit.end());
    EXPECT_EQ(Hex(Sm3(msg)), v.Str("Out"));
    // The same bytes fed one at a time, then again after Final() reset the hasher.
    Sm3Hasher h;
    for (int round = 0; round < 2; ++round) {
      for (std::uint8_t b : msg) h.Update(ByteView(&b, 1));
      EXPECT_EQ(Hex(h.Final()), v.Str("Out"));
    }
  }
}

// req: CC-FCS
TEST(Sm3, HasherSurvivesMove) {
  Sm3Hasher a;
  a.Update(AsBytes("ab"));
  Sm3Hasher b = std::move(a);
  b.Update(AsBytes("c"));
  EXPECT_EQ(Hex(b.Final()), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

// req: CC-FCS
TEST(HmacSm3, KnownAnswersFromGmt0042) {
  for (const auto& v : LoadVectors("gmt0042/hmac_sm3.vec")) {
    SCOPED_TRACE(v.Where());
    EXPECT_EQ(Hex(HmacSm3(v.Hex("Key"), v.Hex("In"))), v.Str("Out"));
  }
}

// req: CC-FCS
TEST(HmacSm3, KeyAndDataMatter) {
  const auto a = HmacSm3(AsBytes("k1"), AsBytes("data"));
  EXPECT_NE(a, HmacSm3(AsBytes("k2"), AsBytes("data")));
  EXPECT_NE(a, HmacSm3(AsBytes("k1"), AsBytes("datA")));
  // RFC 2104: keys longer than the block (64 bytes) are hashed first; empty keys are allowed.
  EXPECT_NE(HmacSm3({}, AsBytes("data")), HmacSm3(AsBytes("x"), AsBytes("data")));
  const Bytes long_key(100, 0x42);
  const auto d = Sm3(long_key);
  EXPECT_EQ(HmacSm3(long_key, AsBytes("m")), HmacSm3(d, AsBytes("m")));
}

// req: CC-FCS
TEST(Sm3Kdf, KnownAnswersAgainstOpenSslX963) {
  for (const auto& v : LoadVectors("openssl/sm3_kdf.vec")) {
    SCOPED_TRACE(v.Where());
    const SecretBytes k = Sm3Kdf(v.Hex("Z"), std::stoul(v.Str("Len")));
    EXPECT_EQ(Hex(k.view()), v.Str("Out"));
  }
}

// req: CC-FCS
TEST(Sm3Kdf, PrefixPropertyAndEmptyLength) {
  const Bytes z = ToBytes("shared secret");
  EXPECT_TRUE(Sm3Kdf(z, 0).empty());
  const SecretBytes long_k = Sm3Kdf(z, 70);
  const SecretBytes short_k = Sm3Kdf(z, 31);
  EXPECT_TRUE(std::equal(short_k.view().begin(), short_k.view().end(), long_k.view().begin()));
  // The first block is H(Z || 00000001) (GB/T 32918.4 5.4.3).
  Bytes first = z;
  for (std::uint8_t b : {0, 0, 0, 1}) first.push_back(b);
  const auto h1 = Sm3(first);
  EXPECT_TRUE(std::equal(h1.begin(), h1.end(), long_k.view().begin()));
}

// req: CC-FCS
TEST(Random, ProducesDistinctOutput) {
  auto a = RandomBytes(32);
  auto b = RandomBytes(32);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(RandomBytes(0).ok());
  std::uint8_t buf[17] = {0};
  ASSERT_TRUE(RandomFill(buf).ok());
}

}  // namespace
}  // namespace gmpki::crypto
