// Subscriber records (LD/T 02.1 §7.3.2: 用户信息录入、修改、查询、审核; RA-01) with personal
// numbers sealed at rest and found through the blind index (CC-FPR).
#include <algorithm>

#include "base/log.h"
#include "services/ra/ra_internal.h"

namespace gmpki::ra {
namespace {

using services::Permission;
using namespace internal;  // NOLINT: this component's own helpers

Status CheckText(const std::string& v, std::string_view field, std::size_t max, bool required) {
  if (v.empty()) {
    if (required) return Error(ErrorCode::kInvalidArgument, std::string(field) + " is required");
    return OkStatus();
  }
  if (v.size() > max) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(field) + ": at most " + std::to_string(max) + " bytes");
  }
  GMPKI_RETURN_IF_ERROR(Utf8Length(v));
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7F) {
      return Error(ErrorCode::kInvalidArgument, std::string(field) + " holds a control character");
    }
  }
  return OkStatus();
}

Status MustBeEmpty(const std::string& v, std::string_view field, std::string_view kind) {
  if (!v.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(field) + " does not apply to a " + std::string(kind));
  }
  return OkStatus();
}

// Validates and normalises every field: nothing is written unless all of it is acceptable.
Result<SubscriberInput> Normalize(SubscriberInput in) {
  GMPKI_RETURN_IF_ERROR(CheckText(in.name, "name", 128, true));
  GMPKI_RETURN_IF_ERROR(CheckText(in.email, "email", 128, false));
  if (!in.email.empty() && in.email.find('@') == std::string::npos) {
    return Error(ErrorCode::kInvalidArgument, "email must be an address (local@domain)");
  }
  GMPKI_RETURN_IF_ERROR(CheckText(in.address, "address", 256, false));
  if (in.phone.size() > 32 ||
      !std::all_of(in.phone.begin(), in.phone.end(), [](char c) {
        return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == ' ';
      })) {
    return Error(ErrorCode::kInvalidArgument, "phone: at most 32 of digits, '+', '-' and spaces");
  }
  if (in.kind == kKindPerson) {
    GMPKI_ASSIGN_OR_RETURN(auto kind, pii::ParseIdKind(in.id_kind));
    if (kind == pii::IdKind::kSocialSecurity) {
      return Error(ErrorCode::kInvalidArgument,
                   "id_kind names the identity document (resident-id, passport or other); the "
                   "social security number has its own field");
    }
    if (in.id_number.empty()) return Error(ErrorCode::kInvalidArgument, "id_number is required");
    GMPKI_ASSIGN_OR_RETURN(in.id_number, pii::NormalizeIdentifier(kind, in.id_number));
    if (!in.social_security.empty()) {
      GMPKI_ASSIGN_OR_RETURN(in.social_security,
                             pii::NormalizeIdentifier(pii::IdKind::kSocialSecurity,
                                                      in.social_security));
    }
    for (auto [v, f] : {std::pair{&in.uscc, "uscc"}, {&in.legal_representative, "legal_representative"},
                        {&in.device_serial, "device_serial"}, {&in.owner, "owner"}}) {
      GMPKI_RETURN_IF_ERROR(MustBeEmpty(*v, f, in.kind));
    }
  } else if (in.kind == kKindOrganization) {
    GMPKI_ASSIGN_OR_RETURN(in.uscc, NormalizeUscc(in.uscc));
    GMPKI_RETURN_IF_ERROR(CheckText(in.legal_representative, "legal_representative", 128, true));
    for (auto [v, f] : {std::pair{&in.id_kind, "id_kind"}, {&in.id_number, "id_number"},
                        {&in.social_security, "social_security"},
                        {&in.device_serial, "device_serial"}, {&in.owner, "owner"}}) {
      GMPKI_RETURN_IF_ERROR(MustBeEmpty(*v, f, in.kind));
    }
  } else if (in.kind == kKindDevice) {
    GMPKI_ASSIGN_OR_RETURN(in.device_serial,
                           pii::NormalizeIdentifier(pii::IdKind::kOther, in.device_serial));
    if (in.owner.empty()) {
      return Error(ErrorCode::kInvalidArgument, "owner (an organisation subscriber) is required");
    }
    for (auto [v, f] : {std::pair{&in.id_kind, "id_kind"}, {&in.id_number, "id_number"},
                        {&in.social_security, "social_security"}, {&in.uscc, "uscc"},
                        {&in.legal_representative, "legal_representative"},
                        {&in.phone, "phone"}, {&in.address, "address"}}) {
      GMPKI_RETURN_IF_ERROR(MustBeEmpty(*v, f, in.kind));
    }
  } else {
    return Error(ErrorCode::kInvalidArgument, "kind must be person, organization or device");
  }
  return in;
}

}  // namespace

