// RA schema, identifier checks and the audited-operation frame shared by every RA operation.
#include <array>

#include "base/log.h"
#include "crypto/random.h"
#include "services/ra/ra_internal.h"

namespace gmpki::ra {

std::vector<store::Migration> RaMigrations() {
  // PERSISTENT: released migrations are never edited, only followed by new ones.
  return {
      {300, "ra_points",
       "CREATE TABLE ra_points ("
       " name TEXT PRIMARY KEY, ra TEXT NOT NULL, description TEXT NOT NULL,"
       " location TEXT NOT NULL, status TEXT NOT NULL, created_by TEXT NOT NULL,"
       " created_unix INTEGER NOT NULL, updated_unix INTEGER NOT NULL);"
       "CREATE TABLE ra_point_operators ("
       " operator TEXT PRIMARY KEY, point TEXT NOT NULL REFERENCES ra_points(name),"
       " bound_by TEXT NOT NULL, bound_unix INTEGER NOT NULL);"
       "CREATE INDEX ra_point_operators_point ON ra_point_operators(point)"},
      // Personal values live only in the *_enc columns (SM4-GCM, pii.h); *_index columns hold
      // the keyed blind index for exact search; *_masked the display form.
      {301, "ra_subscribers",
       "CREATE TABLE ra_subscribers ("
       " id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,"
       " id_kind TEXT, id_index TEXT, id_enc {{blob}}, id_masked TEXT NOT NULL,"
       " ssn_index TEXT, ssn_enc {{blob}}, ssn_masked TEXT NOT NULL,"
       " phone_enc {{blob}}, phone_masked TEXT NOT NULL,"
       " address_enc {{blob}}, address_masked TEXT NOT NULL,"
       " email TEXT NOT NULL, uscc TEXT, legal_rep TEXT NOT NULL, device_serial TEXT, owner TEXT,"
       " point TEXT NOT NULL, entered_by TEXT NOT NULL, modified_by TEXT NOT NULL,"
       " reviewed_by TEXT NOT NULL, review_reason TEXT NOT NULL,"
       " created_unix INTEGER NOT NULL, updated_unix INTEGER NOT NULL);"
       "CREATE UNIQUE INDEX ra_subscribers_identity ON ra_subscribers(id_kind, id_index);"
       "CREATE UNIQUE INDEX ra_subscribers_uscc ON ra_subscribers(uscc);"
       "CREATE UNIQUE INDEX ra_subscribers_device ON ra_subscribers(owner, device_serial);"
       "CREATE INDEX ra_subscribers_ssn ON ra_subscribers(ssn_index);"
       "CREATE INDEX ra_subscribers_created ON ra_subscribers(created_unix, id)"},
      {302, "ra_requests",
       "CREATE TABLE ra_requests ("
       " id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
       " subscriber TEXT NOT NULL REFERENCES ra_subscribers(id), status TEXT NOT NULL,"
       " ca TEXT NOT NULL, profile TEXT NOT NULL, validity_days INTEGER, source_request TEXT,"
       " reason INTEGER, point TEXT NOT NULL, requested_by TEXT NOT NULL,"
       " reviewed_by TEXT NOT NULL, review_reason TEXT NOT NULL, last_error TEXT NOT NULL,"
       " serial_hex TEXT, not_after INTEGER NOT NULL, revoked_unix INTEGER,"
       " created_unix INTEGER NOT NULL, updated_unix INTEGER NOT NULL,"
       " csr_enc {{blob}}, cert_enc {{blob}});"
       "CREATE INDEX ra_requests_subscriber ON ra_requests(subscriber, created_unix);"
       "CREATE INDEX ra_requests_status ON ra_requests(status, created_unix)"},
      // Dual certificates (KM-03, KM-06): which signing certificate's request an encryption
      // request or key recovery envelopes the key to, and the envelopes themselves. The
      // envelopes are kept in clear: each is encrypted to the subscriber's signing public key
      // (GM/T 0016 ENVELOPEDKEYBLOB, GB/T 35276 SM2EnvelopedKey, GM/T 0010 EnvelopedData), so
      // only the holder of that signing private key can open them, and the RA never can.
      {303, "ra_key_deliveries",
       "ALTER TABLE ra_requests ADD COLUMN sign_request TEXT;"
       "CREATE INDEX ra_requests_sign ON ra_requests(sign_request);"
       "CREATE TABLE ra_key_deliveries ("
       " request TEXT PRIMARY KEY REFERENCES ra_requests(id), key_id TEXT NOT NULL,"
       " skf_blob {{blob}} NOT NULL, sm2_enveloped_key {{blob}} NOT NULL,"
       " enveloped_data {{blob}} NOT NULL, created_unix INTEGER NOT NULL)"},
  };
}

Result<std::string> NormalizeUscc(std::string_view code) {
  // GB 32100-2015 §4.1 character set (no I, O, S, V, Z) with values 0..30 in this order.
  static constexpr std::string_view kChars = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  std::string c;
  for (char ch : code) c.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  if (c.size() != 18) {
    return Error(ErrorCode::kInvalidArgument,
                 "a unified social credit code has 18 characters (GB 32100-2015)");
  }
  for (std::size_t i = 2; i < 8; ++i) {
    if (c[i] < '0' || c[i] > '9') {
      return Error(ErrorCode::kInvalidArgument,
                   "characters 3..8 of a unified social credit code are the administrative "
                   "division code (digits)");
    }
  }
  int sum = 0, weight = 1;
  for (std::size_t i = 0; i < 18; ++i) {
    auto v = kChars.find(c[i]);
    if (v == std::string_view::npos) {
      return Error(ErrorCode::kInvalidArgument,
                   "a unified social credit code may not contain '" + std::string(1, c[i]) + "'");
    }
    if (i < 17) {
      sum += static_cast<int>(v) * weight;
      weight = weight * 3 % 31;  // Wi = 3^(i-1) mod 31 (GB 32100-2015 §5)
    }
  }
  int check = (31 - sum % 31) % 31;
  if (c[17] != kChars[static_cast<std::size_t>(check)]) {
    return Error(ErrorCode::kInvalidArgument,
                 "the check character of the unified social credit code is wrong "
                 "(GB 32100-2015 §5)");
  }
  return c;
}

namespace internal {

std::string SealContext(std::string_view field, std::string_view record_id) {
  return std::string(field) + ":" + std::string(record_id);
}

Result<std::string> NewId(std::string_view prefix) {
  GMPKI_ASSIGN_OR_RETURN(auto r, crypto::RandomBytes(8));
  return std::string(prefix) + "-" + HexEncode(r);
}

Result<std::size_t> Utf8Length(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      return Error(ErrorCode::kInvalidArgument, "text is not valid UTF-8");
    }
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
        return Error(ErrorCode::kInvalidArgument, "text is not valid UTF-8");
      }
    }
    i += len;
    ++n;
  }
  return n;
}

