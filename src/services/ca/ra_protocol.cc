#include "services/ca/ra_protocol.h"

#include "x509/pem.h"

namespace gmpki::ca::ralink {
namespace {
using nlohmann::json;

template <class T>
Result<T> Get(const json& j, const char* key) {
  if (!j.contains(key)) return Error(ErrorCode::kMalformedInput, std::string("missing field '") + key + "'");
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    return Error(ErrorCode::kMalformedInput, std::string("field '") + key + "' has the wrong type");
  }
}

void PutOpt(json& j, const char* key, const std::optional<std::string>& v) {
  if (v) j[key] = *v;
}
Result<std::optional<std::string>> GetOpt(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::optional<std::string>();
  if (!j[key].is_string()) {
    return Error(ErrorCode::kMalformedInput, std::string("field '") + key + "' must be a string");
  }
  return std::optional<std::string>(j[key].get<std::string>());
}
}  // namespace

std::string EncodeEnvelope(const Envelope& e) {
  return json{{"payload", Base64Encode(AsBytes(e.payload))}, {"signature", Base64Encode(e.signature)}}
      .dump();
}

Result<Envelope> DecodeEnvelope(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(ErrorCode::kMalformedInput, "RA request body must be a JSON object");
  }
  GMPKI_ASSIGN_OR_RETURN(auto p64, Get<std::string>(j, "payload"));
  GMPKI_ASSIGN_OR_RETURN(auto s64, Get<std::string>(j, "signature"));
  Envelope e;
  auto p = Base64Decode(p64);
  auto s = Base64Decode(s64);
  if (!p.ok() || !s.ok()) return Error(ErrorCode::kMalformedInput, "RA request: payload or signature is not base64");
  e.payload = ToString(*p);
  e.signature = std::move(*s);
  return e;
}

json IssueRequestToJson(const IssueRequest& r) {
  json id = json::object();
  PutOpt(id, "resident_id", r.identity.resident_id);
  PutOpt(id, "passport", r.identity.passport);
  PutOpt(id, "insurance_number", r.identity.insurance_number);
  PutOpt(id, "organization_code", r.identity.organization_code);
  PutOpt(id, "uscc", r.identity.uscc);
  PutOpt(id, "ic_registration", r.identity.ic_registration);
  PutOpt(id, "tax_number", r.identity.tax_number);
  json j{{"ca", r.ca}, {"profile", r.profile}, {"csr", Base64Encode(r.csr)}, {"identity", id},
         {"emails", r.emails}, {"dns_names", r.dns_names}};
  if (r.validity_days) j["validity_days"] = *r.validity_days;
  return j;
}

Result<IssueRequest> IssueRequestFromJson(const json& j) {
  if (!j.is_object()) return Error(ErrorCode::kMalformedInput, "issue arguments must be an object");
  IssueRequest r;
  GMPKI_ASSIGN_OR_RETURN(r.ca, Get<std::string>(j, "ca"));
  GMPKI_ASSIGN_OR_RETURN(r.profile, Get<std::string>(j, "profile"));
  GMPKI_ASSIGN_OR_RETURN(auto csr64, Get<std::string>(j, "csr"));
  auto csr = Base64Decode(csr64);
  if (!csr.ok()) return Error(ErrorCode::kMalformedInput, "field 'csr' is not base64");
  r.csr = std::move(*csr);
  if (j.contains("validity_days")) {
    GMPKI_ASSIGN_OR_RETURN(int d, Get<int>(j, "validity_days"));
    r.validity_days = d;
  }
  if (j.contains("emails")) {
    GMPKI_ASSIGN_OR_RETURN(r.emails, (Get<std::vector<std::string>>(j, "emails")));
  }
  if (j.contains("dns_names")) {
    GMPKI_ASSIGN_OR_RETURN(r.dns_names, (Get<std::vector<std::string>>(j, "dns_names")));
  }
  if (j.contains("identity")) {
    const json& id = j["identity"];
    if (!id.is_object()) return Error(ErrorCode::kMalformedInput, "'identity' must be an object");
    GMPKI_ASSIGN_OR_RETURN(r.identity.resident_id, GetOpt(id, "resident_id"));
    GMPKI_ASSIGN_OR_RETURN(r.identity.passport, GetOpt(id, "passport"));
    GMPKI_ASSIGN_OR_RETURN(r.identity.insurance_number, GetOpt(id, "insurance_number"));
    GMPKI_ASSIGN_OR_RETURN(r.identity.organization_code, GetOpt(id, "organization_code"));
    GMPKI_ASSIGN_OR_RETURN(r.identity.uscc, GetOpt(id, "uscc"));
    GMPKI_ASSIGN_OR_RETURN(r.identity.ic_registration, GetOpt(id, "ic_registration"));
    GMPKI_ASSIGN_OR_RETURN(r.identity.tax_number, GetOpt(id, "tax_number"));
  }
  return r;
}

