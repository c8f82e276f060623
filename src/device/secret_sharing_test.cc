#include "device/secret_sharing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "crypto/random.h"
#include "crypto/sm3.h"
#include "device/gf256.h"

namespace gmpki::device {
namespace {

Bytes Secret16() {
  return Bytes{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
               0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
}

std::vector<std::string> Split(ByteView secret, int k, int n) {
  auto shares = SplitSecret(secret, k, n);
  EXPECT_TRUE(shares.ok()) << shares.error().ToString();
  return shares.ok() ? std::move(shares).value() : std::vector<std::string>{};
}

std::vector<std::string> Subset(const std::vector<std::string>& all, std::vector<int> xs) {
  std::vector<std::string> out;
  for (int x : xs) out.push_back(all[static_cast<std::size_t>(x - 1)]);
  return out;
}

Share Parse(const std::string& text) {
  auto share = ParseShare(text);
  EXPECT_TRUE(share.ok()) << share.error().ToString();
  return std::move(share).value();
}

// FIPS 197 section 4.2: {57} * {83} = {c1} and section 4.2.1: {57} * {13} = {fe}.
TEST(Gf256Test, MultiplicationMatchesFips197Examples) {
  EXPECT_EQ(gf256::Mul(0x57, 0x83), 0xC1);
  EXPECT_EQ(gf256::Mul(0x83, 0x57), 0xC1);
  EXPECT_EQ(gf256::Mul(0x57, 0x13), 0xFE);
  EXPECT_EQ(gf256::Mul(0x57, 0x02), 0xAE);  // xtime({57}) = {ae}
  EXPECT_EQ(gf256::Mul(0xAE, 0x02), 0x47);  // xtime({ae}) = {47}: reduction by {1b}
  EXPECT_EQ(gf256::Mul(0x00, 0xFF), 0x00);
  EXPECT_EQ(gf256::Mul(0x01, 0xAB), 0xAB);
}

TEST(Gf256Test, EveryNonZeroElementHasAnInverse) {
  for (int a = 1; a < 256; ++a) {
    const auto x = static_cast<std::uint8_t>(a);
    EXPECT_EQ(gf256::Mul(x, gf256::Inv(x)), 1) << a;
  }
  // Multiplication by a non-zero element is a bijection of the field.
  for (int a = 1; a < 256; a += 17) {
    std::vector<bool> seen(256, false);
    for (int b = 0; b < 256; ++b) {
      seen[gf256::Mul(static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b))] = true;
    }
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](bool s) { return s; })) << a;
  }
}

TEST(Gf256Test, MultiplicationDistributesOverAddition) {
  for (int a = 0; a < 256; a += 7) {
    for (int b = 0; b < 256; b += 11) {
      for (int c = 0; c < 256; c += 13) {
        const auto x = static_cast<std::uint8_t>(a), y = static_cast<std::uint8_t>(b),
                   z = static_cast<std::uint8_t>(c);
        ASSERT_EQ(gf256::Mul(x, gf256::Add(y, z)),
                  gf256::Add(gf256::Mul(x, y), gf256::Mul(x, z)));
      }
    }
  }
}

// req: CC-FCS
TEST(SecretSharingTest, AnyThreeOfFiveRebuildTheSecret) {
  const Bytes secret = Secret16();
  const auto shares = Split(secret, 3, 5);
  ASSERT_EQ(shares.size(), 5u);
  int combinations = 0;
  for (int a = 1; a <= 5; ++a) {
    for (int b = a + 1; b <= 5; ++b) {
      for (int c = b + 1; c <= 5; ++c) {
        // Order of the shares does not matter.
        auto rebuilt = CombineShares(Subset(shares, {c, a, b}));
        ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().ToString();
        EXPECT_EQ(Bytes(rebuilt->view().begin(), rebuilt->view().end()), secret);
        ++combinations;
      }
    }
  }
  EXPECT_EQ(combinations, 10);
  // More than k shares are accepted too.
  auto all = CombineShares(shares);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Bytes(all->view().begin(), all->view().end()), secret);
}

