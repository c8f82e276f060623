// The soft device's key-management-centre operations: GenerateWrappedKeyPairs and
// EnvelopeWrappedKey (device.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "crypto/random.h"
#include "crypto/sm2.h"
#include "crypto/sm4.h"
#include "device/soft_device.h"

namespace gmpki::device {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kContext = "km:escrow:2024";

// RFC 5915 section 3 ECPrivateKey for the SM2 curve, as the fixed-length bytes around d and
// the public point: SEQUENCE { INTEGER 1, OCTET STRING (32), [0] { OID 1.2.156.10197.1.301 },
// [1] { BIT STRING 00 || 04 || X || Y } }.
const Bytes kDerBeforeD = {0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20};
const Bytes kDerBetween = {0xA0, 0x0A, 0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55,
                           0x01, 0x82, 0x2D, 0xA1, 0x44, 0x03, 0x42, 0x00};

Bytes Copy(ByteView v) { return Bytes(v.begin(), v.end()); }

bool Contains(ByteView hay, ByteView needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

class SoftDeviceKmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto suffix = crypto::RandomBytes(8);
    ASSERT_TRUE(suffix.ok());
    dir_ = fs::temp_directory_path() / ("gmpki-device-km-test-" + HexEncode(*suffix));
    fs::create_directories(dir_);
    device_ = MakeDevice("a.sdf");
    ASSERT_NE(device_, nullptr);
    auto s = device_->OpenSession();
    ASSERT_TRUE(s.ok());
    session_ = std::move(s).value();
    auto recipient = crypto::Sm2GenerateKeyPair();
    ASSERT_TRUE(recipient.ok());
    recipient_ = std::make_unique<crypto::Sm2KeyPair>(std::move(recipient).value());
  }
  void TearDown() override {
    session_.reset();
    device_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A device with a fresh master key; the first one's key is kept in master_.
  std::unique_ptr<SoftDevice> MakeDevice(const std::string& name) {
    auto master = GenerateMasterKey();
    EXPECT_TRUE(master.ok());
    if (master_.empty()) master_ = master->Clone();
    auto dev = SoftDevice::Create(dir_ / name, *master);
    EXPECT_TRUE(dev.ok());
    return dev.ok() ? std::move(dev).value() : nullptr;
  }

  std::vector<WrappedKeyPair> Generate(std::size_t count) {
    auto pairs = session_->GenerateWrappedKeyPairs(kContext, count);
    EXPECT_TRUE(pairs.ok()) << pairs.error().ToString();
    return pairs.ok() ? std::move(pairs).value() : std::vector<WrappedKeyPair>{};
  }

  // Opens an envelope as its recipient would: SM2-decrypts the CEK, then SM4-decrypts the key.
  // Returns the decrypted key material (64-byte blob or DER ECPrivateKey).
  Bytes OpenEnvelope(const KeyEnvelopeParts& parts, EnvelopeForm form) {
    auto cek = crypto::Sm2Decrypt(recipient_->private_key, parts.encrypted_cek);
    EXPECT_TRUE(cek.ok());
    if (!cek.ok()) return {};
    EXPECT_EQ(cek->size(), crypto::kSm4KeySize);
    auto clear = form == EnvelopeForm::kSm4Ecb64
                     ? crypto::Sm4EcbDecrypt(cek->view(), parts.ciphertext)
                     : crypto::Sm4CbcDecrypt(cek->view(), parts.iv, parts.ciphertext, true);
    EXPECT_TRUE(clear.ok());
    return clear.ok() ? *clear : Bytes{};
  }

  // The private scalar of `w`, recovered through an ECB envelope to the test recipient.
  Bytes ScalarOf(const WrappedKeyPair& w) {
    auto parts = session_->EnvelopeWrappedKey(kContext, w.wrapped_private, w.public_key,
                                              recipient_->public_key, EnvelopeForm::kSm4Ecb64);
    EXPECT_TRUE(parts.ok());
    if (!parts.ok()) return {};
    Bytes blob = OpenEnvelope(*parts, EnvelopeForm::kSm4Ecb64);
    return blob.size() == 64 ? Bytes(blob.begin() + 32, blob.end()) : Bytes{};
  }

  static void ExpectScalarGivesPublicKey(ByteView d, const crypto::Sm2PublicKey& pub) {
    auto key = crypto::Sm2PrivateKey::FromScalar(d);
    ASSERT_TRUE(key.ok());
    auto derived = key->DerivePublicKey();
    ASSERT_TRUE(derived.ok());
    EXPECT_EQ(*derived, pub);
  }

  fs::path dir_;
  SecretBytes master_;
  std::unique_ptr<SoftDevice> device_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<crypto::Sm2KeyPair> recipient_;
};

// req: KM-01
TEST_F(SoftDeviceKmTest, GeneratesDistinctWrappedPairsInOneCall) {
  const auto pairs = Generate(50);
  ASSERT_EQ(pairs.size(), 50u);
  std::set<Bytes> points, nonces;
  for (const auto& w : pairs) {
    EXPECT_TRUE(crypto::Sm2PublicKey::FromPoint(w.public_key.point()).ok());
    ASSERT_EQ(w.wrapped_private.size(), 61u);
    EXPECT_EQ(w.wrapped_private[0], 0x01);
    points.insert(Copy(w.public_key.point()));
    nonces.insert(Bytes(w.wrapped_private.begin() + 1, w.wrapped_private.begin() + 13));
  }
  EXPECT_EQ(points.size(), 50u);
  EXPECT_EQ(nonces.size(), 50u);

  auto none = session_->GenerateWrappedKeyPairs(kContext, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto no_context = session_->GenerateWrappedKeyPairs("", 1);
  ASSERT_FALSE(no_context.ok());
  EXPECT_EQ(no_context.error().code(), ErrorCode::kInvalidArgument);
  auto too_many = session_->GenerateWrappedKeyPairs(kContext, kMaxWrappedKeyPairsPerCall + 1);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code(), ErrorCode::kInvalidArgument);
}

// req: KM-02, CC-FCS
TEST_F(SoftDeviceKmTest, WrappedBlobNeverHoldsTheClearKey) {
  for (const auto& w : Generate(8)) {
    const Bytes d = ScalarOf(w);
    ASSERT_EQ(d.size(), 32u);
    ExpectScalarGivesPublicKey(d, w.public_key);
    EXPECT_FALSE(Contains(w.wrapped_private, d));
    // Not even an 8-byte piece of d appears in the blob.
    for (std::size_t off = 0; off + 8 <= d.size(); ++off) {
      EXPECT_FALSE(Contains(w.wrapped_private, ByteView(d.data() + off, 8))) << off;
    }
  }
}

// req: KM-02, CC-FCS
TEST_F(SoftDeviceKmTest, WrappedKeyOpensOnlyWithItsContextDeviceAndPublicKey) {
  const auto pairs = Generate(2);
  ASSERT_EQ(pairs.size(), 2u);
  const WrappedKeyPair& w = pairs[0];
  auto envelope = [&](Session& s, std::string_view ctx, const crypto::Sm2PublicKey& pub) {
    return s.EnvelopeWrappedKey(ctx, w.wrapped_private, pub, recipient_->public_key,
                                EnvelopeForm::kSm4Ecb64);
  };
  EXPECT_TRUE(envelope(*session_, kContext, w.public_key).ok());

  auto other_context = envelope(*session_, "km:escrow:2025", w.public_key);
  ASSERT_FALSE(other_context.ok());
  EXPECT_EQ(other_context.error().code(), ErrorCode::kIntegrityFailure);

  auto other_key = envelope(*session_, kContext, pairs[1].public_key);
  ASSERT_FALSE(other_key.ok());
  EXPECT_EQ(other_key.error().code(), ErrorCode::kIntegrityFailure);

  auto other_device = MakeDevice("b.sdf");  // another master key
  ASSERT_NE(other_device, nullptr);
  auto other_session = other_device->OpenSession();
  ASSERT_TRUE(other_session.ok());
  auto elsewhere = envelope(**other_session, kContext, w.public_key);
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.error().code(), ErrorCode::kIntegrityFailure);

