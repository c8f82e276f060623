#include "services/pii/pii.h"

#include <array>
#include <cctype>

#include "base/log.h"
#include "crypto/random.h"
#include "crypto/sm3.h"
#include "crypto/sm4.h"

namespace gmpki::pii {
namespace {

constexpr std::uint8_t kFormatVersion = 0x01;

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

std::string Aad(IdKind kind, std::string_view context) {
  std::string aad = "gmpki-pii-v1";
  aad.push_back('\0');
  aad += IdKindName(kind);
  aad.push_back('\0');
  aad += context;
  return aad;
}

}  // namespace

std::string_view IdKindName(IdKind k) {
  switch (k) {
    case IdKind::kResidentId: return "resident-id";
    case IdKind::kPassport: return "passport";
    case IdKind::kOther: return "other";
    case IdKind::kSocialSecurity: return "social-security";
  }
  return "other";
}

Result<IdKind> ParseIdKind(std::string_view name) {
  for (IdKind k : {IdKind::kResidentId, IdKind::kPassport, IdKind::kOther, IdKind::kSocialSecurity}) {
    if (IdKindName(k) == name) return k;
  }
  return Error(ErrorCode::kInvalidArgument,
               "unknown ID document type '" + std::string(name) +
                   "' (expected resident-id, passport, other or social-security)");
}

Status ValidateResidentId(std::string_view id) {
  // The number itself is never put into the message (CC-FPR): it may end up in a log.
  if (id.size() != 18) {
    return Error(ErrorCode::kInvalidArgument,
                 "resident ID number must have 18 characters, got " + std::to_string(id.size()));
  }
  for (std::size_t i = 0; i < 17; ++i) {
    if (id[i] < '0' || id[i] > '9') {
      return Error(ErrorCode::kInvalidArgument,
                   "resident ID number: character " + std::to_string(i + 1) + " is not a digit");
    }
  }
  if (id[0] == '0') {
    return Error(ErrorCode::kInvalidArgument, "resident ID number: region code cannot start with 0");
  }
  int year = std::stoi(std::string(id.substr(6, 4)));
  int month = std::stoi(std::string(id.substr(10, 2)));
  int day = std::stoi(std::string(id.substr(12, 2)));
  static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool date_ok = year >= 1850 && year <= 2200 && month >= 1 && month <= 12 && day >= 1 &&
                 day <= kDays[static_cast<std::size_t>(month - 1)] + (month == 2 && IsLeap(year) ? 1 : 0);
  if (!date_ok) {
    return Error(ErrorCode::kInvalidArgument, "resident ID number: birth date is not a real date");
  }
  // GB 11643-1999 §5.2: ISO 7064 MOD 11-2 with weights 2^(17-i) mod 11.
  static constexpr std::array<int, 17> kWeights{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr std::string_view kCheck = "10X98765432";
  int sum = 0;
  for (std::size_t i = 0; i < 17; ++i) sum += (id[i] - '0') * kWeights[i];
  char expected = kCheck[static_cast<std::size_t>(sum % 11)];
  char got = static_cast<char>(std::toupper(static_cast<unsigned char>(id[17])));
  if (got != expected) {
    return Error(ErrorCode::kInvalidArgument,
                 "resident ID number: check character does not match (GB 11643-1999 MOD 11-2)");
  }
  return OkStatus();
}

Result<std::string> NormalizeIdentifier(IdKind kind, std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  std::string out;
  out.reserve(value.size());
  for (char c : value) out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (kind == IdKind::kResidentId) {
    GMPKI_RETURN_IF_ERROR(ValidateResidentId(out));
    return out;
  }
  if (out.empty() || out.size() > 64) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(IdKindName(kind)) + " number must have 1..64 characters");
  }
  for (char c : out) {
    if (c <= ' ' || c > '~') {
      return Error(ErrorCode::kInvalidArgument,
                   std::string(IdKindName(kind)) + " number may hold only printable ASCII without spaces");
    }
  }
  return out;
}

std::string Mask(std::string_view value) { return MaskIdentifier(value); }

PiiCodec::PiiCodec(SecretBytes enc_key, SecretBytes index_key)
    : enc_key_(std::move(enc_key)), index_key_(std::move(index_key)) {}

Result<PiiCodec> PiiCodec::Create(device::CryptoDevice& device) {
  GMPKI_ASSIGN_OR_RETURN(auto session, device.OpenSession());
  GMPKI_ASSIGN_OR_RETURN(auto enc, session->DeriveWrappingKey("pii-enc-v1", crypto::kSm4KeySize));
  GMPKI_ASSIGN_OR_RETURN(auto idx, session->DeriveWrappingKey("pii-index-v1", 32));
  return PiiCodec(std::move(enc), std::move(idx));
}

Result<Bytes> PiiCodec::Encrypt(IdKind kind, std::string_view context, std::string_view value) const {
  GMPKI_ASSIGN_OR_RETURN(auto iv, crypto::RandomBytes(crypto::kSm4GcmIvSize));
  std::string aad = Aad(kind, context);
  GMPKI_ASSIGN_OR_RETURN(auto sealed, crypto::Sm4GcmSeal(enc_key_.view(), iv, AsBytes(aad), AsBytes(value)));
  Bytes out;
  out.reserve(1 + iv.size() + sealed.size());
  out.push_back(kFormatVersion);
  out.insert(out.end(), iv.begin(), iv.end());
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

Result<std::string> PiiCodec::Decrypt(IdKind kind, std::string_view context, ByteView sealed) const {
  if (sealed.size() < 1 + crypto::kSm4GcmIvSize + crypto::kSm4GcmTagSize ||
      sealed[0] != kFormatVersion) {
    return Error(ErrorCode::kIntegrityFailure, "stored personal data is not in a known format");
  }
  std::string aad = Aad(kind, context);
  auto plain = crypto::Sm4GcmOpen(enc_key_.view(), sealed.subspan(1, crypto::kSm4GcmIvSize),
                                  AsBytes(aad), sealed.subspan(1 + crypto::kSm4GcmIvSize));
  if (!plain.ok()) {
    return Error(ErrorCode::kIntegrityFailure,
                 "stored personal data fails its integrity check (changed or moved)");
  }
  std::string out = ToString(*plain);
  SecureZero(plain->data(), plain->size());
  return out;
}

std::string PiiCodec::BlindIndex(IdKind kind, std::string_view normalized_value) const {
  std::string msg(IdKindName(kind));
  msg.push_back('\0');
  msg += normalized_value;
  auto mac = crypto::HmacSm3(index_key_.view(), AsBytes(msg));
  SecureZero(msg.data(), msg.size());
  return HexEncode(mac);
}

}  // namespace gmpki::pii
