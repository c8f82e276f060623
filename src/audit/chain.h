// Internal to gmpki_audit: the PERSISTENT encodings of audit.h (record hash input, checkpoint
// message) and the column list shared by the readers. Not part of the public interface.
#pragma once

#include <cstdint>
#include <string_view>

#include "audit/audit.h"
#include "base/bytes.h"

namespace gmpki::audit::internal {

inline constexpr std::string_view kRecordDomain = "gmpki-audit-record-v1";
inline constexpr std::string_view kCheckpointDomain = "gmpki-audit-checkpoint-v1";
inline constexpr std::size_t kHashSize = 32;

// Columns in the order RecordFromRow expects.
inline constexpr std::string_view kRecordColumns =
    "seq, time_unix, actor, role, action, object, outcome, detail, node, prev_hash, hash";

// Checks the REQUIRED fields and the size bounds of audit.h.
Status ValidateEvent(const AuditEvent& e);

// hash_seq = SM3(prev_hash || encoding), encoding as documented in audit.h.
Bytes ComputeRecordHash(std::int64_t seq, ByteView prev_hash, const AuditEvent& e);

// "gmpki-audit-checkpoint-v1" || u64be(seq) || hash.
Bytes CheckpointMessage(std::int64_t seq, ByteView hash);

// Decodes a row selected with kRecordColumns. kIntegrityFailure when a column has the wrong
// type or an unknown outcome value (stored data was changed outside gmpki).
Result<AuditRecord> RecordFromRow(const store::Row& row);

}  // namespace gmpki::audit::internal
