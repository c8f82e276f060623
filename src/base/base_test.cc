#include <gtest/gtest.h>

#include <set>

#include "base/bytes.h"
#include "base/error.h"
#include "base/log.h"
#include "base/result.h"

namespace gmpki {
namespace {

TEST(ErrorCatalogue, EveryCodeHasItsOwnEntry) {
  std::set<std::string_view> slugs;
  for (int i = 0; i <= static_cast<int>(ErrorCode::kPolicyViolation); ++i) {
    const auto& info = InfoFor(static_cast<ErrorCode>(i));
    EXPECT_EQ(static_cast<int>(info.code), i);
    EXPECT_TRUE(slugs.insert(info.slug).second) << info.slug;
  }
  EXPECT_EQ(InfoFor(ErrorCode::kNotFound).http_status, 404);
  EXPECT_EQ(InfoFor(ErrorCode::kPermissionDenied).http_status, 403);
}

Result<int> Half(int x) {
  if (x % 2) return Error(ErrorCode::kInvalidArgument, "odd");
  return x / 2;
}
Result<int> Quarter(int x) {
  GMPKI_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(ResultTest, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().ToString(), "invalid-argument: odd");
}

TEST(BytesTest, HexRoundTripAndRejects) {
  auto b = HexDecode("00ff10Ab");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(HexEncode(*b), "00ff10ab");
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
}

TEST(BytesTest, Base64KnownAnswers) {
  // RFC 4648 section 10 test vectors.
  EXPECT_EQ(Base64Encode(AsBytes("")), "");
  EXPECT_EQ(Base64Encode(AsBytes("f")), "Zg==");
  EXPECT_EQ(Base64Encode(AsBytes("fo")), "Zm8=");
  EXPECT_EQ(Base64Encode(AsBytes("foobar")), "Zm9vYmFy");
  EXPECT_EQ(ToString(*Base64Decode("Zm9v\nYmE=")), "fooba");
  EXPECT_FALSE(Base64Decode("Zm9v!").ok());
  EXPECT_FALSE(Base64Decode("Zg==Zg").ok());
}

TEST(BytesTest, ConstantTimeEqual) {
  EXPECT_TRUE(ConstantTimeEqual(AsBytes("abc"), AsBytes("abc")));
  EXPECT_FALSE(ConstantTimeEqual(AsBytes("abc"), AsBytes("abd")));
  EXPECT_FALSE(ConstantTimeEqual(AsBytes("abc"), AsBytes("ab")));
}

// req: CC-FCS
TEST(SecretBytesTest, MoveLeavesSourceEmptyAndCloneIsIndependent) {
  Bytes raw = {1, 2, 3};
  SecretBytes s = SecretBytes::Adopt(raw);
  EXPECT_TRUE(raw.empty());
  SecretBytes t = std::move(s);
  EXPECT_TRUE(s.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(t.size(), 3u);
  SecretBytes c = t.Clone();
  t.Wipe();
  EXPECT_EQ(t[0], 0);
  EXPECT_EQ(c[2], 3);
}

// req: CC-FPR
TEST(MaskIdentifierTest, MasksTheMiddle) {
  EXPECT_EQ(MaskIdentifier("110101199003077777"), "110*************77");
  EXPECT_EQ(MaskIdentifier("123456"), "******");
}

}  // namespace
}  // namespace gmpki
