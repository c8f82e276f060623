#include "services/ca/ra_trust.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "audit/audit.h"
#include "crypto/sm2.h"
#include "crypto/sm3.h"
#include "services/ca/ra_protocol.h"
#include "services/core/audit_event.h"
#include "services/core/config.h"
#include "x509/certificate.h"

namespace gmpki::ca {
namespace {

using nlohmann::json;
using services::Actor;
using services::Permission;

// Threads per issue-many request: enough to fill the CA's group commit, few enough that many
// RAs' batches at once do not start thousands of threads.
constexpr std::size_t kIssueManyThreads = 16;

constexpr const char* kRaColumns =
    "name, status, sign_ca, sign_serial, sign_cert, tls_fingerprint, cas, profiles, enrolled_by, "
    "created_unix, updated_unix";

Result<std::vector<std::string>> ParseList(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_array()) return Error(ErrorCode::kIntegrityFailure, "stored RA authorisation is not a list");
  return j.get<std::vector<std::string>>();
}

Result<RaSystem> RowToRa(const store::Row& r) {
  RaSystem s;
  s.name = r.Text(0);
  s.status = r.Text(1);
  s.sign_ca = r.Text(2);
  s.sign_serial = r.Text(3);
  s.sign_cert_der = r.Blob(4);
  s.tls_fingerprint = r.Text(5);
  GMPKI_ASSIGN_OR_RETURN(s.cas, ParseList(r.Text(6)));
  GMPKI_ASSIGN_OR_RETURN(s.profiles, ParseList(r.Text(7)));
  s.enrolled_by = r.Text(8);
  s.created_unix = r.Int(9);
  s.updated_unix = r.Int(10);
  return s;
}

template <class T>
Status AsStatus(const Result<T>& r) {
  if (!r.ok()) return r.error();
  return OkStatus();
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

Status ValidateLists(const std::vector<std::string>& cas, const std::vector<std::string>& profiles) {
  if (cas.empty()) return Error(ErrorCode::kInvalidArgument, "authorise at least one CA");
  if (profiles.empty()) return Error(ErrorCode::kInvalidArgument, "authorise at least one profile");
  for (const auto& p : profiles) GMPKI_RETURN_IF_ERROR(FindProfile(p));
  return OkStatus();
}

audit::AuditEvent Event(const Actor& a, std::string action, std::string object, const std::string& node,
                        const Clock& clock) {
  return services::ActorEvent(a, std::move(action), std::move(object), node, clock.Now());
}

}  // namespace

RaTrust::RaTrust(store::Database& db, CaService& ca, const Clock& clock, std::string node)
    : db_(db), ca_(ca), clock_(clock), node_(std::move(node)), committer_(db) {}

Result<RaSystem> RaTrust::Load(store::Transaction& tx, std::string_view column, const std::string& value) {
  GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne(std::string("SELECT ") + kRaColumns +
                                                   " FROM ca_ra_systems WHERE " + std::string(column) + " = ?",
                                               {value}));
  if (!row) return Error(ErrorCode::kNotFound, "no registration system " + std::string(column) + " '" + value + "'");
  return RowToRa(*row);
}