json CertRecordToJson(const CertRecord& c) {
  json j{{"ca", c.ca},           {"serial", c.serial_hex},   {"subject", c.subject},
         {"profile", c.profile}, {"status", c.status},       {"not_before", c.not_before},
         {"not_after", c.not_after}, {"issued", c.issued_unix}, {"requested_by", c.requested_by},
         {"der", Base64Encode(c.der)}};
  if (c.revocation_reason) j["reason"] = *c.revocation_reason;
  if (c.revoked_unix) j["revoked"] = *c.revoked_unix;
  return j;
}

Result<CertRecord> CertRecordFromJson(const json& j) {
  if (!j.is_object()) return Error(ErrorCode::kMalformedInput, "certificate record must be an object");
  CertRecord c;
  GMPKI_ASSIGN_OR_RETURN(c.ca, Get<std::string>(j, "ca"));
  GMPKI_ASSIGN_OR_RETURN(c.serial_hex, Get<std::string>(j, "serial"));
  GMPKI_ASSIGN_OR_RETURN(c.subject, Get<std::string>(j, "subject"));
  GMPKI_ASSIGN_OR_RETURN(c.profile, Get<std::string>(j, "profile"));
  GMPKI_ASSIGN_OR_RETURN(c.status, Get<std::string>(j, "status"));
  GMPKI_ASSIGN_OR_RETURN(c.not_before, Get<std::int64_t>(j, "not_before"));
  GMPKI_ASSIGN_OR_RETURN(c.not_after, Get<std::int64_t>(j, "not_after"));
  GMPKI_ASSIGN_OR_RETURN(c.issued_unix, Get<std::int64_t>(j, "issued"));
  GMPKI_ASSIGN_OR_RETURN(c.requested_by, Get<std::string>(j, "requested_by"));
  GMPKI_ASSIGN_OR_RETURN(auto der64, Get<std::string>(j, "der"));
  auto der = Base64Decode(der64);
  if (!der.ok()) return Error(ErrorCode::kMalformedInput, "certificate is not base64");
  c.der = std::move(*der);
  if (j.contains("reason")) {
    GMPKI_ASSIGN_OR_RETURN(c.revocation_reason, Get<int>(j, "reason"));
  }
  if (j.contains("revoked")) {
    GMPKI_ASSIGN_OR_RETURN(c.revoked_unix, Get<std::int64_t>(j, "revoked"));
  }
  return c;
}

json EncryptionIssueRequestToJson(const EncryptionIssueRequest& r) {
  json j{{"ca", r.ca}, {"sign_serial", r.sign_serial}, {"profile", r.profile}};
  if (r.validity_days) j["validity_days"] = *r.validity_days;
  if (!r.replaces_serial.empty()) j["replaces_serial"] = r.replaces_serial;
  return j;
}

Result<EncryptionIssueRequest> EncryptionIssueRequestFromJson(const json& j) {
  if (!j.is_object()) return Error(ErrorCode::kMalformedInput, "issue-enc arguments must be an object");
  EncryptionIssueRequest r;
  GMPKI_ASSIGN_OR_RETURN(r.ca, Get<std::string>(j, "ca"));
  GMPKI_ASSIGN_OR_RETURN(r.sign_serial, Get<std::string>(j, "sign_serial"));
  GMPKI_ASSIGN_OR_RETURN(r.profile, Get<std::string>(j, "profile"));
  if (j.contains("validity_days")) {
    GMPKI_ASSIGN_OR_RETURN(int d, Get<int>(j, "validity_days"));
    r.validity_days = d;
  }
  GMPKI_ASSIGN_OR_RETURN(auto replaces, GetOpt(j, "replaces_serial"));
  r.replaces_serial = replaces.value_or("");
  return r;
}