// req: CC-FCS
TEST(SecretSharingTest, TwoOfTwo) {
  const Bytes secret = Secret16();
  const auto shares = Split(secret, 2, 2);
  auto rebuilt = CombineShares(shares);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().ToString();
  EXPECT_EQ(Bytes(rebuilt->view().begin(), rebuilt->view().end()), secret);
  for (const auto& one : shares) {
    auto r = CombineShares({one});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(SecretSharingTest, ShareTextHasTheDocumentedFormat) {
  const Bytes secret = Secret16();
  const auto shares = Split(secret, 3, 5);
  for (int x = 1; x <= 5; ++x) {
    const std::string& text = shares[static_cast<std::size_t>(x - 1)];
    // gmpki-share-v1:<k>:<n>:<x>:<set-id hex16>:<y hex>:<kcv hex16>:<checksum hex16>
    const std::string prefix = "gmpki-share-v1:3:5:" + std::to_string(x) + ":";
    ASSERT_EQ(text.rfind(prefix, 0), 0u) << text;
    const std::size_t expected_len = prefix.size() + 16 + 1 + 32 + 1 + 16 + 1 + 16;
    EXPECT_EQ(text.size(), expected_len) << text;
    // The checksum is the first 8 bytes of SM3 over everything before its ':'.
    const std::size_t last = text.rfind(':');
    const crypto::Sm3Digest d = crypto::Sm3(AsBytes(std::string_view(text).substr(0, last)));
    EXPECT_EQ(text.substr(last + 1), HexEncode(ByteView(d.data(), 8)));
    // The kcv is HMAC-SM3(secret, "gmpki master key check value") truncated to 8 bytes.
    const crypto::Sm3Digest mac = crypto::HmacSm3(secret, AsBytes("gmpki master key check value"));
    const Share share = Parse(text);
    EXPECT_EQ(share.kcv, Bytes(mac.begin(), mac.begin() + 8));
    EXPECT_EQ(share.k, 3);
    EXPECT_EQ(share.n, 5);
    EXPECT_EQ(share.x, x);
    EXPECT_EQ(share.y.size(), secret.size());
    EXPECT_EQ(FormatShare(share), text);
  }
  // One split has one set id; a second split of the same secret has another and other y.
  const auto again = Split(secret, 3, 5);
  EXPECT_EQ(Parse(shares[0]).set_id, Parse(shares[4]).set_id);
  EXPECT_NE(Parse(shares[0]).set_id, Parse(again[0]).set_id);
  EXPECT_NE(shares[0], again[0]);
}

TEST(SecretSharingTest, PastedWhitespaceIsIgnoredAndUpperCaseHexIsRead) {
  const auto shares = Split(Secret16(), 2, 3);
  auto r = CombineShares({"  " + shares[0] + "\n", "\t" + shares[2] + "\r\n"});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(Bytes(r->view().begin(), r->view().end()), Secret16());
  // The checksum covers the text as written, so only its own field may change case.
  std::string upper = shares[1];
  const std::size_t last = upper.rfind(':');
  std::transform(upper.begin() + static_cast<std::ptrdiff_t>(last), upper.end(),
                 upper.begin() + static_cast<std::ptrdiff_t>(last),
                 [](char c) { return static_cast<char>(std::toupper(c)); });
  EXPECT_TRUE(ParseShare(upper).ok());
}

// req: CC-FCS
TEST(SecretSharingTest, FewerThanKSharesAreRefused) {
  const auto shares = Split(Secret16(), 3, 5);
  auto r = CombineShares(Subset(shares, {2, 5}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  r = CombineShares({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

// An attacker with k-1 real shares who forges the k-th (any y, with a consistent checksum)
// rebuilds some value, but not one that matches the key check value.
// req: CC-FCS
TEST(SecretSharingTest, KMinusOneSharesPlusAGuessFailTheKeyCheckValue) {
  const auto shares = Split(Secret16(), 3, 5);
  const Share model = Parse(shares[0]);
  for (int attempt = 0; attempt < 20; ++attempt) {
    Share guess;
    guess.k = model.k;
    guess.n = model.n;
    guess.x = 4;
    guess.set_id = model.set_id;
    guess.kcv = model.kcv;
    guess.y = SecretBytes(model.y.size());
    ASSERT_TRUE(
        crypto::RandomFill(std::span<std::uint8_t>(guess.y.data(), guess.y.size())).ok());
    // A guess equal to the real share would be no guess at all.
    if (FormatShare(guess) == shares[3]) continue;
    auto r = CombineShares({shares[0], shares[1], FormatShare(guess)});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kIntegrityFailure);
  }
}

// With k-1 shares every candidate secret byte is consistent with exactly one polynomial, so the
// shares leave all 256 values equally likely (perfect secrecy of Shamir's scheme).
// req: CC-FCS
TEST(SecretSharingTest, KMinusOneSharesAreConsistentWithEverySecretByte) {
  // k = 2: one share (x1, y1). For each candidate c, count a1 with c + a1*x1 = y1.
  {
    const Share s = Parse(Split(Secret16(), 2, 4)[2]);
    const auto x1 = static_cast<std::uint8_t>(s.x);
    for (std::size_t byte = 0; byte < s.y.size(); ++byte) {
      for (int c = 0; c < 256; ++c) {
        int solutions = 0;
        for (int a1 = 0; a1 < 256; ++a1) {
          const auto f = gf256::Add(static_cast<std::uint8_t>(c),
                                    gf256::Mul(static_cast<std::uint8_t>(a1), x1));
          if (f == s.y[byte]) ++solutions;
        }
        ASSERT_EQ(solutions, 1) << "byte " << byte << " candidate " << c;
      }
    }
  }
  // k = 3: two shares. For each candidate c and each a1, the first share fixes a2 (x1^2 != 0
  // makes a2 -> a2*x1^2 a bijection); count those that also fit the second share.
  {
    const auto shares = Split(Secret16(), 3, 5);
    const Share s1 = Parse(shares[1]);
    const Share s2 = Parse(shares[4]);
    const auto x1 = static_cast<std::uint8_t>(s1.x);
    const auto x2 = static_cast<std::uint8_t>(s2.x);
    const std::uint8_t x1sq = gf256::Mul(x1, x1);
    const std::uint8_t x2sq = gf256::Mul(x2, x2);
    for (std::size_t byte = 0; byte < 2; ++byte) {
      for (int c = 0; c < 256; ++c) {
        int solutions = 0;
        for (int a = 0; a < 256; ++a) {
          const auto cb = static_cast<std::uint8_t>(c);
          const auto a1 = static_cast<std::uint8_t>(a);
          const std::uint8_t a2 =
              gf256::Div(gf256::Add(gf256::Add(s1.y[byte], cb), gf256::Mul(a1, x1)), x1sq);
          const std::uint8_t f2 =
              gf256::Add(gf256::Add(cb, gf256::Mul(a1, x2)), gf256::Mul(a2, x2sq));
          if (f2 == s2.y[byte]) ++solutions;
        }
        ASSERT_EQ(solutions, 1) << "byte " << byte << " candidate " << c;
      }
    }
  }
}

// req: CC-FCS
TEST(SecretSharingTest, AlteredHexDigitIsCaughtByTheChecksum) {
  const auto shares = Split(Secret16(), 3, 5);
  std::string bad = shares[2];
  // The y field starts after the fifth ':'.
  std::size_t pos = 0;
  for (int i = 0; i < 5; ++i) pos = bad.find(':', pos) + 1;
  bad[pos + 3] = bad[pos + 3] == '0' ? '1' : '0';
  auto parsed = ParseShare(bad);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), ErrorCode::kIntegrityFailure);
  auto r = CombineShares({shares[0], shares[1], bad});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kIntegrityFailure);
}

// req: CC-FCS
TEST(SecretSharingTest, AlteredYWithRecomputedChecksumIsCaughtByTheKcv) {
  const auto shares = Split(Secret16(), 3, 5);
  Share s = Parse(shares[2]);
  s.y[7] ^= 0x01;
  const std::string forged = FormatShare(s);
  ASSERT_TRUE(ParseShare(forged).ok());  // the share itself looks fine
  auto r = CombineShares({shares[0], forged, shares[4]});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kIntegrityFailure);
  // An extra altered share is caught as well: all given shares are used.
  r = CombineShares({shares[0], shares[1], shares[3], forged});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kIntegrityFailure);
}

TEST(SecretSharingTest, DuplicatesAndMixedSetsAreRefused) {
  const auto a = Split(Secret16(), 2, 3);
  const auto b = Split(Secret16(), 2, 3);
  auto r = CombineShares({a[0], a[0]});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  // Same x, different text: still one point given twice.
  Share twin = Parse(a[1]);
  twin.y[0] ^= 0xFF;
  r = CombineShares({a[1], FormatShare(twin), a[2]});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  // Shares of two splits of the same secret do not mix.
  r = CombineShares({a[0], b[1]});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  // Nor do shares with a different threshold.
  Share other_k = Parse(a[1]);
  other_k.k = 3;
  r = CombineShares({a[0], FormatShare(other_k), a[2]});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST(SecretSharingTest, MalformedShareTextIsRejected) {
  const std::string good = Split(Secret16(), 2, 3)[0];
  auto with_checksum = [](std::string body) {
    const crypto::Sm3Digest d = crypto::Sm3(AsBytes(body));
    return body + ":" + HexEncode(ByteView(d.data(), 8));
  };
  const std::string set = "0011223344556677";
  const std::string kcv = "8899aabbccddeeff";
  const std::vector<std::string> bad = {
      "",
      "gmpki-share-v2:2:3:1:" + set + ":00:" + kcv + ":0000000000000000",
      good.substr(0, good.rfind(':')),  // no checksum field
      with_checksum("gmpki-share-v1:2:3:1:" + set + ":00:" + kcv + ":extra"),
      with_checksum("gmpki-share-v1:1:3:1:" + set + ":00:" + kcv),     // k < 2
      with_checksum("gmpki-share-v1:3:2:1:" + set + ":00:" + kcv),     // n < k
      with_checksum("gmpki-share-v1:2:3:4:" + set + ":00:" + kcv),     // x > n
      with_checksum("gmpki-share-v1:2:3:0:" + set + ":00:" + kcv),     // x = 0
      with_checksum("gmpki-share-v1:02:3:1:" + set + ":00:" + kcv),    // leading zero
      with_checksum("gmpki-share-v1:2:256:1:" + set + ":00:" + kcv),   // n > 255
      with_checksum("gmpki-share-v1:2:3:1:" + set + ":0:" + kcv),      // odd hex
      with_checksum("gmpki-share-v1:2:3:1:" + set + "::" + kcv),       // empty y
      with_checksum("gmpki-share-v1:2:3:1:0011:00:" + kcv),            // short set id
      with_checksum("gmpki-share-v1:2:3:1:" + set + ":zz:" + kcv),     // not hex
      with_checksum("gmpki-share-v1:2:3:1:" + set + ":00:" + "8899"),  // short kcv
  };
  for (const std::string& text : bad) {
    auto r = ParseShare(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code(), ErrorCode::kMalformedInput) << text;
  }
}

TEST(SecretSharingTest, SplitParametersAreChecked) {
  const Bytes secret = Secret16();
  for (auto [k, n] : std::vector<std::pair<int, int>>{{1, 3}, {0, 0}, {4, 3}, {2, 256}}) {
    auto r = SplitSecret(secret, k, n);
    ASSERT_FALSE(r.ok()) << k << "," << n;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
  auto empty = SplitSecret(ByteView(), 2, 3);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidArgument);
  // The largest threshold works.
  auto big = SplitSecret(secret, 255, 255);
  ASSERT_TRUE(big.ok());
  auto rebuilt = CombineShares(*big);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().ToString();
  EXPECT_EQ(Bytes(rebuilt->view().begin(), rebuilt->view().end()), secret);
}

}  // namespace
}  // namespace gmpki::device