Result<RaService::SubscriberRow> RaService::LoadSubscriber(store::Transaction& tx,
                                                           const std::string& id) {
  GMPKI_ASSIGN_OR_RETURN(auto r, tx.QueryOne(std::string("SELECT ") + kSubscriberColumns +
                                             " FROM ra_subscribers WHERE id = ?",
                                             {id}));
  if (!r) return Error(ErrorCode::kNotFound, "no subscriber '" + id + "'");
  SubscriberRow s;
  s.id = r->Text(0);
  s.kind = r->Text(1);
  s.name = r->Text(2);
  s.status = r->Text(3);
  s.id_kind = TextOr(*r, 4);
  s.id_enc = BlobOr(*r, 5);
  s.id_masked = r->Text(6);
  s.ssn_enc = BlobOr(*r, 7);
  s.ssn_masked = r->Text(8);
  s.phone_enc = BlobOr(*r, 9);
  s.phone_masked = r->Text(10);
  s.address_enc = BlobOr(*r, 11);
  s.address_masked = r->Text(12);
  s.email = r->Text(13);
  s.uscc = TextOr(*r, 14);
  s.legal_rep = r->Text(15);
  s.device_serial = TextOr(*r, 16);
  s.owner = TextOr(*r, 17);
  s.point = r->Text(18);
  s.entered_by = r->Text(19);
  s.modified_by = r->Text(20);
  s.reviewed_by = r->Text(21);
  s.review_reason = r->Text(22);
  s.created_unix = r->Int(23);
  s.updated_unix = r->Int(24);
  return s;
}

Result<SubscriberView> RaService::ToView(const SubscriberRow& s, bool reveal) const {
  SubscriberView v{s.id,          s.kind,           s.name,        s.status,
                   s.id_kind,     s.id_masked,      s.ssn_masked,  s.phone_masked,
                   s.address_masked, s.email,       s.uscc,        s.legal_rep,
                   s.device_serial, s.owner,        s.point,       s.entered_by,
                   s.modified_by, s.reviewed_by,    s.review_reason, reveal,
                   s.created_unix, s.updated_unix};
  if (!reveal) return v;
  auto open = [&](pii::IdKind kind, std::string_view field, const Bytes& sealed,
                  std::string* out) -> Status {
    if (sealed.empty()) return OkStatus();
    GMPKI_ASSIGN_OR_RETURN(*out, pii_->Decrypt(kind, SealContext(field, s.id), sealed));
    return OkStatus();
  };
  if (!s.id_kind.empty()) {
    GMPKI_ASSIGN_OR_RETURN(auto kind, pii::ParseIdKind(s.id_kind));
    GMPKI_RETURN_IF_ERROR(open(kind, "id", s.id_enc, &v.id_number));
  }
  GMPKI_RETURN_IF_ERROR(open(pii::IdKind::kSocialSecurity, "ssn", s.ssn_enc, &v.social_security));
  GMPKI_RETURN_IF_ERROR(open(pii::IdKind::kOther, "phone", s.phone_enc, &v.phone));
  GMPKI_RETURN_IF_ERROR(open(pii::IdKind::kOther, "address", s.address_enc, &v.address));
  return v;
}