std::string MaskText(std::string_view text) {
  if (text.empty()) return "";
  std::size_t i = 0, chars = 0;
  while (i < text.size() && chars < 6) {
    auto b = static_cast<unsigned char>(text[i]);
    i += b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : 4;
    ++chars;
  }
  return std::string(text.substr(0, std::min(i, text.size()))) + "***";
}

Status CheckLimitOffset(int limit, int offset) {
  if (limit < 1 || limit > 500 || offset < 0) {
    return Error(ErrorCode::kInvalidArgument, "limit must be 1..500 and offset >= 0");
  }
  return OkStatus();
}

store::Value OptText(const std::string& s) {
  if (s.empty()) return store::Null{};
  return s;
}
store::Value OptBlob(const Bytes& b) {
  if (b.empty()) return store::Null{};
  return b;
}
std::string TextOr(const store::Row& row, std::size_t i) {
  return row.IsNull(i) ? std::string() : row.Text(i);
}
Bytes BlobOr(const store::Row& row, std::size_t i) { return row.IsNull(i) ? Bytes() : row.Blob(i); }

}  // namespace internal

RaService::RaService(store::Database& db, std::shared_ptr<const pii::PiiCodec> pii,
                     CaGateway& gateway, const Clock& clock, RaSettings settings)
    : db_(db), pii_(std::move(pii)), gateway_(gateway), clock_(clock),
      settings_(std::move(settings)), committer_(db) {}

