#include "services/evidence/record.h"

#include <nlohmann/json.hpp>

namespace gmpki::evidence {
namespace {

constexpr std::string_view kRecordDomain = "gmpki-evidence-record-v1";

void PutU32(Bytes& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}
void PutU64(Bytes& out, std::uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}
void PutLp(Bytes& out, std::string_view s) {
  PutU32(out, static_cast<std::uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

// A bounded reader over the encoding; every read checks the remaining length.
class Reader {
 public:
  explicit Reader(ByteView b) : b_(b) {}
  bool Take(std::size_t n, ByteView* out) {
    if (b_.size() - pos_ < n) return false;
    *out = b_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool U8(std::uint8_t* v) {
    ByteView x;
    if (!Take(1, &x)) return false;
    *v = x[0];
    return true;
  }
  bool U64(std::uint64_t* v) {
    ByteView x;
    if (!Take(8, &x)) return false;
    *v = 0;
    for (std::uint8_t c : x) *v = (*v << 8) | c;
    return true;
  }
  bool Lp(std::size_t max, std::string* s) {
    ByteView x;
    if (!Take(4, &x)) return false;
    const std::uint32_t n = (std::uint32_t{x[0]} << 24) | (std::uint32_t{x[1]} << 16) |
                            (std::uint32_t{x[2]} << 8) | x[3];
    if (n > max || !Take(n, &x)) return false;
    s->assign(x.begin(), x.end());
    return true;
  }
  bool AtEnd() const { return pos_ == b_.size(); }

 private:
  ByteView b_;
  std::size_t pos_ = 0;
};

Status CheckSize(std::string_view name, const std::string& v, std::size_t max) {
  if (v.size() > max) {
    return Error(ErrorCode::kTooLarge, "evidence " + std::string(name) + " is longer than " +
                                           std::to_string(max) + " bytes");
  }
  return OkStatus();
}

}  // namespace

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kSign: return "sign";
    case Kind::kVerify: return "verify";
    case Kind::kSeal: return "seal";
    case Kind::kAuth: return "auth";
    case Kind::kKeyUse: return "key-use";
    case Kind::kTimestamp: return "timestamp";
  }
  return "unknown";
}

std::optional<Kind> ParseKind(std::string_view name) {
  for (Kind k : {Kind::kSign, Kind::kVerify, Kind::kSeal, Kind::kAuth, Kind::kKeyUse,
                 Kind::kTimestamp}) {
    if (KindName(k) == name) return k;
  }
  return std::nullopt;
}

std::string_view OutcomeName(Outcome outcome) {
  return outcome == Outcome::kSuccess ? "success" : "failure";
}

std::optional<Outcome> ParseOutcome(std::string_view name) {
  if (name == "success") return Outcome::kSuccess;
  if (name == "failure") return Outcome::kFailure;
  return std::nullopt;
}

std::int64_t TimeMillis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint FromMillis(std::int64_t ms) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}

Status ValidateRecord(const EvidenceRecord& r) {
  if (KindName(r.kind) == "unknown") {
    return Error(ErrorCode::kInvalidArgument, "unknown evidence kind");
  }
  if (r.outcome != Outcome::kSuccess && r.outcome != Outcome::kFailure) {
    return Error(ErrorCode::kInvalidArgument, "unknown evidence outcome");
  }
  if (r.actor.empty()) return Error(ErrorCode::kInvalidArgument, "evidence actor is empty");
  if (r.decision.empty()) return Error(ErrorCode::kInvalidArgument, "evidence decision is empty");
  GMPKI_RETURN_IF_ERROR(CheckSize("actor", r.actor, kMaxShortField));
  GMPKI_RETURN_IF_ERROR(CheckSize("application", r.application, kMaxShortField));
  GMPKI_RETURN_IF_ERROR(CheckSize("decision", r.decision, kMaxShortField));
  GMPKI_RETURN_IF_ERROR(CheckSize("object", r.object, kMaxObjectField));
  GMPKI_RETURN_IF_ERROR(CheckSize("details", r.details, kMaxDetailsField));
  if (!r.details.empty() && !nlohmann::json::accept(r.details)) {
    return Error(ErrorCode::kInvalidArgument, "evidence details are not JSON");
  }
  return OkStatus();
}

Bytes EncodeRecord(const EvidenceRecord& r) {
  // Constructed from the domain rather than reserve + insert: GCC 12 reports a false
  // -Wstringop-overflow on the latter.
  Bytes out(kRecordDomain.begin(), kRecordDomain.end());
  out.reserve(kRecordDomain.size() + 10 + 5 * 4 + r.actor.size() + r.application.size() +
              r.object.size() + r.decision.size() + r.details.size());
  out.push_back(static_cast<std::uint8_t>(r.kind));
  PutU64(out, static_cast<std::uint64_t>(TimeMillis(r.time)));
  out.push_back(static_cast<std::uint8_t>(r.outcome));
  PutLp(out, r.actor);
  PutLp(out, r.application);
  PutLp(out, r.object);
  PutLp(out, r.decision);
  PutLp(out, r.details);
  return out;
}

Result<EvidenceRecord> DecodeRecord(ByteView bytes) {
  const Error bad(ErrorCode::kMalformedInput, "not a gmpki evidence record encoding");
  Reader rd(bytes);
  ByteView domain;
  if (!rd.Take(kRecordDomain.size(), &domain) || ToString(domain) != kRecordDomain) return bad;
  EvidenceRecord r;
  std::uint8_t kind = 0, outcome = 0;
  std::uint64_t ms = 0;
  if (!rd.U8(&kind) || !rd.U64(&ms) || !rd.U8(&outcome)) return bad;
  r.kind = static_cast<Kind>(kind);
  r.outcome = static_cast<Outcome>(outcome);
  if (KindName(r.kind) == "unknown" ||
      (r.outcome != Outcome::kSuccess && r.outcome != Outcome::kFailure)) {
    return bad;
  }
  r.time = FromMillis(static_cast<std::int64_t>(ms));
  if (!rd.Lp(kMaxShortField, &r.actor) || !rd.Lp(kMaxShortField, &r.application) ||
      !rd.Lp(kMaxObjectField, &r.object) || !rd.Lp(kMaxShortField, &r.decision) ||
      !rd.Lp(kMaxDetailsField, &r.details) || !rd.AtEnd()) {
    return bad;
  }
  return r;
}

}  // namespace gmpki::evidence