Status RaService::CheckDuplicates(store::Transaction& tx, const std::string& id,
                                  const SubscriberInput& in) {
  // Checked before writing so the refusal names the rule; the unique indexes are the backstop
  // against a concurrent entry of the same subscriber.
  std::optional<store::Row> dup;
  if (in.kind == kKindPerson) {
    GMPKI_ASSIGN_OR_RETURN(auto kind, pii::ParseIdKind(in.id_kind));
    GMPKI_ASSIGN_OR_RETURN(dup, tx.QueryOne("SELECT id FROM ra_subscribers WHERE id_kind = ? AND "
                                            "id_index = ? AND id <> ?",
                                            {in.id_kind, pii_->BlindIndex(kind, in.id_number), id}));
    if (dup) {
      return Error(ErrorCode::kAlreadyExists, "subscriber '" + dup->Text(0) + "' has the same " +
                                                  in.id_kind + " number " + pii::Mask(in.id_number));
    }
  } else if (in.kind == kKindOrganization) {
    GMPKI_ASSIGN_OR_RETURN(dup, tx.QueryOne("SELECT id FROM ra_subscribers WHERE uscc = ? AND "
                                            "id <> ?",
                                            {in.uscc, id}));
    if (dup) {
      return Error(ErrorCode::kAlreadyExists,
                   "subscriber '" + dup->Text(0) + "' has the same unified social credit code");
    }
  } else {
    GMPKI_ASSIGN_OR_RETURN(auto owner, LoadSubscriber(tx, in.owner));
    if (owner.kind != kKindOrganization) {
      return Error(ErrorCode::kInvalidArgument, "a device's owner must be an organisation");
    }
    GMPKI_ASSIGN_OR_RETURN(dup, tx.QueryOne("SELECT id FROM ra_subscribers WHERE owner = ? AND "
                                            "device_serial = ? AND id <> ?",
                                            {in.owner, in.device_serial, id}));
    if (dup) {
      return Error(ErrorCode::kAlreadyExists, "subscriber '" + dup->Text(0) +
                                                  "' is the same device of the same owner");
    }
  }
  return OkStatus();
}

