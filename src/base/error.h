// One catalogue of error codes for the whole project (CONVENTIONS: one error type).
// Each code carries its HTTP status (RFC 9457 problem+json) and its CLI exit code.
//
// PERSISTENT: the numeric values and slugs are seen over HTTP, in audit records and by scripts.
// Never renumber or rename; only append.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gmpki {

enum class ErrorCode : std::uint16_t {
  kOk = 0,
  kInvalidArgument = 1,     // a parameter is outside what the operation accepts
  kMalformedInput = 2,      // bytes do not parse (DER, PEM, JSON, TOML)
  kTooLarge = 3,            // input exceeds a configured bound
  kBadSignature = 4,        // a signature or MAC does not verify
  kNotFound = 5,            // the named object does not exist
  kAlreadyExists = 6,       // a unique object already exists
  kConflict = 7,            // the object's state forbids this (e.g. revoked twice)
  kUnauthenticated = 8,     // who is asking is unknown or not proven
  kPermissionDenied = 9,    // the caller's role does not allow this
  kFailedPrecondition = 10, // e.g. the issuing CA is expired, revoked or disabled
  kCryptoFailure = 11,      // a cryptographic primitive failed
  kDeviceFailure = 12,      // the crypto device refused or failed
  kStorageFailure = 13,     // the database failed
  kAuditFailure = 14,       // an audit record could not be written: the operation must not happen
  kSelfTestFailure = 15,    // a start-up or conditional self-test failed
  kConfigInvalid = 16,      // configuration rejected at start
  kUnsupported = 17,        // a valid request for something not supported
  kInternal = 18,           // a bug
  kUnavailable = 19,        // a dependency is temporarily unavailable
  kIntegrityFailure = 20,   // stored data was changed (audit chain, sealed key file)
  kIoError = 21,            // a file or socket failed
  kTimeout = 22,
  kUnknownProfile = 23,     // no certificate profile of that name
  kPolicyViolation = 24,    // a request does not satisfy the profile or CA policy
};

struct ErrorInfo {
  ErrorCode code;
  std::string_view slug;   // problem+json "type" suffix and JSON "error" field
  std::string_view title;  // problem+json "title"
  int http_status;
  int exit_code;           // CLI exit status
};

// Returns the catalogue entry for `code`; never fails (unknown values map to kInternal).
const ErrorInfo& InfoFor(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const ErrorInfo& info() const { return InfoFor(code_); }
  // "slug: message", for logs and CLI output.
  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string message_;
};

}  // namespace gmpki