  // DeriveWrappingKey of the same context is not the sealing key: it does not open the blob.
  auto kek = session_->DeriveWrappingKey(kContext, 16);
  ASSERT_TRUE(kek.ok());
  const ByteView blob(w.wrapped_private);
  Bytes aad = ToBytes("gmpki-wrapped-key-v1");
  aad.insert(aad.end(), kContext.begin(), kContext.end());
  aad.insert(aad.end(), w.public_key.point().begin(), w.public_key.point().end());
  EXPECT_FALSE(crypto::Sm4GcmOpen(kek->view(), blob.subspan(1, 12), aad, blob.subspan(13)).ok());
}

// req: KM-02, CC-FCS
TEST_F(SoftDeviceKmTest, TamperedOrTruncatedBlobIsRefused) {
  const auto pairs = Generate(1);
  ASSERT_EQ(pairs.size(), 1u);
  const WrappedKeyPair& w = pairs[0];
  for (std::size_t i = 0; i < w.wrapped_private.size(); ++i) {
    Bytes bad = w.wrapped_private;
    bad[i] ^= 0x01;
    auto r = session_->EnvelopeWrappedKey(kContext, bad, w.public_key, recipient_->public_key,
                                          EnvelopeForm::kSm4Ecb64);
    ASSERT_FALSE(r.ok()) << "byte " << i;
    // The format byte is read before anything is decrypted; the rest fails the GCM tag.
    EXPECT_EQ(r.error().code(), i == 0 ? ErrorCode::kMalformedInput : ErrorCode::kIntegrityFailure)
        << "byte " << i;
  }
  for (std::size_t len : {std::size_t{0}, std::size_t{60}, std::size_t{62}}) {
    Bytes cut = w.wrapped_private;
    cut.resize(len);
    auto r = session_->EnvelopeWrappedKey(kContext, cut, w.public_key, recipient_->public_key,
                                          EnvelopeForm::kSm4CbcDer);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kMalformedInput);
  }
}

