#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/sm4.h"
#include "crypto/sm4_test_paths.h"
#include "crypto/test_vectors.h"

namespace gmpki::crypto {
namespace {

using testing::LoadVectors;

class Sm4Gcm : public testing::Sm4PathTest {};
GMPKI_SM4_ON_EVERY_PATH(Sm4Gcm);

Bytes Concat(ByteView a, ByteView b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// req: CC-FCS
TEST_P(Sm4Gcm, Rfc8998AppendixA) {
  for (const auto& v : LoadVectors("rfc8998/sm4_gcm.vec")) {
    SCOPED_TRACE(v.Where());
    const Bytes expected = Concat(v.Hex("Out"), v.Hex("Tag"));
    auto sealed = Sm4GcmSeal(v.Hex("Key"), v.Hex("IV"), v.Hex("AAD"), v.Hex("In"));
    ASSERT_TRUE(sealed.ok());
    EXPECT_EQ(HexEncode(*sealed), HexEncode(expected));
    auto opened = Sm4GcmOpen(v.Hex("Key"), v.Hex("IV"), v.Hex("AAD"), expected);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(*opened, v.Hex("In"));
  }
}

// req: CC-FCS
TEST_P(Sm4Gcm, Rfc8998TamperedInputsFailTheTagCheck) {
  for (const auto& v : LoadVectors("rfc8998/sm4_gcm_invalid.vec")) {
    SCOPED_TRACE(v.Where() + " " + v.Str("Case"));
    auto opened =
        Sm4GcmOpen(v.Hex("Key"), v.Hex("IV"), v.Hex("AAD"), Concat(v.Hex("Out"), v.Hex("Tag")));
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code(), ErrorCode::kBadSignature);
  }
}

// req: CC-FCS
TEST_P(Sm4Gcm, WycheproofVectors) {
  const auto doc = nlohmann::json::parse(testing::ReadTestdataFile("wycheproof/sm4_gcm_test.json"));
  int valid = 0, invalid = 0;
  for (const auto& group : doc.at("testGroups")) {
    ASSERT_EQ(group.at("tagSize").get<int>(), 128);
    for (const auto& t : group.at("tests")) {
      SCOPED_TRACE("tcId " + std::to_string(t.at("tcId").get<int>()));
      auto hex = [&](const char* f) { return *HexDecode(t.at(f).get<std::string>()); };
      const Bytes key = hex("key"), iv = hex("iv"), aad = hex("aad"), msg = hex("msg");
      const Bytes ct_tag = Concat(hex("ct"), hex("tag"));
      auto opened = Sm4GcmOpen(key, iv, aad, ct_tag);
      if (t.at("result") == "valid") {
        ++valid;
        auto sealed = Sm4GcmSeal(key, iv, aad, msg);
        ASSERT_TRUE(sealed.ok());
        EXPECT_EQ(HexEncode(*sealed), HexEncode(ct_tag));
        ASSERT_TRUE(opened.ok());
        EXPECT_EQ(*opened, msg);
      } else {
        ++invalid;
        EXPECT_FALSE(opened.ok());
        // An empty IV is refused for sealing too (SP 800-38D 5.2.1.1).
        if (iv.empty()) {
          EXPECT_FALSE(Sm4GcmSeal(key, iv, aad, msg).ok());
        }
      }
    }
  }
  EXPECT_EQ(valid + invalid, doc.at("numberOfTests").get<int>());
  EXPECT_GT(invalid, 20);
}

// req: CC-FCS
TEST_P(Sm4Gcm, RoundTripsAndRejectsEveryFlippedBit) {
  const Bytes key(16, 7), iv(12, 9), aad = ToBytes("header");
  for (std::size_t len : {0u, 1u, 15u, 16u, 17u, 100u, 1500u}) {
    const Bytes msg(len, 0xa5);
    auto sealed = Sm4GcmSeal(key, iv, aad, msg);
    ASSERT_TRUE(sealed.ok());
    ASSERT_EQ(sealed->size(), len + kSm4GcmTagSize);
    auto opened = Sm4GcmOpen(key, iv, aad, *sealed);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(*opened, msg);
  }
  auto sealed = Sm4GcmSeal(key, iv, aad, ToBytes("secret payload"));
  ASSERT_TRUE(sealed.ok());
  for (std::size_t bit = 0; bit < sealed->size() * 8; ++bit) {
    Bytes t = *sealed;
    t[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    auto r = Sm4GcmOpen(key, iv, aad, t);
    ASSERT_FALSE(r.ok()) << bit;
    EXPECT_EQ(r.error().code(), ErrorCode::kBadSignature);
  }
}

// req: CC-FCS
TEST_P(Sm4Gcm, RejectsBadParameters) {
  const Bytes key(16, 1), iv(12, 2);
  EXPECT_EQ(Sm4GcmSeal(Bytes(15, 1), iv, {}, {}).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Sm4GcmSeal(key, {}, {}, {}).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Sm4GcmOpen(key, iv, {}, Bytes(15, 0)).error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(Sm4GcmOpen(key, {}, {}, Bytes(16, 0)).error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace gmpki::crypto