Result<RaSystem> RaTrust::Enrol(const Actor& actor, const RaEnrolment& e) {
  auto ev = Event(actor, "ra.enrol", "ra:" + e.name, node_, clock_);
  auto fail = [&](const Error& err) -> Error {
    (void)audit::RecordRefusal(db_, ev, err);
    return err;
  };
  if (auto st = services::Authorize(actor, Permission::kRaManage); !st.ok()) return fail(st.error());
  if (!services::IsValidRaName(e.name)) {
    return fail(Error(ErrorCode::kInvalidArgument, "RA name must be 1..64 of a-z, 0-9 and '-'"));
  }
  if (auto st = ValidateLists(e.cas, e.profiles); !st.ok()) return fail(st.error());
  bool fp_ok = e.tls_fingerprint.size() == 64 &&
               std::all_of(e.tls_fingerprint.begin(), e.tls_fingerprint.end(),
                           [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (!fp_ok) return fail(Error(ErrorCode::kInvalidArgument, "TLS fingerprint must be 64 lower-case hex digits (SM3)"));
  auto cert = x509::Certificate::Parse(e.sign_cert);
  if (!cert.ok()) return fail(cert.error());
  RaSystem ra;
  ra.name = e.name;
  ra.status = "active";
  ra.sign_serial = cert->serial_hex();
  ra.sign_cert_der = cert->der();
  ra.tls_fingerprint = e.tls_fingerprint;
  ra.cas = e.cas;
  ra.profiles = e.profiles;
  ra.enrolled_by = actor.name;
  ra.created_unix = ra.updated_unix = ToUnixSeconds(clock_.Now());
  ev.detail = json{{"cas", e.cas}, {"profiles", e.profiles}, {"tls_fingerprint", e.tls_fingerprint}}.dump();
  Status st = audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    for (const auto& c : e.cas) {
      GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT status FROM cas WHERE name = ?", {c}));
      if (!row) return Error(ErrorCode::kNotFound, "no CA '" + c + "'");
    }
    // The signing certificate must be one we issued, still good, for a device key.
    GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT ca, status, profile, der FROM certificates "
                                                 "WHERE serial_hex = ? AND der = ?",
                                                 {ra.sign_serial, ra.sign_cert_der}));
    if (!row) {
      return Error(ErrorCode::kFailedPrecondition,
                   "the RA signing certificate was not issued by a CA of this deployment");
    }
    if (row->Text(1) != "good") {
      return Error(ErrorCode::kFailedPrecondition, "the RA signing certificate is " + row->Text(1));
    }
    if (row->Text(2) != "device-sign") {
      return Error(ErrorCode::kPolicyViolation,
                   "the RA signing certificate must have profile device-sign, not " + row->Text(2));
    }
    ra.sign_ca = row->Text(0);
    auto ins = tx.Exec(std::string("INSERT INTO ca_ra_systems (") + kRaColumns +
                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       {ra.name, ra.status, ra.sign_ca, ra.sign_serial, ra.sign_cert_der,
                        ra.tls_fingerprint, json(ra.cas).dump(), json(ra.profiles).dump(),
                        ra.enrolled_by, ra.created_unix, ra.updated_unix});
    if (!ins.ok() && ins.error().code() == ErrorCode::kAlreadyExists) {
      return Error(ErrorCode::kAlreadyExists,
                   "a registration system named '" + ra.name + "' or with this TLS certificate exists");
    }
    return AsStatus(ins);
  });
  if (!st.ok()) return st.error();
  return ra;
}

Result<RaSystem> RaTrust::Authorise(const Actor& actor, const std::string& name,
                                    const std::vector<std::string>& cas,
                                    const std::vector<std::string>& profiles) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kRaManage));
  GMPKI_RETURN_IF_ERROR(ValidateLists(cas, profiles));
  auto ev = Event(actor, "ra.authorise", "ra:" + name, node_, clock_);
  ev.detail = json{{"cas", cas}, {"profiles", profiles}}.dump();
  RaSystem out;
  GMPKI_RETURN_IF_ERROR(audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    for (const auto& c : cas) {
      GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT status FROM cas WHERE name = ?", {c}));
      if (!row) return Error(ErrorCode::kNotFound, "no CA '" + c + "'");
    }
    GMPKI_ASSIGN_OR_RETURN(auto n, tx.Exec("UPDATE ca_ra_systems SET cas = ?, profiles = ?, updated_unix = ? "
                                           "WHERE name = ?",
                                           {json(cas).dump(), json(profiles).dump(),
                                            ToUnixSeconds(clock_.Now()), name}));
    if (n == 0) return Error(ErrorCode::kNotFound, "no registration system '" + name + "'");
    GMPKI_ASSIGN_OR_RETURN(out, Load(tx, "name", name));
    return OkStatus();
  }));
  return out;
}

Status RaTrust::ChangeStatus(const Actor& actor, const std::string& name, const char* to) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kRaManage));
  auto ev = Event(actor, std::string("ra.") + (std::string(to) == "active" ? "resume" : "suspend"),
                  "ra:" + name, node_, clock_);
  return audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto ra, Load(tx, "name", name));
    if (ra.status == to) return Error(ErrorCode::kConflict, "registration system '" + name + "' is already " + to);
    return AsStatus(tx.Exec("UPDATE ca_ra_systems SET status = ?, updated_unix = ? WHERE name = ?",
                            {std::string(to), ToUnixSeconds(clock_.Now()), name}));
  });
}

Status RaTrust::Suspend(const Actor& actor, const std::string& name) { return ChangeStatus(actor, name, "suspended"); }
Status RaTrust::Resume(const Actor& actor, const std::string& name) { return ChangeStatus(actor, name, "active"); }

Result<std::vector<RaSystem>> RaTrust::List(const Actor& actor) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kRaManage));
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto rows, tx->Query(std::string("SELECT ") + kRaColumns + " FROM ca_ra_systems ORDER BY name"));
  std::vector<RaSystem> out;
  for (const auto& r : rows) {
    GMPKI_ASSIGN_OR_RETURN(auto s, RowToRa(r));
    out.push_back(std::move(s));
  }
  return out;
}