void RaService::RecordFailure(audit::AuditEvent ev, const Error& failure) {
  // The refusal is recorded in its own transaction; the operation changed nothing.
  ev.time = clock_.Now();
  if (Status st = audit::RecordRefusal(db_, ev, failure); !st.ok()) {
    log::Error("ra: audit record of a refused {} not written: {}", ev.action, st.error().ToString());
  }
  log::Info("ra: {} by {} refused: {}", ev.action, ev.actor, failure.ToString());
}

Status RaService::Run(const services::Actor& actor, const std::string& action,
                      const std::string& object, services::Permission permission,
                      bool needs_point, const Op& op) {
  nlohmann::json detail{{"ra", settings_.ra_name}};
  audit::AuditEvent ev;
  ev.actor = actor.name;
  ev.role = std::string(services::RoleName(actor.role));
  ev.action = action;
  ev.object = object;
  ev.time = clock_.Now();
  ev.node = settings_.node;
  ev.detail = detail.dump();
  if (Status st = services::Authorize(actor, permission); !st.ok()) {
    RecordFailure(ev, st.error());
    return st;
  }
  // The operation, its point check and its audit record run in one transaction shared with
  // concurrent operations (store::GroupCommitter): they commit together or not at all, and an
  // operation that fails is rolled back alone.
  Error failure(ErrorCode::kOk, "");
  bool op_failed = false;
  Status committed = committer_.Run([&](store::Transaction& tx) -> Status {
    nlohmann::json attempt_detail = detail;
    Ctx ctx{actor.name, "", &attempt_detail};
    audit::AuditEvent attempt = ev;
    Status st = [&]() -> Status {
      if (needs_point) {
        // RA-02: an operator acts only from the registration point it is bound to, and only
        // while that point is active.
        GMPKI_ASSIGN_OR_RETURN(
            auto row, tx.QueryOne("SELECT p.name, p.status FROM ra_point_operators b JOIN ra_points "
                                  "p ON p.name = b.point WHERE b.operator = ? AND p.ra = ?",
                                  {actor.name, settings_.ra_name}));
        if (!row) {
          return Error(ErrorCode::kPermissionDenied,
                       "operator '" + actor.name + "' is not bound to a registration point of RA '" +
                           settings_.ra_name + "'");
        }
        ctx.point = row->Text(0);
        attempt_detail["point"] = ctx.point;
        if (row->Text(1) != "active") {
          return Error(ErrorCode::kPermissionDenied,
                       "registration point '" + ctx.point + "' is " + row->Text(1));
        }
      }
      return op(tx, attempt, ctx);
    }();
    attempt.detail = attempt_detail.dump();
    ev = attempt;
    if (!st.ok()) {
      op_failed = true;
      failure = st.error();
      return st;
    }
    attempt.time = clock_.Now();
    if (Status a = audit::AppendAudit(tx, attempt); !a.ok()) {
      return Error(ErrorCode::kAuditFailure,
                   "the audit record could not be written; nothing was changed: " +
                       a.error().message());
    }
    return OkStatus();
  });
  if (!committed.ok()) {
    RecordFailure(ev, op_failed ? failure : committed.error());
    return op_failed ? Status(failure) : committed;
  }
  return OkStatus();
}

}  // namespace gmpki::ra
