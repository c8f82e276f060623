#include "audit/chain.h"

#include <nlohmann/json.hpp>

#include "crypto/sm3.h"

namespace gmpki::audit::internal {
namespace {

void PutU64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void PutLengthPrefixed(Bytes& out, std::string_view s) {
  const auto n = static_cast<std::uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(n >> shift));
  out.insert(out.end(), s.begin(), s.end());
}

Status CheckSize(std::string_view name, const std::string& v, std::size_t max) {
  if (v.size() > max) {
    return Error(ErrorCode::kTooLarge,
                 "audit field " + std::string(name) + " exceeds " + std::to_string(max) + " bytes");
  }
  return OkStatus();
}

// Typed column access that reports tampering instead of asserting.
template <class T>
Result<const T*> Column(const store::Row& row, std::size_t i) {
  if (i >= row.size() || !std::holds_alternative<T>(row.at(i))) {
    return Error(ErrorCode::kIntegrityFailure,
                 "audit record column " + std::to_string(i) + " has an unexpected type");
  }
  return &std::get<T>(row.at(i));
}

}  // namespace

Status ValidateEvent(const AuditEvent& e) {
  if (e.actor.empty()) return Error(ErrorCode::kInvalidArgument, "audit event without actor");
  if (e.action.empty()) return Error(ErrorCode::kInvalidArgument, "audit event without action");
  if (e.outcome != Outcome::kSuccess && e.outcome != Outcome::kFailure) {
    return Error(ErrorCode::kInvalidArgument, "audit event with an unknown outcome");
  }
  GMPKI_RETURN_IF_ERROR(CheckSize("actor", e.actor, kMaxShortFieldSize));
  GMPKI_RETURN_IF_ERROR(CheckSize("role", e.role, kMaxShortFieldSize));
  GMPKI_RETURN_IF_ERROR(CheckSize("action", e.action, kMaxShortFieldSize));
  GMPKI_RETURN_IF_ERROR(CheckSize("node", e.node, kMaxShortFieldSize));
  GMPKI_RETURN_IF_ERROR(CheckSize("object", e.object, kMaxObjectSize));
  GMPKI_RETURN_IF_ERROR(CheckSize("detail", e.detail, kMaxDetailSize));
  // Reviewers and tools parse `detail`; refuse text they could not read back.
  if (!e.detail.empty() && !nlohmann::json::accept(e.detail)) {
    return Error(ErrorCode::kInvalidArgument, "audit detail is not JSON text");
  }
  return OkStatus();
}

Bytes ComputeRecordHash(std::int64_t seq, ByteView prev_hash, const AuditEvent& e) {
  Bytes enc;
  enc.reserve(prev_hash.size() + kRecordDomain.size() + 17 + 6 * 4 + e.actor.size() +
              e.role.size() + e.action.size() + e.object.size() + e.detail.size() + e.node.size());
  enc.insert(enc.end(), prev_hash.begin(), prev_hash.end());
  enc.insert(enc.end(), kRecordDomain.begin(), kRecordDomain.end());
  PutU64(enc, static_cast<std::uint64_t>(seq));
  PutU64(enc, static_cast<std::uint64_t>(ToUnixSeconds(e.time)));
  enc.push_back(static_cast<std::uint8_t>(e.outcome));
  PutLengthPrefixed(enc, e.actor);
  PutLengthPrefixed(enc, e.role);
  PutLengthPrefixed(enc, e.action);
  PutLengthPrefixed(enc, e.object);
  PutLengthPrefixed(enc, e.detail);
  PutLengthPrefixed(enc, e.node);
  const crypto::Sm3Digest d = crypto::Sm3(enc);
  return Bytes(d.begin(), d.end());
}

Bytes CheckpointMessage(std::int64_t seq, ByteView hash) {
  Bytes m(kCheckpointDomain.begin(), kCheckpointDomain.end());
  PutU64(m, static_cast<std::uint64_t>(seq));
  m.insert(m.end(), hash.begin(), hash.end());
  return m;
}

Result<AuditRecord> RecordFromRow(const store::Row& row) {
  AuditRecord r;
  GMPKI_ASSIGN_OR_RETURN(const std::int64_t* seq, Column<std::int64_t>(row, 0));
  GMPKI_ASSIGN_OR_RETURN(const std::int64_t* time, Column<std::int64_t>(row, 1));
  GMPKI_ASSIGN_OR_RETURN(const std::string* actor, Column<std::string>(row, 2));
  GMPKI_ASSIGN_OR_RETURN(const std::string* role, Column<std::string>(row, 3));
  GMPKI_ASSIGN_OR_RETURN(const std::string* action, Column<std::string>(row, 4));
  GMPKI_ASSIGN_OR_RETURN(const std::string* object, Column<std::string>(row, 5));
  GMPKI_ASSIGN_OR_RETURN(const std::int64_t* outcome, Column<std::int64_t>(row, 6));
  GMPKI_ASSIGN_OR_RETURN(const std::string* detail, Column<std::string>(row, 7));
  GMPKI_ASSIGN_OR_RETURN(const std::string* node, Column<std::string>(row, 8));
  GMPKI_ASSIGN_OR_RETURN(const Bytes* prev_hash, Column<Bytes>(row, 9));
  GMPKI_ASSIGN_OR_RETURN(const Bytes* hash, Column<Bytes>(row, 10));
  if (*outcome != static_cast<std::int64_t>(Outcome::kSuccess) &&
      *outcome != static_cast<std::int64_t>(Outcome::kFailure)) {
    return Error(ErrorCode::kIntegrityFailure,
                 "audit record " + std::to_string(*seq) + " has an unknown outcome value");
  }
  r.seq = *seq;
  r.event.time = FromUnixSeconds(*time);
  r.event.actor = *actor;
  r.event.role = *role;
  r.event.action = *action;
  r.event.object = *object;
  r.event.outcome = static_cast<Outcome>(*outcome);
  r.event.detail = *detail;
  r.event.node = *node;
  r.prev_hash = *prev_hash;
  r.hash = *hash;
  return r;
}

}  // namespace gmpki::audit::internal