// req: KM-03, CC-FCS
TEST_F(SoftDeviceKmTest, EcbEnvelopeIsTheSkfPrivateKeyBlob) {
  const auto pairs = Generate(3);
  for (const auto& w : pairs) {
    auto parts = session_->EnvelopeWrappedKey(kContext, w.wrapped_private, w.public_key,
                                              recipient_->public_key, EnvelopeForm::kSm4Ecb64);
    ASSERT_TRUE(parts.ok()) << parts.error().ToString();
    EXPECT_TRUE(parts->iv.empty());
    ASSERT_EQ(parts->ciphertext.size(), 64u);
    auto cek = crypto::Sm2Decrypt(recipient_->private_key, parts->encrypted_cek);
    ASSERT_TRUE(cek.ok());
    ASSERT_EQ(cek->size(), 16u);
    auto blob = crypto::Sm4EcbDecrypt(cek->view(), parts->ciphertext);
    ASSERT_TRUE(blob.ok());
    ASSERT_EQ(blob->size(), 64u);
    // GM/T 0016 ECCPRIVATEKEYBLOB.PrivateKey: 32 zero bytes, then d.
    EXPECT_TRUE(
        std::all_of(blob->begin(), blob->begin() + 32, [](std::uint8_t b) { return b == 0; }));
    const ByteView d(blob->data() + 32, 32);
    ExpectScalarGivesPublicKey(d, w.public_key);
    // The last 32 bytes alone are SM4-ECB(d): the GB/T 35276 sm2EncryptedPrivateKey.
    auto ecb_d = crypto::Sm4EcbEncrypt(cek->view(), d);
    ASSERT_TRUE(ecb_d.ok());
    EXPECT_EQ(*ecb_d, Bytes(parts->ciphertext.begin() + 32, parts->ciphertext.end()));
  }
}

