// Shared by the RA service's .cc files only: row shapes, the operation context and helpers.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "services/ra/ra_service.h"

namespace gmpki::ra {

// The context an operation runs in: who, at which registration point (empty for the system
// administrator managing points), and the audit detail the operation may add to.
struct RaService::Ctx {
  std::string actor;
  std::string point;
  nlohmann::json* detail = nullptr;
};

// A subscriber row as stored: personal values sealed, plus their masked display forms.
struct RaService::SubscriberRow {
  std::string id, kind, name, status;
  std::string id_kind;  // empty for organisations and devices
  Bytes id_enc;
  std::string id_masked;
  Bytes ssn_enc;
  std::string ssn_masked;
  Bytes phone_enc;
  std::string phone_masked;
  Bytes address_enc;
  std::string address_masked;
  std::string email, uscc, legal_rep, device_serial, owner;
  std::string point, entered_by, modified_by, reviewed_by, review_reason;
  std::int64_t created_unix = 0, updated_unix = 0;
};

struct RaService::RequestRow {
  RequestView view;
  Bytes csr_enc;   // issue requests: the sealed CSR DER
  Bytes cert_enc;  // once issued: the sealed certificate DER
  std::string source_serial;  // renew/revoke/recover: the serial of the source request's certificate
  std::string sign_serial;    // encryption issue/recover: the serial of sign_request's certificate
};

namespace internal {

// Column lists in the order the Row* readers expect.
inline constexpr const char* kSubscriberColumns =
    "id, kind, name, status, id_kind, id_enc, id_masked, ssn_enc, ssn_masked, phone_enc, "
    "phone_masked, address_enc, address_masked, email, uscc, legal_rep, device_serial, owner, "
    "point, entered_by, modified_by, reviewed_by, review_reason, created_unix, updated_unix";
inline constexpr const char* kRequestColumns =
    "id, kind, subscriber, status, ca, profile, validity_days, source_request, reason, point, "
    "requested_by, reviewed_by, review_reason, last_error, serial_hex, not_after, revoked_unix, "
    "created_unix, updated_unix, csr_enc, cert_enc, sign_request";

// Seal contexts: a sealed value is bound to its record and field (pii.h), so it cannot be
// moved to another record or field.
std::string SealContext(std::string_view field, std::string_view record_id);

// A new random record ID: `prefix` + "-" + 16 lower-case hex digits.
Result<std::string> NewId(std::string_view prefix);

// Display form of a free-text personal value (address): its first 6 characters, then "***".
std::string MaskText(std::string_view text);

// Number of UTF-8 characters; kInvalidArgument when `s` is not valid UTF-8.
Result<std::size_t> Utf8Length(std::string_view s);

Status CheckLimitOffset(int limit, int offset);

// True for the encryption profiles (personal-enc, organization-enc, device-enc), whose keys the
// KM generates; false for unknown profiles (the CA refuses those).
bool IsEncryptionProfile(const std::string& profile);

// Stores the key envelopes of request `id` (ra_key_deliveries).
Status StoreDelivery(store::Transaction& tx, const std::string& id, const ca::KmKeyDelivery& d,
                     std::int64_t now);

store::Value OptText(const std::string& s);
store::Value OptBlob(const Bytes& b);
std::string TextOr(const store::Row& row, std::size_t i);
Bytes BlobOr(const store::Row& row, std::size_t i);

}  // namespace internal
}  // namespace gmpki::ra