Status RaService::WriteSubscriber(store::Transaction& tx, const std::string& id,
                                  const SubscriberInput& in, bool insert, const Ctx& ctx,
                                  const std::string& actor) {
  GMPKI_RETURN_IF_ERROR(CheckDuplicates(tx, id, in));
  store::Value id_index = store::Null{}, ssn_index = store::Null{};
  Bytes id_enc, ssn_enc, phone_enc, address_enc;
  if (in.kind == kKindPerson) {
    GMPKI_ASSIGN_OR_RETURN(auto kind, pii::ParseIdKind(in.id_kind));
    id_index = pii_->BlindIndex(kind, in.id_number);
    GMPKI_ASSIGN_OR_RETURN(id_enc, pii_->Encrypt(kind, SealContext("id", id), in.id_number));
    if (!in.social_security.empty()) {
      ssn_index = pii_->BlindIndex(pii::IdKind::kSocialSecurity, in.social_security);
      GMPKI_ASSIGN_OR_RETURN(ssn_enc, pii_->Encrypt(pii::IdKind::kSocialSecurity,
                                                    SealContext("ssn", id), in.social_security));
    }
  }
  if (!in.phone.empty()) {
    GMPKI_ASSIGN_OR_RETURN(phone_enc,
                           pii_->Encrypt(pii::IdKind::kOther, SealContext("phone", id), in.phone));
  }
  if (!in.address.empty()) {
    GMPKI_ASSIGN_OR_RETURN(address_enc, pii_->Encrypt(pii::IdKind::kOther,
                                                      SealContext("address", id), in.address));
  }
  std::int64_t now = ToUnixSeconds(clock_.Now());
  std::string id_masked = in.id_number.empty() ? "" : pii::Mask(in.id_number);
  std::string ssn_masked = in.social_security.empty() ? "" : pii::Mask(in.social_security);
  std::string phone_masked = in.phone.empty() ? "" : pii::Mask(in.phone);
  Result<std::int64_t> w = 0;
  if (insert) {
    w = tx.Exec("INSERT INTO ra_subscribers (id, kind, name, status, id_kind, id_index, id_enc, "
                "id_masked, ssn_index, ssn_enc, ssn_masked, phone_enc, phone_masked, address_enc, "
                "address_masked, email, uscc, legal_rep, device_serial, owner, point, entered_by, "
                "modified_by, reviewed_by, review_reason, created_unix, updated_unix) VALUES (?, ?,"
                " ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '', "
                "?, ?)",
                {id, in.kind, in.name, OptText(in.id_kind), id_index, OptBlob(id_enc), id_masked,
                 ssn_index, OptBlob(ssn_enc), ssn_masked, OptBlob(phone_enc), phone_masked,
                 OptBlob(address_enc), MaskText(in.address), in.email, OptText(in.uscc),
                 in.legal_representative, OptText(in.device_serial), OptText(in.owner), ctx.point,
                 actor, now, now});
  } else {
    // A modified record goes back to review; the last review no longer applies.
    w = tx.Exec("UPDATE ra_subscribers SET name = ?, status = 'pending', id_kind = ?, "
                "id_index = ?, id_enc = ?, id_masked = ?, ssn_index = ?, ssn_enc = ?, "
                "ssn_masked = ?, phone_enc = ?, phone_masked = ?, address_enc = ?, "
                "address_masked = ?, email = ?, uscc = ?, legal_rep = ?, device_serial = ?, "
                "owner = ?, modified_by = ?, reviewed_by = '', review_reason = '', "
                "updated_unix = ? WHERE id = ?",
                {in.name, OptText(in.id_kind), id_index, OptBlob(id_enc), id_masked, ssn_index,
                 OptBlob(ssn_enc), ssn_masked, OptBlob(phone_enc), phone_masked,
                 OptBlob(address_enc), MaskText(in.address), in.email, OptText(in.uscc),
                 in.legal_representative, OptText(in.device_serial), OptText(in.owner), actor,
                 now, id});
  }
  if (!w.ok()) {
    if (w.error().code() == ErrorCode::kAlreadyExists) {
      return Error(ErrorCode::kAlreadyExists, "a subscriber with the same identity exists");
    }
    return w.error();
  }
  return OkStatus();
}

Result<SubscriberView> RaService::EnterSubscriber(const services::Actor& actor,
                                                  const SubscriberInput& input) {
  GMPKI_ASSIGN_OR_RETURN(std::string id, NewId("sub"));
  SubscriberView out;
  GMPKI_RETURN_IF_ERROR(Run(actor, "ra.subscriber.enter", "subscriber:" + id,
                            Permission::kSubscriberWrite, true,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx& ctx) -> Status {
    (*ctx.detail)["kind"] = input.kind;
    GMPKI_ASSIGN_OR_RETURN(auto in, Normalize(input));
    GMPKI_RETURN_IF_ERROR(WriteSubscriber(tx, id, in, true, ctx, actor.name));
    GMPKI_ASSIGN_OR_RETURN(auto row, LoadSubscriber(tx, id));
    GMPKI_ASSIGN_OR_RETURN(out, ToView(row, false));
    return OkStatus();
  }));
  return out;
}

