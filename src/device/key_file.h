// The soft device's key table and its sealed file image (internal to src/device). Pure
// functions: bytes in, bytes out; the file I/O lives in soft_device.cc.
//
// Sealed image (PERSISTENT), as documented in soft_device.h:
//   magic "GMPKISD1" (8) || version u32 BE (= 1) || nonce (12) ||
//   SM4-GCM(master key, nonce, aad = magic || version, table) || tag (16)
//
// Table plaintext (PERSISTENT, version 1, integers big-endian):
//   device id (16 random bytes) || next index u32 || key count u32 ||
//   key count x { index u32 || purpose u8 || created unix i64 || label length u8 || label ||
//                 public point (65, 04||X||Y) || private scalar d (32) }
// Indices are strictly increasing and below `next index`; an index is never reused after
// DestroyKey, so a stale reference to a destroyed key cannot reach a newer key.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "crypto/sm2.h"
#include "device/device.h"

namespace gmpki::device::internal {

inline constexpr std::string_view kKeyFileMagic = "GMPKISD1";
inline constexpr std::uint32_t kKeyFileVersion = 1;
inline constexpr std::size_t kDeviceIdSize = 16;
inline constexpr std::size_t kMaxLabelSize = 64;

// A key pair held by the device. Immutable once built, so signers can share it without a lock.
struct StoredKey {
  KeyInfo info;
  crypto::Sm2PrivateKey private_key;
};

struct KeyTable {
  Bytes device_id;               // kDeviceIdSize random bytes, fixed at Create
  std::uint32_t next_index = 1;  // GM/T 0018: SDF_MIN_KEY_INDEX is 1
  std::vector<std::shared_ptr<const StoredKey>> keys;  // ascending index
};

// 1..64 printable ASCII characters (0x20..0x7E); kInvalidArgument otherwise.
Status ValidateLabel(std::string_view label);

// The table plaintext. The result holds private scalars: it is a SecretBytes and is wiped on
// destruction.
SecretBytes SerializeTable(const KeyTable& table);
// Strict parse of the plaintext; every key pair is checked for consistency (d * G equals the
// stored public point). kMalformedInput when anything is off.
Result<KeyTable> ParseTable(ByteView plaintext);

// Seals the table under `master_key` (16 bytes) with a fresh random nonce.
Result<Bytes> SealKeyFile(ByteView master_key, const KeyTable& table);
// kMalformedInput: not a key file (magic); kUnsupported: unknown version; kIntegrityFailure:
// truncated, wrong master key or altered bytes (the GCM tag does not verify).
Result<KeyTable> OpenKeyFile(ByteView master_key, ByteView file_image);

}  // namespace gmpki::device::internal
