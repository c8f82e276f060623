// An evidence record (AS-06, CC-FCO): who (actor, application) decided what (kind, decision,
// outcome) about which object, when, with details. Its canonical bytes are the leaf input of
// the evidence log's Merkle tree (RFC 9162 §2.1.1: leaf hash = SM3(0x00 || canonical bytes)).
//
// Canonical encoding (PERSISTENT: changing it invalidates every stored log and bundle):
//   "gmpki-evidence-record-v1" || u8(kind) || i64be(time_ms) || u8(outcome)
//   || lp(actor) || lp(application) || lp(object) || lp(decision) || lp(details)
// where lp(s) = u32be(byte length of s) || s and time_ms is Unix time in milliseconds.
//
// Secrets and personal data: fields are stored in clear and shown to auditors and to whoever
// receives a bundle. Never put a secret in them; mask personal ID numbers (base/log.h
// MaskIdentifier) first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/result.h"

namespace gmpki::evidence {

// PERSISTENT: encoded in records and stored; never renumber. Names are used in JSON.
enum class Kind : std::uint8_t {
  kSign = 1,       // "sign": a signature was made (signing server, CA)
  kVerify = 2,     // "verify": a signature / certificate was verified (SVS)
  kSeal = 3,       // "seal": an electronic seal was applied
  kAuth = 4,       // "auth": an authentication decision
  kKeyUse = 5,     // "key-use": a private key was used or a key-use request decided
  kTimestamp = 6,  // "timestamp": a time-stamp token was issued (TSA)
};

// PERSISTENT: encoded in records; never renumber. JSON names "success" / "failure".
enum class Outcome : std::uint8_t {
  kSuccess = 1,
  kFailure = 2,
};

std::string_view KindName(Kind kind);
std::optional<Kind> ParseKind(std::string_view name);
std::string_view OutcomeName(Outcome outcome);
std::optional<Outcome> ParseOutcome(std::string_view name);

// Field bounds (bytes); larger fields are kTooLarge so a record never grows without limit.
inline constexpr std::size_t kMaxShortField = 256;       // actor, application, decision
inline constexpr std::size_t kMaxObjectField = 4096;     // object
inline constexpr std::size_t kMaxDetailsField = 65536;   // details

struct EvidenceRecord {
  Kind kind = Kind::kVerify;
  std::string actor;        // who asked: user, certificate subject, client id; REQUIRED
  std::string application;  // which application / service decided ("svs", "tsa"); may be empty
  std::string object;       // on what: "doc-sm3:<hex>", "cert:<serial>"; may be empty
  std::string decision;     // what was decided: "valid", "invalid", "granted", ...; REQUIRED
  Outcome outcome = Outcome::kSuccess;
  std::string details;      // JSON text or empty; never secrets
  // When; stored to the millisecond. Left at the epoch (TimePoint{}), Append stamps it with
  // the log's clock.
  TimePoint time{};
  bool operator==(const EvidenceRecord&) const = default;
};

// Checks REQUIRED fields, bounds and that details is empty or JSON. kInvalidArgument or
// kTooLarge.
Status ValidateRecord(const EvidenceRecord& r);

std::int64_t TimeMillis(TimePoint t);
TimePoint FromMillis(std::int64_t ms);

// The canonical bytes above. REQUIRES: ValidateRecord(r) ok (bounds fit u32 lengths).
Bytes EncodeRecord(const EvidenceRecord& r);
// Inverse of EncodeRecord; kMalformedInput on anything that is not exactly one encoding
// (wrong domain, unknown kind/outcome, bad lengths, trailing bytes).
Result<EvidenceRecord> DecodeRecord(ByteView bytes);

}  // namespace gmpki::evidence