Result<RaSystem> RaTrust::Get(const Actor& actor, const std::string& name) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kRaManage));
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  return Load(*tx, "name", name);
}

Status RaTrust::Authorised(const RaSystem& ra, const std::string& ca, const std::string* profile) const {
  if (!Contains(ra.cas, ca)) {
    return Error(ErrorCode::kPermissionDenied,
                 "registration system '" + ra.name + "' is not authorised for CA '" + ca + "'");
  }
  if (profile && !Contains(ra.profiles, *profile)) {
    return Error(ErrorCode::kPermissionDenied, "registration system '" + ra.name +
                                                   "' is not authorised for profile '" + *profile + "'");
  }
  return OkStatus();
}

Result<json> RaTrust::Execute(const RaSystem& ra, const std::string& op, const std::string& request_id,
                              const json& args) {
  Actor actor{"ra:" + ra.name, services::Role::kRaSystem};
  auto str = [&](const char* k) -> Result<std::string> {
    if (!args.contains(k) || !args[k].is_string()) {
      return Error(ErrorCode::kMalformedInput, std::string("argument '") + k + "' must be a string");
    }
    return args[k].get<std::string>();
  };
  auto issued_json = [](const IssuedCertificate& c) { return ralink::CertRecordToJson(c.record); };
  if (op == "issue") {
    GMPKI_ASSIGN_OR_RETURN(auto req, ralink::IssueRequestFromJson(args));
    GMPKI_RETURN_IF_ERROR(Authorised(ra, req.ca, &req.profile));
    req.request_key = "ra:" + ra.name + ":" + request_id;
    GMPKI_ASSIGN_OR_RETURN(auto c, ca_.Issue(actor, req));
    return json{{"result", issued_json(c)}};
  }
  if (op == "issue-many") {
    if (!args.contains("items") || !args["items"].is_array()) {
      return Error(ErrorCode::kMalformedInput, "argument 'items' must be an array");
    }
    const json& items = args["items"];
    if (items.size() > ralink::kMaxItemsPerRequest) {
      return Error(ErrorCode::kTooLarge, "at most " + std::to_string(ralink::kMaxItemsPerRequest) +
                                             " items per request");
    }
    // Items run concurrently on a bounded set of threads, so that the CA's group commit stores
    // many with one durable write without a thread per item.
    auto one = [&](const json& item) -> json {
      auto r = [&]() -> Result<json> {
        if (!item.is_object() || !item.contains("request_id") || !item["request_id"].is_string() ||
            !item.contains("request")) {
          return Error(ErrorCode::kMalformedInput, "each item needs 'request_id' and 'request'");
        }
        GMPKI_ASSIGN_OR_RETURN(auto req, ralink::IssueRequestFromJson(item["request"]));
        GMPKI_RETURN_IF_ERROR(Authorised(ra, req.ca, &req.profile));
        req.request_key = "ra:" + ra.name + ":" + item["request_id"].get<std::string>();
        GMPKI_ASSIGN_OR_RETURN(auto c, ca_.Issue(actor, req));
        return json{{"certificate", issued_json(c)}};
      }();
      if (!r.ok()) return json{{"error", ralink::ErrorToJson(r.error())}};
      return std::move(r).value();
    };
    std::vector<json> out(items.size());
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
      for (std::size_t i = next++; i < items.size(); i = next++) out[i] = one(items[i]);
    };
    std::size_t n_threads = std::min<std::size_t>(kIssueManyThreads, items.size());
    std::vector<std::thread> threads;
    threads.reserve(n_threads);
    for (std::size_t t = 1; t < n_threads; ++t) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    return json{{"results", json(std::move(out))}};
  }
  if (op == "renew" || op == "revoke" || op == "get-cert") {
    GMPKI_ASSIGN_OR_RETURN(auto ca, str("ca"));
    GMPKI_ASSIGN_OR_RETURN(auto serial, str("serial"));
    GMPKI_RETURN_IF_ERROR(Authorised(ra, ca, nullptr));
    GMPKI_ASSIGN_OR_RETURN(auto rec, ca_.GetCertificate(actor, ca, serial));
    if (op == "get-cert") return json{{"result", ralink::CertRecordToJson(rec)}};
    // An RA renews and revokes only what it may request.
    GMPKI_RETURN_IF_ERROR(Authorised(ra, ca, &rec.profile));
    if (op == "renew") {
      std::optional<int> days;
      if (args.contains("validity_days") && args["validity_days"].is_number_integer()) {
        days = args["validity_days"].get<int>();
      }
      GMPKI_ASSIGN_OR_RETURN(auto c, ca_.Renew(actor, ca, serial, days, "ra:" + ra.name + ":" + request_id));
      return json{{"result", issued_json(c)}};
    }
    if (!args.contains("reason") || !args["reason"].is_number_integer()) {
      return Error(ErrorCode::kMalformedInput, "argument 'reason' must be an integer (RFC 5280 CRLReason)");
    }
    auto reason = static_cast<x509::RevocationReason>(args["reason"].get<int>());
    GMPKI_RETURN_IF_ERROR(ca_.RevokeOnce(actor, ca, serial, reason));
    return json{{"result", json{{"revoked", true}}}};
  }
  if (op == "issue-enc") {
    // Dual certificates (LD/T 02.1 §7.3.2): the same authorisation as "issue" for the
    // encryption profile, and the signing certificate it pairs with must be of a profile this RA
    // may request, so an RA cannot obtain keys for subscribers of other registration systems'
    // profiles.
    GMPKI_ASSIGN_OR_RETURN(auto req, ralink::EncryptionIssueRequestFromJson(args));
    GMPKI_RETURN_IF_ERROR(Authorised(ra, req.ca, &req.profile));
    GMPKI_ASSIGN_OR_RETURN(auto sign, ca_.GetCertificate(actor, req.ca, req.sign_serial));
    GMPKI_RETURN_IF_ERROR(Authorised(ra, req.ca, &sign.profile));
    if (!req.replaces_serial.empty()) {
      GMPKI_ASSIGN_OR_RETURN(auto old, ca_.GetCertificate(actor, req.ca, req.replaces_serial));
      GMPKI_RETURN_IF_ERROR(Authorised(ra, req.ca, &old.profile));
    }
    req.request_key = "ra:" + ra.name + ":" + request_id;
    GMPKI_ASSIGN_OR_RETURN(auto dual, ca_.IssueEncryption(actor, req));
    return json{{"result", ralink::DualIssuedToJson(dual)}};
  }
  if (op == "recover-enc-key") {
    // Subscriber key recovery after the RA's identity checks: the RA needs the CA, and as for
    // renew and revoke, only certificates of profiles it may request.
    GMPKI_ASSIGN_OR_RETURN(auto ca, str("ca"));
    GMPKI_ASSIGN_OR_RETURN(auto enc_serial, str("enc_serial"));
    GMPKI_ASSIGN_OR_RETURN(auto sign_serial, str("sign_serial"));
    GMPKI_RETURN_IF_ERROR(Authorised(ra, ca, nullptr));
    GMPKI_ASSIGN_OR_RETURN(auto enc, ca_.GetCertificate(actor, ca, enc_serial));
    GMPKI_RETURN_IF_ERROR(Authorised(ra, ca, &enc.profile));
    GMPKI_ASSIGN_OR_RETURN(auto sign, ca_.GetCertificate(actor, ca, sign_serial));
    GMPKI_RETURN_IF_ERROR(Authorised(ra, ca, &sign.profile));
    GMPKI_ASSIGN_OR_RETURN(auto d, ca_.RecoverEncryptionKey(actor, ca, enc_serial, sign_serial,
                                                            "ra:" + ra.name + ":" + request_id));
    return json{{"result", ralink::KmKeyDeliveryToJson(d)}};
  }
  if (op == "ca-chain") {
    GMPKI_ASSIGN_OR_RETURN(auto ca, str("ca"));
    GMPKI_RETURN_IF_ERROR(Authorised(ra, ca, nullptr));
    GMPKI_ASSIGN_OR_RETURN(auto chain, ca_.CaChain(ca));
    json arr = json::array();
    for (const auto& c : chain) arr.push_back(Base64Encode(c.der()));
    return json{{"result", arr}};
  }
  return Error(ErrorCode::kUnsupported, "unknown RA operation '" + op + "'");
}

