#include "device/key_file.h"

#include <gtest/gtest.h>

#include "crypto/random.h"

namespace gmpki::device::internal {
namespace {

std::shared_ptr<const StoredKey> MakeKey(std::uint32_t index, std::string label,
                                         KeyPurpose purpose) {
  auto pair = crypto::Sm2GenerateKeyPair();
  EXPECT_TRUE(pair.ok());
  KeyInfo info;
  info.index = index;
  info.label = std::move(label);
  info.purpose = purpose;
  info.public_key = pair->public_key;
  info.created_unix = 1750000000 + index;
  return std::make_shared<const StoredKey>(StoredKey{info, std::move(pair->private_key)});
}

KeyTable TwoKeyTable() {
  KeyTable t;
  t.device_id = Bytes(kDeviceIdSize, 0xA5);
  t.next_index = 5;
  t.keys.push_back(MakeKey(1, "sign", KeyPurpose::kSign));
  t.keys.push_back(MakeKey(4, "enc", KeyPurpose::kEncrypt));
  return t;
}

Bytes Plain(const KeyTable& t) {
  const SecretBytes s = SerializeTable(t);
  return Bytes(s.view().begin(), s.view().end());
}

TEST(KeyFileTest, TableRoundTrips) {
  const KeyTable t = TwoKeyTable();
  auto parsed = ParseTable(Plain(t));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->device_id, t.device_id);
  EXPECT_EQ(parsed->next_index, 5u);
  ASSERT_EQ(parsed->keys.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(parsed->keys[i]->info.index, t.keys[i]->info.index);
    EXPECT_EQ(parsed->keys[i]->info.label, t.keys[i]->info.label);
    EXPECT_EQ(parsed->keys[i]->info.purpose, t.keys[i]->info.purpose);
    EXPECT_EQ(parsed->keys[i]->info.public_key, t.keys[i]->info.public_key);
    EXPECT_EQ(parsed->keys[i]->info.created_unix, t.keys[i]->info.created_unix);
    EXPECT_TRUE(ConstantTimeEqual(parsed->keys[i]->private_key.scalar().view(),
                                  t.keys[i]->private_key.scalar().view()));
  }
}

TEST(KeyFileTest, MalformedTablesAreRejected) {
  const KeyTable t = TwoKeyTable();
  const Bytes good = Plain(t);
  auto expect_malformed = [](ByteView b, const char* what) {
    auto r = ParseTable(b);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.error().code(), ErrorCode::kMalformedInput) << what;
  };
  Bytes trailing = good;
  trailing.push_back(0);
  expect_malformed(trailing, "trailing byte");
  for (std::size_t cut : {std::size_t{0}, std::size_t{10}, std::size_t{24}, good.size() - 1}) {
    expect_malformed(ByteView(good).first(cut), "truncated");
  }
  // Index at or above next_index.
  KeyTable high = TwoKeyTable();
  high.next_index = 4;
  expect_malformed(Plain(high), "index >= next_index");
  // Indices out of order.
  KeyTable order = TwoKeyTable();
  std::swap(order.keys[0], order.keys[1]);
  expect_malformed(Plain(order), "descending indices");
  // Duplicate labels.
  KeyTable dup;
  dup.device_id = Bytes(kDeviceIdSize, 1);
  dup.next_index = 3;
  dup.keys.push_back(MakeKey(1, "same", KeyPurpose::kSign));
  dup.keys.push_back(MakeKey(2, "same", KeyPurpose::kSign));
  expect_malformed(Plain(dup), "duplicate label");
  // A scalar that does not belong to the stored public key.
  KeyTable mixed;
  mixed.device_id = Bytes(kDeviceIdSize, 2);
  mixed.next_index = 2;
  auto a = MakeKey(1, "a", KeyPurpose::kSign);
  auto b = MakeKey(1, "b", KeyPurpose::kSign);
  auto b_scalar = crypto::Sm2PrivateKey::FromScalar(b->private_key.scalar().view());
  ASSERT_TRUE(b_scalar.ok());
  mixed.keys.push_back(
      std::make_shared<const StoredKey>(StoredKey{a->info, std::move(b_scalar).value()}));
  expect_malformed(Plain(mixed), "key pair mismatch");
  // An unknown purpose byte (offset: id 16 + next 4 + count 4 + index 4).
  Bytes purpose = good;
  purpose[28] = 9;
  expect_malformed(purpose, "purpose");
}

