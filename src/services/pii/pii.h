// Personal data at rest (CC-FPR; LD/T 02.1 §7.3.2 subscriber records): personal ID numbers and
// social security numbers are stored only encrypted (SM4-GCM under a key derived inside the
// crypto device), found by exact search through a keyed blind index (HMAC-SM3 under a second
// device-derived key, so the index reveals nothing without the device), and shown masked
// wherever the caller's role does not allow the full value.
//
// Thread safety: PiiCodec is immutable after Create and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "device/device.h"

namespace gmpki::pii {

// Kinds of personal identifier. PERSISTENT: the names are stored.
enum class IdKind {
  kResidentId,  // "resident-id": 18-character resident identity card number (GB 11643-1999)
  kPassport,    // "passport"
  kOther,       // "other": any other identity document
  kSocialSecurity,  // "social-security": social security (insurance) number
};
std::string_view IdKindName(IdKind k);
Result<IdKind> ParseIdKind(std::string_view name);

// GB 11643-1999: 17 digits and a check character (0-9 or X) computed with ISO 7064 MOD 11-2;
// the 6-digit region code must not start with 0 and the birth date (digits 7..14) must be a real
// date. Lower-case 'x' is accepted. kInvalidArgument naming what is wrong otherwise.
Status ValidateResidentId(std::string_view id);

// Normalises an identifier for storage and indexing: trims spaces, upper-cases, and validates
// by kind (resident ID: ValidateResidentId; others: 1..64 printable ASCII, no spaces).
Result<std::string> NormalizeIdentifier(IdKind kind, std::string_view value);

// Masks for display: "110101199003077777" -> "110*************77" (base MaskIdentifier).
std::string Mask(std::string_view value);

class PiiCodec {
 public:
  // Derives the two keys (contexts "pii-enc-v1" and "pii-index-v1") from the device's master
  // key through Session::DeriveWrappingKey.
  static Result<PiiCodec> Create(device::CryptoDevice& device);

  // SM4-GCM with a random 12-byte IV; the associated data binds the ciphertext to its kind
  // and to `context` (e.g. the record ID), so a value cannot be moved to another record.
  // Output: version byte 0x01 || IV || ciphertext || tag.
  Result<Bytes> Encrypt(IdKind kind, std::string_view context, std::string_view value) const;
  // kIntegrityFailure when the ciphertext was changed or moved.
  Result<std::string> Decrypt(IdKind kind, std::string_view context, ByteView sealed) const;
  // The blind index of a normalised value: hex of HMAC-SM3(key, kind || 0x00 || value).
  std::string BlindIndex(IdKind kind, std::string_view normalized_value) const;

 private:
  PiiCodec(SecretBytes enc_key, SecretBytes index_key);
  SecretBytes enc_key_;
  SecretBytes index_key_;
};

}  // namespace gmpki::pii
