// The crypto-device interface, shaped after GB/T 36322-2018 (SDF, GM/T 0018): a device, sessions
// opened on it, SM2 key pairs generated inside the device and addressed by index (and by a
// label for operators), internal signing of e = SM3(Z || M) and internal decryption. There is no
// call that exports a private key in clear: this is a property of the interface, not a policy.
//
// Thread safety: a CryptoDevice is thread-safe; a Session is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "crypto/sm2.h"

namespace gmpki::device {

// PERSISTENT: stored in the sealed key file. Never renumber.
enum class KeyPurpose : std::uint8_t {
  kSign = 1,     // SDF_InternalSign_ECC
  kEncrypt = 2,  // SDF_InternalDecrypt_ECC
};

struct KeyInfo {
  std::uint32_t index = 0;  // >= 1 (GM/T 0018: SDF_MIN_KEY_INDEX 1)
  std::string label;        // unique within the device
  KeyPurpose purpose = KeyPurpose::kSign;
  crypto::Sm2PublicKey public_key;
  std::int64_t created_unix = 0;
};

struct DeviceInfo {
  std::string manufacturer;
  std::string model;
  std::string serial;
  std::uint32_t key_count = 0;
};

class Session {
 public:
  virtual ~Session() = default;

  // SDF_GenerateKeyPair_ECC: the key pair is generated inside the device and stored under the
  // next free index. kAlreadyExists if the label is taken; labels are 1..64 printable ASCII.
  virtual Result<KeyInfo> GenerateKeyPair(std::string_view label, KeyPurpose purpose) = 0;
  // kNotFound when absent.
  virtual Result<KeyInfo> GetKey(std::uint32_t index) = 0;
  virtual Result<KeyInfo> FindKey(std::string_view label) = 0;
  virtual Result<std::vector<KeyInfo>> ListKeys() = 0;

  // SDF_InternalSign_ECC: signs a 32-byte e with the key at `index` (purpose kSign).
  // Returns DER SM2Signature.
  virtual Result<Bytes> InternalSign(std::uint32_t index, ByteView e32) = 0;
  // Convenience: e = SM3(Z(pub, id) || message), then InternalSign.
  Result<Bytes> SignMessage(std::uint32_t index, ByteView id, ByteView message);

  // SDF_InternalDecrypt_ECC: decrypts a GM/T 0009 ciphertext with the key at `index`
  // (purpose kEncrypt).
  virtual Result<SecretBytes> InternalDecrypt(std::uint32_t index, ByteView ciphertext) = 0;

  // SDF_DestroyKey for a stored pair: the private key is zeroised and removed.
  virtual Status DestroyKey(std::uint32_t index) = 0;

  // SDF_GenerateRandom.
  virtual Result<Bytes> GenerateRandom(std::size_t n) = 0;

  // A key-encryption key derived inside the device from its master key for one named purpose
  // (like SDF_GenerateKeyWithKEK): used to wrap material that must live outside the device,
  // such as the TLS private keys (OpenSSL 3.0 cannot do TLS with SM2). Same context, same key;
  // `length` 16..64. The master key itself is never returned.
  virtual Result<SecretBytes> DeriveWrappingKey(std::string_view context, std::size_t length) = 0;
};

class CryptoDevice {
 public:
  virtual ~CryptoDevice() = default;
  virtual Result<std::unique_ptr<Session>> OpenSession() = 0;
  virtual DeviceInfo GetDeviceInfo() = 0;
};

}  // namespace gmpki::device