// req: CC-FCS
TEST(KeyFileTest, SealedImageHasTheDocumentedHeaderAndAFreshNonce) {
  const KeyTable t = TwoKeyTable();
  auto key = crypto::RandomBytes(16);
  ASSERT_TRUE(key.ok());
  auto a = SealKeyFile(*key, t);
  auto b = SealKeyFile(*key, t);
  ASSERT_TRUE(a.ok() && b.ok());
  const Bytes header = {'G', 'M', 'P', 'K', 'I', 'S', 'D', '1', 0, 0, 0, 1};
  EXPECT_TRUE(std::equal(header.begin(), header.end(), a->begin()));
  // magic+version || nonce || ciphertext || tag
  EXPECT_EQ(a->size(), 12 + 12 + Plain(t).size() + 16);
  EXPECT_NE(Bytes(a->begin() + 12, a->begin() + 24), Bytes(b->begin() + 12, b->begin() + 24));
  auto opened = OpenKeyFile(*key, *a);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->keys.size(), 2u);
  // The header is checked before decryption (and is also the GCM AAD).
  Bytes v2 = *a;
  v2[11] = 2;
  EXPECT_EQ(OpenKeyFile(*key, v2).error().code(), ErrorCode::kUnsupported);
  Bytes not_ours = *a;
  not_ours[0] = 'X';
  EXPECT_EQ(OpenKeyFile(*key, not_ours).error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(SealKeyFile(ByteView(key->data(), 15), t).error().code(),
            ErrorCode::kInvalidArgument);
}

// req: CC-FCS
TEST(KeyFileTest, EveryFlippedByteOfTheImageIsDetected) {
  auto key = crypto::RandomBytes(16);
  ASSERT_TRUE(key.ok());
  auto image = SealKeyFile(*key, TwoKeyTable());
  ASSERT_TRUE(image.ok());
  for (std::size_t i = 0; i < image->size(); ++i) {
    for (std::uint8_t flip : {0x01, 0x80}) {
      Bytes altered = *image;
      altered[i] ^= flip;
      auto r = OpenKeyFile(*key, altered);
      ASSERT_FALSE(r.ok()) << "byte " << i;
      const ErrorCode expected = i < 8    ? ErrorCode::kMalformedInput
                                 : i < 12 ? ErrorCode::kUnsupported
                                          : ErrorCode::kIntegrityFailure;
      EXPECT_EQ(r.error().code(), expected) << "byte " << i;
    }
  }
  Bytes wrong_key = *key;
  wrong_key[0] ^= 1;
  EXPECT_EQ(OpenKeyFile(wrong_key, *image).error().code(), ErrorCode::kIntegrityFailure);
}

TEST(KeyFileTest, LabelRules) {
  EXPECT_TRUE(ValidateLabel("a").ok());
  EXPECT_TRUE(ValidateLabel(std::string(64, 'x')).ok());
  EXPECT_TRUE(ValidateLabel(" !~").ok());
  EXPECT_FALSE(ValidateLabel("").ok());
  EXPECT_FALSE(ValidateLabel(std::string(65, 'x')).ok());
  EXPECT_FALSE(ValidateLabel(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(ValidateLabel("\x7f").ok());
  EXPECT_FALSE(ValidateLabel("\xe4\xb8\xad").ok());
}

}  // namespace
}  // namespace gmpki::device::internal