json KmKeyDeliveryToJson(const KmKeyDelivery& d) {
  return json{{"key_id", d.key_id},
              {"enc_public_key", HexEncode(d.enc_public_key.point())},
              {"skf_blob", Base64Encode(d.skf_blob)},
              {"sm2_enveloped_key", Base64Encode(d.sm2_enveloped_key)},
              {"enveloped_data", Base64Encode(d.enveloped_data)}};
}

Result<KmKeyDelivery> KmKeyDeliveryFromJson(const json& j) {
  if (!j.is_object()) return Error(ErrorCode::kMalformedInput, "key delivery must be an object");
  KmKeyDelivery d;
  GMPKI_ASSIGN_OR_RETURN(d.key_id, Get<std::string>(j, "key_id"));
  GMPKI_ASSIGN_OR_RETURN(auto point_hex, Get<std::string>(j, "enc_public_key"));
  auto point = HexDecode(point_hex);
  if (!point.ok()) return Error(ErrorCode::kMalformedInput, "field 'enc_public_key' is not hex");
  GMPKI_ASSIGN_OR_RETURN(d.enc_public_key, crypto::Sm2PublicKey::FromPoint(*point));
  for (auto [key, out] : {std::pair{"skf_blob", &d.skf_blob}, {"sm2_enveloped_key", &d.sm2_enveloped_key},
                          {"enveloped_data", &d.enveloped_data}}) {
    GMPKI_ASSIGN_OR_RETURN(auto b64, Get<std::string>(j, key));
    auto bytes = Base64Decode(b64);
    if (!bytes.ok()) return Error(ErrorCode::kMalformedInput, std::string("field '") + key + "' is not base64");
    *out = std::move(*bytes);
  }
  return d;
}

json DualIssuedToJson(const DualIssued& d) {
  return json{{"certificate", CertRecordToJson(d.certificate.record)},
              {"delivery", KmKeyDeliveryToJson(d.delivery)}};
}

Result<DualIssued> DualIssuedFromJson(const json& j) {
  if (!j.is_object() || !j.contains("certificate") || !j.contains("delivery")) {
    return Error(ErrorCode::kMalformedInput, "issue-enc answer needs 'certificate' and 'delivery'");
  }
  DualIssued out;
  GMPKI_ASSIGN_OR_RETURN(out.certificate.record, CertRecordFromJson(j["certificate"]));
  out.certificate.pem = x509::PemEncode(x509::kPemCertificate, out.certificate.record.der);
  GMPKI_ASSIGN_OR_RETURN(out.delivery, KmKeyDeliveryFromJson(j["delivery"]));
  return out;
}

json ErrorToJson(const Error& e) {
  return json{{"code", static_cast<int>(e.code())}, {"slug", std::string(e.info().slug)}, {"message", e.message()}};
}

Error ErrorFromJson(const json& j) {
  if (!j.is_object() || !j.contains("code") || !j["code"].is_number_integer()) {
    return Error(ErrorCode::kMalformedInput, "malformed error in the CA's answer");
  }
  int code = j["code"].get<int>();
  std::string msg = j.contains("message") && j["message"].is_string() ? j["message"].get<std::string>() : "";
  if (code <= 0 || code > static_cast<int>(ErrorCode::kPolicyViolation)) return Error(ErrorCode::kInternal, msg);
  return Error(static_cast<ErrorCode>(code), msg);
}

ErrorCode CodeFromSlug(std::string_view slug) {
  for (int c = 1; c <= static_cast<int>(ErrorCode::kPolicyViolation); ++c) {
    if (InfoFor(static_cast<ErrorCode>(c)).slug == slug) return static_cast<ErrorCode>(c);
  }
  return ErrorCode::kInternal;
}

}  // namespace gmpki::ca::ralink