Result<SubscriberView> RaService::ModifySubscriber(const services::Actor& actor,
                                                   const std::string& id,
                                                   const SubscriberInput& input) {
  SubscriberView out;
  GMPKI_RETURN_IF_ERROR(Run(actor, "ra.subscriber.modify", "subscriber:" + id,
                            Permission::kSubscriberWrite, true,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx& ctx) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto old, LoadSubscriber(tx, id));
    if (input.kind != old.kind) {
      return Error(ErrorCode::kInvalidArgument, "a subscriber's kind cannot change (it is " +
                                                    old.kind + ")");
    }
    if (input.kind == kKindDevice && input.owner == id) {
      return Error(ErrorCode::kInvalidArgument, "a device cannot own itself");
    }
    GMPKI_ASSIGN_OR_RETURN(auto in, Normalize(input));
    (*ctx.detail)["previous_status"] = old.status;
    GMPKI_RETURN_IF_ERROR(WriteSubscriber(tx, id, in, false, ctx, actor.name));
    GMPKI_ASSIGN_OR_RETURN(auto row, LoadSubscriber(tx, id));
    GMPKI_ASSIGN_OR_RETURN(out, ToView(row, false));
    return OkStatus();
  }));
  return out;
}

Result<SubscriberView> RaService::ReviewSubscriber(const services::Actor& actor,
                                                   const std::string& id, const Review& review) {
  SubscriberView out;
  GMPKI_RETURN_IF_ERROR(Run(actor, review.approve ? "ra.subscriber.approve" : "ra.subscriber.reject",
                            "subscriber:" + id, Permission::kSubscriberReview, true,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx& ctx) -> Status {
    GMPKI_RETURN_IF_ERROR(CheckText(review.reason, "reason", 512, !review.approve));
    GMPKI_ASSIGN_OR_RETURN(auto row, LoadSubscriber(tx, id));
    if (row.status != kStatusPending) {
      return Error(ErrorCode::kConflict, "subscriber '" + id + "' is " + row.status +
                                             ", not pending review");
    }
    // Four-eyes: the reviewer never entered nor last modified the record (LD/T §7.3.2 审核).
    if (actor.name == row.entered_by || actor.name == row.modified_by) {
      return Error(ErrorCode::kPolicyViolation,
                   "four-eyes rule: '" + actor.name +
                       "' entered or last modified this record and may not review it");
    }
    (*ctx.detail)["reason"] = review.reason;
    std::string status(review.approve ? kStatusApproved : kStatusRejected);
    GMPKI_RETURN_IF_ERROR(tx.Exec("UPDATE ra_subscribers SET status = ?, reviewed_by = ?, "
                                  "review_reason = ?, updated_unix = ? WHERE id = ?",
                                  {status, actor.name, review.reason,
                                   ToUnixSeconds(clock_.Now()), id}));
    GMPKI_ASSIGN_OR_RETURN(row, LoadSubscriber(tx, id));
    GMPKI_ASSIGN_OR_RETURN(out, ToView(row, false));
    return OkStatus();
  }));
  return out;
}

Result<SubscriberView> RaService::GetSubscriber(const services::Actor& actor,
                                                const std::string& id, bool reveal) {
  // A disclosure of personal numbers is its own audited action, refused without kPiiRead.
  if (reveal) {
    if (Status st = services::Authorize(actor, Permission::kPiiRead); !st.ok()) {
      audit::AuditEvent ev{actor.name, std::string(services::RoleName(actor.role)),
                           "ra.subscriber.disclose", "subscriber:" + id, audit::Outcome::kFailure,
                           nlohmann::json{{"ra", settings_.ra_name}}.dump(), clock_.Now(),
                           settings_.node};
      RecordFailure(ev, st.error());
      return st.error();
    }
  }
  SubscriberView out;
  GMPKI_RETURN_IF_ERROR(Run(actor, reveal ? "ra.subscriber.disclose" : "ra.subscriber.read",
                            "subscriber:" + id, Permission::kSubscriberRead, true,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx& ctx) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto row, LoadSubscriber(tx, id));
    GMPKI_ASSIGN_OR_RETURN(out, ToView(row, reveal));
    if (reveal) {
      nlohmann::json fields = nlohmann::json::array();
      if (!row.id_enc.empty()) fields.push_back("id_number");
      if (!row.ssn_enc.empty()) fields.push_back("social_security");
      if (!row.phone_enc.empty()) fields.push_back("phone");
      if (!row.address_enc.empty()) fields.push_back("address");
      (*ctx.detail)["fields"] = fields;
    }
    return OkStatus();
  }));
  return out;
}

