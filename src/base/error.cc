#include "base/error.h"

#include <array>

namespace gmpki {
namespace {
// Exit codes: 1 generic, 2 usage/bad input, 3 not found, 4 conflict, 5 auth, 6 crypto/device,
// 7 storage/audit, 8 integrity, 9 config, 10 internal.
constexpr std::array<ErrorInfo, 25> kCatalogue{{
    {ErrorCode::kOk, "ok", "OK", 200, 0},
    {ErrorCode::kInvalidArgument, "invalid-argument", "Invalid argument", 400, 2},
    {ErrorCode::kMalformedInput, "malformed-input", "Malformed input", 400, 2},
    {ErrorCode::kTooLarge, "too-large", "Input too large", 413, 2},
    {ErrorCode::kBadSignature, "bad-signature", "Signature does not verify", 400, 2},
    {ErrorCode::kNotFound, "not-found", "Not found", 404, 3},
    {ErrorCode::kAlreadyExists, "already-exists", "Already exists", 409, 4},
    {ErrorCode::kConflict, "conflict", "Conflict with current state", 409, 4},
    {ErrorCode::kUnauthenticated, "unauthenticated", "Authentication required", 401, 5},
    {ErrorCode::kPermissionDenied, "permission-denied", "Permission denied", 403, 5},
    {ErrorCode::kFailedPrecondition, "failed-precondition", "Precondition failed", 409, 4},
    {ErrorCode::kCryptoFailure, "crypto-failure", "Cryptographic failure", 500, 6},
    {ErrorCode::kDeviceFailure, "device-failure", "Crypto device failure", 503, 6},
    {ErrorCode::kStorageFailure, "storage-failure", "Storage failure", 503, 7},
    {ErrorCode::kAuditFailure, "audit-failure", "Audit record could not be written", 503, 7},
    {ErrorCode::kSelfTestFailure, "self-test-failure", "Self-test failed", 500, 6},
    {ErrorCode::kConfigInvalid, "config-invalid", "Invalid configuration", 500, 9},
    {ErrorCode::kUnsupported, "unsupported", "Unsupported", 400, 2},
    {ErrorCode::kInternal, "internal", "Internal error", 500, 10},
    {ErrorCode::kUnavailable, "unavailable", "Service unavailable", 503, 1},
    {ErrorCode::kIntegrityFailure, "integrity-failure", "Integrity check failed", 500, 8},
    {ErrorCode::kIoError, "io-error", "I/O error", 500, 1},
    {ErrorCode::kTimeout, "timeout", "Timed out", 504, 1},
    {ErrorCode::kUnknownProfile, "unknown-profile", "Unknown certificate profile", 400, 2},
    {ErrorCode::kPolicyViolation, "policy-violation", "Request violates policy", 400, 2},
}};
}  // namespace

const ErrorInfo& InfoFor(ErrorCode code) {
  auto i = static_cast<std::size_t>(code);
  if (i < kCatalogue.size() && kCatalogue[i].code == code) return kCatalogue[i];
  return kCatalogue[static_cast<std::size_t>(ErrorCode::kInternal)];
}

std::string Error::ToString() const {
  std::string s(info().slug);
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

}  // namespace gmpki
