#include "device/soft_device.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "crypto/random.h"
#include "crypto/sm2.h"
#include "crypto/sm3.h"
#include "device/secret_sharing.h"
#include "device/soft_device_internal.h"

namespace gmpki::device {
namespace {

namespace fs = std::filesystem;

Bytes ReadFileBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFileBytes(const fs::path& p, ByteView b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

Bytes View2Bytes(ByteView v) { return Bytes(v.begin(), v.end()); }

class SoftDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto suffix = crypto::RandomBytes(8);
    ASSERT_TRUE(suffix.ok());
    dir_ = fs::temp_directory_path() / ("gmpki-device-test-" + HexEncode(*suffix));
    fs::create_directories(dir_);
    file_ = dir_ / "keys.sdf";
    auto key = GenerateMasterKey();
    ASSERT_TRUE(key.ok());
    master_ = std::move(key).value();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<SoftDevice> CreateDevice() {
    auto dev = SoftDevice::Create(file_, master_);
    EXPECT_TRUE(dev.ok()) << dev.error().ToString();
    return dev.ok() ? std::move(dev).value() : nullptr;
  }
  std::unique_ptr<SoftDevice> OpenDevice() {
    auto dev = SoftDevice::Open(file_, master_);
    EXPECT_TRUE(dev.ok()) << dev.error().ToString();
    return dev.ok() ? std::move(dev).value() : nullptr;
  }
  static std::unique_ptr<Session> NewSession(CryptoDevice& dev) {
    auto s = dev.OpenSession();
    EXPECT_TRUE(s.ok());
    return std::move(s).value();
  }
  static KeyInfo Generate(Session& s, std::string_view label, KeyPurpose purpose) {
    auto info = s.GenerateKeyPair(label, purpose);
    EXPECT_TRUE(info.ok()) << info.error().ToString();
    return info.ok() ? std::move(info).value() : KeyInfo{};
  }

  fs::path dir_;
  fs::path file_;
  SecretBytes master_;
};

// req: AS-01, PF-06
// Regression: the server and the CLI open the same key file. A key one of them generates must
// be usable by the other, and neither may drop a key the other added.
TEST_F(SoftDeviceTest, TwoOpenersOfOneFileSeeEachOthersKeys) {
  auto created = CreateDevice();
  ASSERT_NE(created, nullptr);
  created.reset();
  auto a = OpenDevice();
  auto b = OpenDevice();
  ASSERT_TRUE(a && b);
  auto sa = NewSession(*a);
  auto sb = NewSession(*b);
  KeyInfo ka = Generate(*sa, "from-a", KeyPurpose::kSign);
  KeyInfo kb = Generate(*sb, "from-b", KeyPurpose::kSign);  // b never saw from-a in memory
  EXPECT_NE(ka.index, kb.index);
  auto seen = sb->FindKey("from-a");
  ASSERT_TRUE(seen.ok()) << seen.error().ToString();
  EXPECT_EQ(seen->index, ka.index);
  auto sig = sb->SignMessage(ka.index, AsBytes("1234567812345678"), AsBytes("m"));
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(crypto::Sm2Verify(ka.public_key, AsBytes("1234567812345678"), AsBytes("m"), *sig).ok());
  EXPECT_TRUE(sa->GetKey(kb.index).ok());
  auto reopened = OpenDevice();
  auto list = NewSession(*reopened)->ListKeys();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
  // Destroying in one opener does not resurrect in the other's next write.
  ASSERT_TRUE(sa->DestroyKey(kb.index).ok());
  Generate(*sb, "after-destroy", KeyPurpose::kEncrypt);
  auto final_list = NewSession(*OpenDevice())->ListKeys();
  ASSERT_TRUE(final_list.ok());
  EXPECT_EQ(final_list->size(), 2u);
  for (const auto& k : *final_list) EXPECT_NE(k.label, "from-b");
}

// req: AS-01
TEST_F(SoftDeviceTest, KeysPersistAcrossReopen) {
  std::vector<KeyInfo> created;
  {
    auto dev = CreateDevice();
    ASSERT_TRUE(dev);
    auto s = NewSession(*dev);
    created.push_back(Generate(*s, "ca-root-2025", KeyPurpose::kSign));
    created.push_back(Generate(*s, "km encryption #1", KeyPurpose::kEncrypt));
    created.push_back(Generate(*s, "ocsp", KeyPurpose::kSign));
  }
  EXPECT_EQ(created[0].index, 1u);  // GM/T 0018: SDF_MIN_KEY_INDEX 1
  EXPECT_EQ(created[1].index, 2u);
  EXPECT_EQ(created[2].index, 3u);
  EXPECT_GT(created[0].created_unix, 1700000000);

  auto dev = OpenDevice();
  ASSERT_TRUE(dev);
  auto s = NewSession(*dev);
  auto listed = s->ListKeys();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const KeyInfo& got = (*listed)[i];
    EXPECT_EQ(got.index, created[i].index);
    EXPECT_EQ(got.label, created[i].label);
    EXPECT_EQ(got.purpose, created[i].purpose);
    EXPECT_EQ(got.public_key, created[i].public_key);
    EXPECT_EQ(got.created_unix, created[i].created_unix);
  }
  auto by_label = s->FindKey("km encryption #1");
  ASSERT_TRUE(by_label.ok());
  EXPECT_EQ(by_label->index, 2u);
  auto by_index = s->GetKey(3);
  ASSERT_TRUE(by_index.ok());
  EXPECT_EQ(by_index->label, "ocsp");
  EXPECT_EQ(s->GetKey(4).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(s->FindKey("nope").error().code(), ErrorCode::kNotFound);
  // Writes leave no temporary files behind (the key file and its inter-process lock file only).
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

TEST_F(SoftDeviceTest, CreateRefusesAnExistingFileAndOpenAMissingOne) {
  auto missing = SoftDevice::Open(file_, master_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(CreateDevice());
  const Bytes before = ReadFileBytes(file_);
  auto again = SoftDevice::Create(file_, master_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(ReadFileBytes(file_), before);
  auto short_key = SoftDevice::Create(dir_ / "other.sdf", SecretBytes(8));
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.error().code(), ErrorCode::kInvalidArgument);
}

// req: CC-FCS
TEST_F(SoftDeviceTest, WrongMasterKeyFailsIntegrity) {
  {
    auto dev = CreateDevice();
    ASSERT_TRUE(dev);
    Generate(*NewSession(*dev), "k", KeyPurpose::kSign);
  }
  SecretBytes wrong = master_.Clone();
  wrong[15] ^= 0x01;
  auto dev = SoftDevice::Open(file_, wrong);
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.error().code(), ErrorCode::kIntegrityFailure);
}

// req: CC-FCS
TEST_F(SoftDeviceTest, FlippedBytesInTheFileAreDetected) {
  {
    auto dev = CreateDevice();
    ASSERT_TRUE(dev);
    auto s = NewSession(*dev);
    Generate(*s, "sign", KeyPurpose::kSign);
    Generate(*s, "enc", KeyPurpose::kEncrypt);
  }
  const Bytes original = ReadFileBytes(file_);
  ASSERT_EQ(ToString(ByteView(original).first(8)), "GMPKISD1");
  // Every byte of the image is covered in memory by KeyFileTest; here the file path is
  // exercised at every 5th byte and across the whole tag.
  for (std::size_t i = 0; i < original.size(); i += (i + 16 >= original.size() ? 1 : 5)) {
    Bytes altered = original;
    altered[i] ^= 0x20;
    WriteFileBytes(file_, altered);
    auto dev = SoftDevice::Open(file_, master_);
    ASSERT_FALSE(dev.ok()) << "byte " << i;
    // Past the magic and version every change is an authentication failure.
    if (i >= 12) {
      EXPECT_EQ(dev.error().code(), ErrorCode::kIntegrityFailure) << "byte " << i;
    }
  }
  // A truncated file and an appended byte are caught too.
  WriteFileBytes(file_, ByteView(original).first(original.size() - 1));
  EXPECT_EQ(SoftDevice::Open(file_, master_).error().code(), ErrorCode::kIntegrityFailure);
  Bytes longer = original;
  longer.push_back(0);
  WriteFileBytes(file_, longer);
  EXPECT_EQ(SoftDevice::Open(file_, master_).error().code(), ErrorCode::kIntegrityFailure);
  WriteFileBytes(file_, original);
  EXPECT_TRUE(OpenDevice());
}

// req: CC-FCS
TEST_F(SoftDeviceTest, KeyFileNeverHoldsAPrivateScalarInClear) {
  auto dev = CreateDevice();
  ASSERT_TRUE(dev);
  auto s = NewSession(*dev);
  std::vector<SecretBytes> scalars;
  for (int i = 0; i < 4; ++i) {
    const KeyInfo info = Generate(*s, "key-" + std::to_string(i),
                                  i % 2 ? KeyPurpose::kEncrypt : KeyPurpose::kSign);
    auto d = SoftDeviceTestPeer::PrivateScalar(*dev, info.index);
    ASSERT_TRUE(d.ok());
    ASSERT_EQ(d->size(), 32u);
    // The hook is honest: the scalar generates the exported public key.
    auto priv = crypto::Sm2PrivateKey::FromScalar(d->view());
    ASSERT_TRUE(priv.ok());
    EXPECT_EQ(*priv->DerivePublicKey(), info.public_key);
    scalars.push_back(std::move(d).value());
  }
  const Bytes file = ReadFileBytes(file_);
  for (const SecretBytes& d : scalars) {
    // Neither the scalar nor any 8-byte piece of it appears in the file.
    for (std::size_t off = 0; off + 8 <= d.size(); off += 8) {
      const ByteView piece = d.view().subspan(off, 8);
      EXPECT_EQ(std::search(file.begin(), file.end(), piece.begin(), piece.end()), file.end());
    }
  }
}

// req: AS-01
TEST_F(SoftDeviceTest, DeviceSignatureVerifiesWithExportedPublicKey) {
  auto dev = CreateDevice();
  ASSERT_TRUE(dev);
  auto s = NewSession(*dev);
  const KeyInfo key = Generate(*s, "ca", KeyPurpose::kSign);
  const Bytes message = ToBytes("tbsCertificate bytes");
  const ByteView id = AsBytes(crypto::kDefaultSm2Id);

  auto sig = s->SignMessage(key.index, id, message);
  ASSERT_TRUE(sig.ok()) << sig.error().ToString();
  EXPECT_TRUE(crypto::Sm2Verify(key.public_key, id, message, *sig).ok());
  EXPECT_FALSE(crypto::Sm2Verify(key.public_key, id, ToBytes("other"), *sig).ok());
  EXPECT_FALSE(crypto::Sm2Verify(key.public_key, AsBytes("another-id"), message, *sig).ok());

  // InternalSign takes e = SM3(Z || M), as SDF_InternalSign_ECC does.
  auto e = crypto::Sm2MessageDigest(key.public_key, id, message);
  ASSERT_TRUE(e.ok());
  auto sig2 = s->InternalSign(key.index, ByteView(e->data(), e->size()));
  ASSERT_TRUE(sig2.ok());
  EXPECT_TRUE(crypto::Sm2Verify(key.public_key, id, message, *sig2).ok());
  EXPECT_TRUE(crypto::Sm2VerifyDigest(key.public_key, ByteView(e->data(), e->size()), *sig2).ok());

  EXPECT_EQ(s->InternalSign(key.index, ByteView(e->data(), 31)).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(s->InternalSign(99, ByteView(e->data(), 32)).error().code(), ErrorCode::kNotFound);
  // After reopening, the same key still signs for the same public key.
  dev.reset();
  s.reset();
  auto reopened = OpenDevice();
  ASSERT_TRUE(reopened);
  auto sig3 = NewSession(*reopened)->SignMessage(key.index, id, message);
  ASSERT_TRUE(sig3.ok());
  EXPECT_TRUE(crypto::Sm2Verify(key.public_key, id, message, *sig3).ok());
}

// req: AS-01
TEST_F(SoftDeviceTest, DecryptsSm2Ciphertext) {
  auto dev = CreateDevice();
  ASSERT_TRUE(dev);
  auto s = NewSession(*dev);
  const KeyInfo enc = Generate(*s, "km-enc", KeyPurpose::kEncrypt);
  const KeyInfo enc2 = Generate(*s, "km-enc-2", KeyPurpose::kEncrypt);
  const Bytes plaintext = ToBytes("a session key of sixteen bytes!!");
  auto ct = crypto::Sm2Encrypt(enc.public_key, plaintext);
  ASSERT_TRUE(ct.ok());
  auto pt = s->InternalDecrypt(enc.index, *ct);
  ASSERT_TRUE(pt.ok()) << pt.error().ToString();
  EXPECT_EQ(View2Bytes(pt->view()), plaintext);
  // Another key does not decrypt it.
  EXPECT_FALSE(s->InternalDecrypt(enc2.index, *ct).ok());
  EXPECT_EQ(s->InternalDecrypt(77, *ct).error().code(), ErrorCode::kNotFound);
}

// req: CC-FCS
TEST_F(SoftDeviceTest, KeyPurposeIsEnforced) {
  auto dev = CreateDevice();
  ASSERT_TRUE(dev);
  auto s = NewSession(*dev);
  const KeyInfo sign = Generate(*s, "sign", KeyPurpose::kSign);
  const KeyInfo enc = Generate(*s, "enc", KeyPurpose::kEncrypt);
  const Bytes e(32, 0x5A);
  EXPECT_EQ(s->InternalSign(enc.index, e).error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(s->SignMessage(enc.index, AsBytes(crypto::kDefaultSm2Id), e).error().code(),
            ErrorCode::kPermissionDenied);
  auto ct = crypto::Sm2Encrypt(sign.public_key, ToBytes("x"));
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(s->InternalDecrypt(sign.index, *ct).error().code(), ErrorCode::kPermissionDenied);
  EXPECT_FALSE(s->GenerateKeyPair("bad", static_cast<KeyPurpose>(3)).ok());
}

TEST_F(SoftDeviceTest, LabelsAreValidatedAndUnique) {
  auto dev = CreateDevice();
  ASSERT_TRUE(dev);
  auto s = NewSession(*dev);
  Generate(*s, "ca", KeyPurpose::kSign);
  auto dup = s->GenerateKeyPair("ca", KeyPurpose::kEncrypt);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  for (const std::string& bad : {std::string(), std::string(65, 'a'), std::string("tab\there"),
                                 std::string("new\nline"), std::string("caf\xC3\xA9")}) {
    auto r = s->GenerateKeyPair(bad, KeyPurpose::kSign);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(s->GenerateKeyPair(std::string(64, '~'), KeyPurpose::kSign).ok());
  EXPECT_TRUE(s->GenerateKeyPair("with space", KeyPurpose::kSign).ok());
  EXPECT_EQ(dev->GetDeviceInfo().key_count, 3u);
}

// req: CC-FCS
TEST_F(SoftDeviceTest, DestroyRemovesTheKeyDurably) {
  std::uint32_t destroyed = 0;
  Bytes scalar_bytes;
  {
    auto dev = CreateDevice();
    ASSERT_TRUE(dev);
    auto s = NewSession(*dev);
    Generate(*s, "keep", KeyPurpose::kSign);
    destroyed = Generate(*s, "drop", KeyPurpose::kSign).index;
    auto d = SoftDeviceTestPeer::PrivateScalar(*dev, destroyed);
    ASSERT_TRUE(d.ok());
    scalar_bytes = View2Bytes(d->view());
    ASSERT_TRUE(s->DestroyKey(destroyed).ok());
    EXPECT_EQ(s->DestroyKey(destroyed).error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(s->GetKey(destroyed).error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(s->InternalSign(destroyed, Bytes(32, 1)).error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(SoftDeviceTestPeer::PrivateScalar(*dev, destroyed).error().code(),
              ErrorCode::kNotFound);
    // The label is free again, but the index is not reused.
    const KeyInfo again = Generate(*s, "drop", KeyPurpose::kSign);
    EXPECT_GT(again.index, destroyed);
    // Lookups across the gap still find both neighbours.
    EXPECT_EQ(s->GetKey(again.index)->label, "drop");
    EXPECT_EQ(s->GetKey(destroyed - 1)->label, "keep");
    EXPECT_TRUE(s->SignMessage(again.index, AsBytes(crypto::kDefaultSm2Id), Bytes{1}).ok());
  }
  auto dev = OpenDevice();
  ASSERT_TRUE(dev);
  auto s = NewSession(*dev);
  EXPECT_EQ(s->GetKey(destroyed).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(dev->GetDeviceInfo().key_count, 2u);
  const Bytes file = ReadFileBytes(file_);
  EXPECT_EQ(std::search(file.begin(), file.end(), scalar_bytes.begin(), scalar_bytes.end()),
            file.end());
}

// req: AS-01
TEST_F(SoftDeviceTest, ConcurrentSigningFromFourThreads) {
  auto dev = CreateDevice();
  ASSERT_TRUE(dev);
  auto admin = NewSession(*dev);
  const KeyInfo a = Generate(*admin, "a", KeyPurpose::kSign);
  const KeyInfo b = Generate(*admin, "b", KeyPurpose::kSign);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::atomic<int> good{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto s = dev->OpenSession();
      if (!s.ok()) {
        bad += kPerThread;
        return;
      }
      const KeyInfo& key = t % 2 ? b : a;
      for (int i = 0; i < kPerThread; ++i) {
        const Bytes msg = ToBytes("thread " + std::to_string(t) + " msg " + std::to_string(i));
        auto sig = (*s)->SignMessage(key.index, AsBytes(crypto::kDefaultSm2Id), msg);
        if (sig.ok() &&
            crypto::Sm2Verify(key.public_key, AsBytes(crypto::kDefaultSm2Id), msg, *sig).ok()) {
          ++good;
        } else {
          ++bad;
        }
      }
    });
  }
  // Table changes while the signers run must not disturb them.
  for (int i = 0; i < 3; ++i) {
    auto k = admin->GenerateKeyPair("extra-" + std::to_string(i), KeyPurpose::kEncrypt);
    ASSERT_TRUE(k.ok());
    ASSERT_TRUE(admin->DestroyKey(k->index).ok());
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), kThreads * kPerThread);
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(SoftDeviceTest, SessionOutlivesTheDeviceObject) {
  auto dev = CreateDevice();
  ASSERT_TRUE(dev);
  auto s = NewSession(*dev);
  const KeyInfo key = Generate(*s, "k", KeyPurpose::kSign);
  dev.reset();
  auto sig = s->SignMessage(key.index, AsBytes(crypto::kDefaultSm2Id), ToBytes("m"));
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(
      crypto::Sm2Verify(key.public_key, AsBytes(crypto::kDefaultSm2Id), ToBytes("m"), *sig).ok());
}

// req: CC-FCS
TEST_F(SoftDeviceTest, WrappingKeysFollowTheDocumentedConstruction) {
  auto dev = CreateDevice();
  ASSERT_TRUE(dev);
  auto s = NewSession(*dev);
  const crypto::Sm3Digest prk = crypto::HmacSm3(master_.view(), AsBytes("gmpki-kek-v1:tls"));
  for (std::size_t len : {16u, 32u}) {
    auto k = s->DeriveWrappingKey("tls", len);
    ASSERT_TRUE(k.ok());
    EXPECT_EQ(View2Bytes(k->view()), Bytes(prk.begin(), prk.begin() + len));
  }
  for (std::size_t len : {33u, 64u}) {
    auto k = s->DeriveWrappingKey("tls", len);
    ASSERT_TRUE(k.ok());
    EXPECT_EQ(View2Bytes(k->view()),
              View2Bytes(crypto::Sm3Kdf(ByteView(prk.data(), prk.size()), len).view()));
  }
  auto tls = s->DeriveWrappingKey("tls", 16);
  auto other = s->DeriveWrappingKey("backup", 16);
  ASSERT_TRUE(tls.ok() && other.ok());
  EXPECT_NE(View2Bytes(tls->view()), View2Bytes(other->view()));
  // Same context after reopening: same key.
  s.reset();
  dev.reset();
  auto reopened = OpenDevice();
  ASSERT_TRUE(reopened);
  auto again = NewSession(*reopened)->DeriveWrappingKey("tls", 16);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(View2Bytes(again->view()), View2Bytes(tls->view()));
  auto s2 = NewSession(*reopened);
  EXPECT_EQ(s2->DeriveWrappingKey("tls", 15).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s2->DeriveWrappingKey("tls", 65).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s2->DeriveWrappingKey("", 16).error().code(), ErrorCode::kInvalidArgument);
}

// req: AS-01
TEST_F(SoftDeviceTest, DeviceInfoAndRandom) {
  auto dev = CreateDevice();
  ASSERT_TRUE(dev);
  const DeviceInfo info = dev->GetDeviceInfo();
  EXPECT_EQ(info.manufacturer, "gmpki");
  EXPECT_EQ(info.model, "soft-sdf");
  EXPECT_EQ(info.serial.size(), 16u);
  EXPECT_TRUE(std::all_of(info.serial.begin(), info.serial.end(),
                          [](char c) { return std::isxdigit(c) && !std::islower(c); }));
  EXPECT_EQ(info.key_count, 0u);
  dev.reset();
  auto reopened = OpenDevice();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->GetDeviceInfo().serial, info.serial);
  auto other = SoftDevice::Create(dir_ / "other.sdf", master_);
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)->GetDeviceInfo().serial, info.serial);

  auto s = NewSession(*reopened);
  auto r1 = s->GenerateRandom(32);
  auto r2 = s->GenerateRandom(32);
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(r1->size(), 32u);
  EXPECT_NE(*r1, *r2);
  EXPECT_EQ(s->GenerateRandom((1u << 20) + 1).error().code(), ErrorCode::kInvalidArgument);
}

// The master key is never stored: custodians rebuild it from k shares to open the device.
// req: CC-FCS
TEST_F(SoftDeviceTest, MasterKeyRebuiltFromCustodianSharesOpensTheDevice) {
  KeyInfo key;
  std::vector<std::string> shares;
  {
    auto dev = CreateDevice();
    ASSERT_TRUE(dev);
    key = Generate(*NewSession(*dev), "ca", KeyPurpose::kSign);
    auto split = SplitSecret(master_.view(), 3, 5);
    ASSERT_TRUE(split.ok());
    shares = std::move(split).value();
  }
  auto rebuilt = CombineShares({shares[4], shares[0], shares[2]});
  ASSERT_TRUE(rebuilt.ok());
  auto dev = SoftDevice::Open(file_, *rebuilt);
  ASSERT_TRUE(dev.ok()) << dev.error().ToString();
  auto got = NewSession(**dev)->GetKey(key.index);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->public_key, key.public_key);
}

TEST_F(SoftDeviceTest, MasterKeysAreFreshAndSixteenBytes) {
  auto a = GenerateMasterKey();
  auto b = GenerateMasterKey();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 16u);
  EXPECT_NE(View2Bytes(a->view()), View2Bytes(b->view()));
}

}  // namespace
}  // namespace gmpki::device