Result<json> RaTrust::Handle(const std::string& tls_fingerprint, std::string_view body) {
  GMPKI_ASSIGN_OR_RETURN(auto env, ralink::DecodeEnvelope(body));
  RaSystem ra;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    auto loaded = Load(*tx, "tls_fingerprint", tls_fingerprint);
    if (!loaded.ok()) {
      if (loaded.error().code() == ErrorCode::kNotFound) {
        return Error(ErrorCode::kUnauthenticated, "the TLS client certificate is not that of an enrolled "
                                                  "registration system");
      }
      return loaded.error();
    }
    ra = std::move(*loaded);
    // The signing certificate must still be good (a revoked RA key signs nothing).
    GMPKI_ASSIGN_OR_RETURN(auto row, tx->QueryOne("SELECT status FROM certificates WHERE ca = ? AND serial_hex = ?",
                                                  {ra.sign_ca, ra.sign_serial}));
    if (!row || row->Text(0) != "good") {
      return Error(ErrorCode::kFailedPrecondition,
                   "the signing certificate of registration system '" + ra.name + "' is no longer good");
    }
  }
  if (ra.status != "active") {
    return Error(ErrorCode::kPermissionDenied, "registration system '" + ra.name + "' is " + ra.status);
  }
  GMPKI_ASSIGN_OR_RETURN(auto cert, x509::Certificate::FromDer(ra.sign_cert_der));
  if (!crypto::Sm2Verify(cert.public_key(), AsBytes(crypto::kDefaultSm2Id), AsBytes(env.payload), env.signature)
           .ok()) {
    return Error(ErrorCode::kBadSignature, "the request's signature does not verify with the signing "
                                           "certificate of registration system '" + ra.name + "'");
  }
  json p = json::parse(env.payload, nullptr, false);
  if (p.is_discarded() || !p.is_object() || !p.contains("ra") || !p["ra"].is_string() ||
      !p.contains("request_id") || !p["request_id"].is_string() || !p.contains("op") ||
      !p["op"].is_string() || !p.contains("created_ms") || !p["created_ms"].is_number_integer() ||
      !p.contains("args")) {
    return Error(ErrorCode::kMalformedInput, "the signed payload lacks ra, request_id, op, created_ms or args");
  }
  if (p["ra"].get<std::string>() != ra.name) {
    return Error(ErrorCode::kUnauthenticated, "the payload names another registration system");
  }
  std::string request_id = p["request_id"].get<std::string>();
  std::string op = p["op"].get<std::string>();
  std::int64_t created = p["created_ms"].get<std::int64_t>();
  std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch()).count();
  if (created < now_ms - ralink::kMaxSkewMs || created > now_ms + ralink::kMaxSkewMs) {
    return Error(ErrorCode::kFailedPrecondition,
                 "request " + request_id + " expired: created " + std::to_string((now_ms - created) / 1000) +
                     " s from the CA's clock (at most " + std::to_string(ralink::kMaxSkewMs / 1000) + " s)");
  }
  if (request_id.empty() || request_id.size() > 128) {
    return Error(ErrorCode::kInvalidArgument, "request ID must be 1..128 characters");
  }
  const bool reads = op == "get-cert" || op == "ca-chain";
  std::string args_hash = HexEncode(crypto::Sm3(AsBytes(op + "\n" + p["args"].dump())));
  if (reads) return Execute(ra, op, request_id, p["args"]);
  // Evidence first: the signed request as received is stored before anything is executed, so
  // nothing happens on an RA's behalf without its signed request on record. A request ID names
  // one request: reused for other arguments it is refused; resubmitted, it runs again (every
  // operation is idempotent) and the first payload and signature are kept.
  // Both writes go through the group committer: many RAs' requests share one durable commit.
  Status recorded = committer_.Run([&](store::Transaction& tx) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT args_sm3 FROM ca_ra_requests WHERE ra = ? AND request_id = ?",
                                                 {ra.name, request_id}));
    if (row && row->Text(0) != args_hash) {
      return Error(ErrorCode::kConflict, "request ID '" + request_id + "' was used for another request");
    }
    if (row) return OkStatus();
    return AsStatus(tx.Exec("INSERT INTO ca_ra_requests (ra, request_id, op, args_sm3, created_ms, "
                            "received_unix, payload, signature, outcome, error) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'received', '')",
                            {ra.name, request_id, op, args_hash, created, ToUnixSeconds(clock_.Now()),
                             ToBytes(env.payload), env.signature}));
  });
  GMPKI_RETURN_IF_ERROR(recorded);
  auto result = Execute(ra, op, request_id, p["args"]);
  // The outcome; if this write fails the request stays "received" and the CA's own audit
  // record of the operation tells what happened.
  std::string outcome = result.ok() ? "success" : "failure";
  std::string error = result.ok() ? "" : result.error().ToString();
  (void)committer_.Run([&](store::Transaction& tx) -> Status {
    return AsStatus(tx.Exec("UPDATE ca_ra_requests SET outcome = ?, error = ? WHERE ra = ? AND request_id = ?",
                            {outcome, error, ra.name, request_id}));
  });
  return result;
}

}  // namespace gmpki::ca