// req: KM-03, CC-FCS
TEST_F(SoftDeviceKmTest, CbcEnvelopeHoldsTheDerEcPrivateKey) {
  const auto pairs = Generate(3);
  for (const auto& w : pairs) {
    auto parts = session_->EnvelopeWrappedKey(kContext, w.wrapped_private, w.public_key,
                                              recipient_->public_key, EnvelopeForm::kSm4CbcDer);
    ASSERT_TRUE(parts.ok()) << parts.error().ToString();
    ASSERT_EQ(parts->iv.size(), 16u);
    // 121 bytes of DER padded to 128 (PKCS#7).
    EXPECT_EQ(parts->ciphertext.size(), 128u);
    const Bytes der = OpenEnvelope(*parts, EnvelopeForm::kSm4CbcDer);
    ASSERT_EQ(der.size(), 121u);
    EXPECT_EQ(Bytes(der.begin(), der.begin() + 7), kDerBeforeD);
    const ByteView d(der.data() + 7, 32);
    ExpectScalarGivesPublicKey(d, w.public_key);
    EXPECT_EQ(Bytes(der.begin() + 39, der.begin() + 56), kDerBetween);
    EXPECT_EQ(Bytes(der.begin() + 56, der.end()), Copy(w.public_key.point()));
  }
}

// req: KM-03, CC-FCS
TEST_F(SoftDeviceKmTest, EveryEnvelopeHasAFreshCek) {
  const auto pairs = Generate(1);
  ASSERT_EQ(pairs.size(), 1u);
  const WrappedKeyPair& w = pairs[0];
  std::set<Bytes> ceks, ciphertexts;
  for (int i = 0; i < 4; ++i) {
    auto parts = session_->EnvelopeWrappedKey(kContext, w.wrapped_private, w.public_key,
                                              recipient_->public_key, EnvelopeForm::kSm4Ecb64);
    ASSERT_TRUE(parts.ok());
    auto cek = crypto::Sm2Decrypt(recipient_->private_key, parts->encrypted_cek);
    ASSERT_TRUE(cek.ok());
    ceks.insert(Copy(cek->view()));
    ciphertexts.insert(parts->ciphertext);
  }
  EXPECT_EQ(ceks.size(), 4u);
  EXPECT_EQ(ciphertexts.size(), 4u);
}

// req: KM-03
TEST_F(SoftDeviceKmTest, InvalidRecipientFormOrContextIsRefused) {
  const auto pairs = Generate(1);
  ASSERT_EQ(pairs.size(), 1u);
  const WrappedKeyPair& w = pairs[0];
  const crypto::Sm2PublicKey no_point;  // default-constructed: 65 zero bytes, not a point
  auto r = session_->EnvelopeWrappedKey(kContext, w.wrapped_private, w.public_key, no_point,
                                        EnvelopeForm::kSm4Ecb64);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  r = session_->EnvelopeWrappedKey(kContext, w.wrapped_private, no_point, recipient_->public_key,
                                   EnvelopeForm::kSm4Ecb64);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  r = session_->EnvelopeWrappedKey(kContext, w.wrapped_private, w.public_key,
                                   recipient_->public_key, static_cast<EnvelopeForm>(3));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  r = session_->EnvelopeWrappedKey("", w.wrapped_private, w.public_key, recipient_->public_key,
                                   EnvelopeForm::kSm4Ecb64);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

// req: KM-04
TEST_F(SoftDeviceKmTest, WrappedKeysOpenAfterTheDeviceIsReopened) {
  // The KEK depends on the master key only: a device reopened (or restored from the custodian
  // shares of its master key) still opens the escrowed keys.
  const auto pairs = Generate(2);
  ASSERT_EQ(pairs.size(), 2u);
  const Bytes before = ScalarOf(pairs[1]);
  ASSERT_EQ(before.size(), 32u);
  session_.reset();
  device_.reset();
  auto reopened = SoftDevice::Open(dir_ / "a.sdf", master_);
  ASSERT_TRUE(reopened.ok());
  device_ = std::move(reopened).value();
  auto s = device_->OpenSession();
  ASSERT_TRUE(s.ok());
  session_ = std::move(s).value();
  EXPECT_EQ(ScalarOf(pairs[1]), before);
}

}  // namespace
}  // namespace gmpki::device