Result<std::vector<SubscriberView>> RaService::ListSubscribers(const services::Actor& actor,
                                                               const SubscriberQuery& q) {
  std::vector<SubscriberView> out;
  GMPKI_RETURN_IF_ERROR(Run(actor, "ra.subscriber.search", "", Permission::kSubscriberRead, true,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx& ctx) -> Status {
    GMPKI_RETURN_IF_ERROR(CheckLimitOffset(q.limit, q.offset));
    std::string sql = std::string("SELECT ") + kSubscriberColumns + " FROM ra_subscribers WHERE 1 = 1";
    std::vector<store::Value> params;
    nlohmann::json criteria = nlohmann::json::object();  // masked: audit shows what was asked
    if (q.kind) {
      sql += " AND kind = ?";
      params.push_back(*q.kind);
      criteria["kind"] = *q.kind;
    }
    if (q.status) {
      sql += " AND status = ?";
      params.push_back(*q.status);
      criteria["status"] = *q.status;
    }
    if (q.name_prefix && !q.name_prefix->empty()) {
      // substr and length count characters on both backends, so a Chinese prefix matches exactly
      // (LIKE would differ: case-insensitive on SQLite, case-sensitive on PostgreSQL).
      GMPKI_RETURN_IF_ERROR(Utf8Length(*q.name_prefix));
      sql += " AND substr(name, 1, length(CAST(? AS TEXT))) = ?";
      params.push_back(*q.name_prefix);
      params.push_back(*q.name_prefix);
      criteria["name_prefix"] = *q.name_prefix;
    }
    if (q.id_number || q.id_kind) {
      if (!q.id_number || !q.id_kind) {
        return Error(ErrorCode::kInvalidArgument, "search by ID needs both id_kind and id_number");
      }
      GMPKI_ASSIGN_OR_RETURN(auto kind, pii::ParseIdKind(*q.id_kind));
      GMPKI_ASSIGN_OR_RETURN(auto norm, pii::NormalizeIdentifier(kind, *q.id_number));
      sql += " AND id_kind = ? AND id_index = ?";
      params.push_back(*q.id_kind);
      params.push_back(pii_->BlindIndex(kind, norm));
      criteria["id_number"] = pii::Mask(norm);
    }
    if (q.social_security) {
      GMPKI_ASSIGN_OR_RETURN(auto norm, pii::NormalizeIdentifier(pii::IdKind::kSocialSecurity,
                                                                 *q.social_security));
      sql += " AND ssn_index = ?";
      params.push_back(pii_->BlindIndex(pii::IdKind::kSocialSecurity, norm));
      criteria["social_security"] = pii::Mask(norm);
    }
    if (q.uscc) {
      GMPKI_ASSIGN_OR_RETURN(auto norm, NormalizeUscc(*q.uscc));
      sql += " AND uscc = ?";
      params.push_back(norm);
      criteria["uscc"] = norm;
    }
    sql += " ORDER BY created_unix, id LIMIT ? OFFSET ?";
    params.push_back(static_cast<std::int64_t>(q.limit));
    params.push_back(static_cast<std::int64_t>(q.offset));
    (*ctx.detail)["criteria"] = criteria;
    GMPKI_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, params));
    for (const auto& r : rows) {
      GMPKI_ASSIGN_OR_RETURN(auto row, LoadSubscriber(tx, r.Text(0)));
      GMPKI_ASSIGN_OR_RETURN(auto v, ToView(row, false));
      out.push_back(std::move(v));
    }
    (*ctx.detail)["results"] = out.size();
    return OkStatus();
  }));
  return out;
}

}  // namespace gmpki::ra
