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

// Key management centre operations (issue #5; LD/T 02.1-2022 7.3.2, the dual-certificate
// system): encryption key pairs are generated in the device, leave it only sealed under a
// device key-encryption key (for the KM's escrow store) or enveloped to a recipient (the
// subscriber's signing key, a judicial authority's key).

// An SM2 key pair whose private key is sealed by the device. wrapped_private (PERSISTENT, kept
// by the KM store) is 0x01 || nonce(12) || SM4-GCM(KEK, nonce, AAD, d)(32) || tag(16), 61 bytes;
// AAD = "gmpki-wrapped-key-v1" || kek_context || public point (04 || X || Y), so a blob opens
// only under its own context and with its own public key.
struct WrappedKeyPair {
  crypto::Sm2PublicKey public_key;
  Bytes wrapped_private;
};

// PERSISTENT (may be stored with an envelope and seen by clients): never renumber.
enum class EnvelopeForm : std::uint8_t {
  // GM/T 0016 SKF ENVELOPEDKEYBLOB.cbEncryptedPriKey: SM4-ECB, no padding, of the 64-byte
  // ECCPRIVATEKEYBLOB.PrivateKey field (32 zero bytes || d); its last 32 bytes are also
  // SM4-ECB(d), the GB/T 35276 SM2EnvelopedKey.sm2EncryptedPrivateKey form.
  kSm4Ecb64 = 1,
  // GB/T 35275 EnvelopedData content: SM4-CBC with PKCS#7 padding and a random 16-byte IV of
  // the DER ECPrivateKey (RFC 5915: version 1, the 32-byte d, parameters = the SM2 curve OID
  // 1.2.156.10197.1.301, publicKey = 04 || X || Y).
  kSm4CbcDer = 2,
};

// The parts of a digital envelope of one private key; the caller (the KM service) builds the
// ASN.1 container (SM2EnvelopedKey, EnvelopedData, ENVELOPEDKEYBLOB) around them.
struct KeyEnvelopeParts {
  Bytes encrypted_cek;  // the random 16-byte SM4 key, SM2-encrypted to the recipient (GM/T 0009
                        // SM2Cipher DER, C1C3C2)
  Bytes iv;             // empty for kSm4Ecb64
  Bytes ciphertext;
};

// Most key pairs one GenerateWrappedKeyPairs call makes.
inline constexpr std::size_t kMaxWrappedKeyPairsPerCall = 65536;

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

  // Generates `count` SM2 key pairs inside the device (crypto::Sm2GenerateKeyPairs, batched)
  // and returns each private key sealed (WrappedKeyPair) under a key-encryption key derived
  // inside the device for `kek_context`. That KEK is separated from DeriveWrappingKey's keys
  // (no context of DeriveWrappingKey returns it), so the clear private key never leaves the
  // device. count 0 gives an empty vector; kInvalidArgument for an empty context or a count
  // above kMaxWrappedKeyPairsPerCall.
  virtual Result<std::vector<WrappedKeyPair>> GenerateWrappedKeyPairs(std::string_view kek_context,
                                                                       std::size_t count) = 0;

  // Unseals `wrapped_private` inside the device and envelopes the private key to `recipient`
  // (like SDF_ExchangeDigitEnvelopeBaseOnECC): a fresh random 16-byte CEK per call,
  // SM2-encrypted to `recipient`, and the key encrypted under it in `form`. Every clear copy
  // of d, of the encoded key and of the CEK is zeroised before return.
  // kInvalidArgument when `recipient` or `public_key` is not a valid SM2 public key or `form`
  // is unknown; kMalformedInput when the blob is not 61 bytes of format 0x01;
  // kIntegrityFailure when the blob does not open under this device, this context and
  // `public_key` (tampered, another device or context, another key's public key) or its d does
  // not give `public_key`.
  virtual Result<KeyEnvelopeParts> EnvelopeWrappedKey(std::string_view kek_context,
                                                      ByteView wrapped_private,
                                                      const crypto::Sm2PublicKey& public_key,
                                                      const crypto::Sm2PublicKey& recipient,
                                                      EnvelopeForm form) = 0;
};

class CryptoDevice {
 public:
  virtual ~CryptoDevice() = default;
  virtual Result<std::unique_ptr<Session>> OpenSession() = 0;
  virtual DeviceInfo GetDeviceInfo() = 0;
};

}  // namespace gmpki::device
