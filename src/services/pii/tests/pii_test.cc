#include "services/pii/pii.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "device/soft_device.h"

namespace gmpki::pii {
namespace {

// req: CC-FPR
TEST(ResidentIdTest, AcceptsValidNumbersIncludingCheckX) {
  EXPECT_TRUE(ValidateResidentId("11010519491231002X").ok());
  EXPECT_TRUE(ValidateResidentId("110101200002290018").ok());  // 29 February of a leap year
  EXPECT_EQ(*NormalizeIdentifier(IdKind::kResidentId, " 11010519491231002x "), "11010519491231002X");
}

// req: CC-FPR
TEST(ResidentIdTest, RefusesEachKindOfWrongNumberWithoutEchoingIt) {
  struct Case {
    const char* id;
    const char* says;
  } cases[] = {
      {"11010519491231002", "18 characters"},
      {"1101051949123100AX", "not a digit"},
      {"01010519491231002X", "region code"},
      {"110105194913310029", "birth date"},
      {"110101190002290014", "birth date"},  // 1900 is not a leap year
      {"110105194912310021", "check character"},
  };
  for (const auto& c : cases) {
    auto st = ValidateResidentId(c.id);
    ASSERT_FALSE(st.ok()) << c.id;
    EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(st.error().message().find(c.says), std::string::npos) << st.error().message();
    EXPECT_EQ(st.error().message().find(c.id), std::string::npos) << "number echoed";
  }
}

// req: CC-FPR
TEST(IdentifierTest, OtherKindsArePrintableAndBounded) {
  EXPECT_EQ(*NormalizeIdentifier(IdKind::kPassport, "e1234567"), "E1234567");
  EXPECT_FALSE(NormalizeIdentifier(IdKind::kPassport, "").ok());
  EXPECT_FALSE(NormalizeIdentifier(IdKind::kSocialSecurity, "12 34").ok());
  EXPECT_FALSE(NormalizeIdentifier(IdKind::kOther, std::string(65, '1')).ok());
  EXPECT_EQ(*ParseIdKind("social-security"), IdKind::kSocialSecurity);
  EXPECT_FALSE(ParseIdKind("ssn").ok());
  EXPECT_EQ(Mask("11010519491231002X"), "110*************2X");
}

class PiiCodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("gmpki-pii-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    SecretBytes master(16);
    for (std::size_t i = 0; i < master.size(); ++i) master[i] = static_cast<std::uint8_t>(i * 7 + 1);
    auto dev = device::SoftDevice::Create(dir_ / "keys.sealed", master);
    ASSERT_TRUE(dev.ok()) << dev.error().ToString();
    device_ = std::move(*dev);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::unique_ptr<device::SoftDevice> device_;
};

// req: CC-FPR
TEST_F(PiiCodecTest, RoundTripsAndBindsToKindAndContext) {
  auto codec = PiiCodec::Create(*device_);
  ASSERT_TRUE(codec.ok());
  const std::string id = "11010519491231002X";
  auto sealed = codec->Encrypt(IdKind::kResidentId, "subscriber:42", id);
  ASSERT_TRUE(sealed.ok());
  // The clear number appears nowhere in the stored bytes.
  EXPECT_EQ(ToString(*sealed).find(id), std::string::npos);
  EXPECT_EQ(*codec->Decrypt(IdKind::kResidentId, "subscriber:42", *sealed), id);
  // Moved to another record, or relabelled as another kind: refused.
  EXPECT_EQ(codec->Decrypt(IdKind::kResidentId, "subscriber:43", *sealed).error().code(),
            ErrorCode::kIntegrityFailure);
  EXPECT_EQ(codec->Decrypt(IdKind::kPassport, "subscriber:42", *sealed).error().code(),
            ErrorCode::kIntegrityFailure);
  Bytes changed = *sealed;
  changed[changed.size() / 2] ^= 1;
  EXPECT_EQ(codec->Decrypt(IdKind::kResidentId, "subscriber:42", changed).error().code(),
            ErrorCode::kIntegrityFailure);
  // Two encryptions of one value differ (random IV).
  EXPECT_NE(*codec->Encrypt(IdKind::kResidentId, "subscriber:42", id), *sealed);
}

// req: CC-FPR
TEST_F(PiiCodecTest, BlindIndexIsStableKeyedAndKindSeparated) {
  auto codec = PiiCodec::Create(*device_);
  ASSERT_TRUE(codec.ok());
  auto a = codec->BlindIndex(IdKind::kResidentId, "11010519491231002X");
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a, codec->BlindIndex(IdKind::kResidentId, "11010519491231002X"));
  EXPECT_NE(a, codec->BlindIndex(IdKind::kPassport, "11010519491231002X"));
  EXPECT_NE(a, codec->BlindIndex(IdKind::kResidentId, "110101200002290018"));
  // A second codec on the same device derives the same keys: the index survives restarts.
  auto again = PiiCodec::Create(*device_);
  EXPECT_EQ(again->BlindIndex(IdKind::kResidentId, "11010519491231002X"), a);
  // A different device (another master key) gives an unrelated index.
  SecretBytes other_master(16);
  auto other = device::SoftDevice::Create(dir_ / "other.sealed", other_master);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(PiiCodec::Create(**other)->BlindIndex(IdKind::kResidentId, "11010519491231002X"), a);
}

}  // namespace
}  // namespace gmpki::pii
