#include "services/ra_batch/batch_json.h"

namespace gmpki::ra_batch::json_form {

using nlohmann::json;

json ToJson(const BatchInfo& b) {
  json j{{"id", b.id},
         {"label", b.label},
         {"state", BatchStateName(b.state)},
         {"ca", b.ca},
         {"profile", b.profile},
         {"submitted_by", b.submitted_by},
         {"counts",
          {{"total", b.counts.total},
           {"pending", b.counts.pending},
           {"issued", b.counts.issued},
           {"failed", b.counts.failed},
           {"duplicate", b.counts.duplicate}}},
         {"progress", b.Progress()},
         {"created", b.created_unix}};
  if (!b.reviewed_by.empty()) j["reviewed_by"] = b.reviewed_by;
  if (!b.reason.empty()) j["reason"] = b.reason;
  if (b.closed_unix) j["closed"] = *b.closed_unix;
  if (b.reviewed_unix) j["reviewed"] = *b.reviewed_unix;
  if (b.done_unix) j["done"] = *b.done_unix;
  return j;
}

Result<BatchInfo> BatchFromJson(const json& j) {
  try {
    BatchInfo b;
    b.id = j.at("id").get<std::string>();
    b.label = j.value("label", "");
    GMPKI_ASSIGN_OR_RETURN(b.state, ParseBatchState(j.at("state").get<std::string>()));
    b.ca = j.value("ca", "");
    b.profile = j.value("profile", "");
    b.submitted_by = j.value("submitted_by", "");
    b.reviewed_by = j.value("reviewed_by", "");
    b.reason = j.value("reason", "");
    const json& c = j.at("counts");
    b.counts = {c.at("total").get<std::int64_t>(), c.at("pending").get<std::int64_t>(),
                c.at("issued").get<std::int64_t>(), c.at("failed").get<std::int64_t>(),
                c.at("duplicate").get<std::int64_t>()};
    b.created_unix = j.value("created", std::int64_t{0});
    if (j.contains("closed")) b.closed_unix = j["closed"].get<std::int64_t>();
    if (j.contains("reviewed")) b.reviewed_unix = j["reviewed"].get<std::int64_t>();
    if (j.contains("done")) b.done_unix = j["done"].get<std::int64_t>();
    return b;
  } catch (const json::exception& e) {
    return Error(ErrorCode::kMalformedInput, std::string("batch JSON: ") + e.what());
  }
}

json ToJson(const AppendReport& r) {
  json errors = json::array();
  for (const auto& e : r.errors) {
    errors.push_back(
        {{"seq", e.seq}, {"request_id", e.request_id}, {"code", e.code}, {"message", e.message}});
  }
  return {{"first_seq", r.first_seq}, {"items", r.items},         {"accepted", r.accepted},
          {"failed", r.failed},       {"duplicate", r.duplicate}, {"next_offset", r.next_offset},
          {"replayed", r.replayed},   {"errors", errors}};
}

Result<AppendReport> ReportFromJson(const json& j) {
  try {
    AppendReport r;
    r.first_seq = j.at("first_seq").get<std::int64_t>();
    r.items = j.at("items").get<std::int64_t>();
    r.accepted = j.at("accepted").get<std::int64_t>();
    r.failed = j.at("failed").get<std::int64_t>();
    r.duplicate = j.at("duplicate").get<std::int64_t>();
    r.next_offset = j.at("next_offset").get<std::int64_t>();
    r.replayed = j.value("replayed", false);
    for (const auto& e : j.value("errors", json::array())) {
      r.errors.push_back({e.at("seq").get<std::int64_t>(), e.value("request_id", ""),
                          e.value("code", ""), e.value("message", "")});
    }
    return r;
  } catch (const json::exception& e) {
    return Error(ErrorCode::kMalformedInput, std::string("append report JSON: ") + e.what());
  }
}

json ToJson(const ItemResult& r) {
  json j{{"seq", r.seq}, {"request_id", r.request_id}, {"status", ItemStatusName(r.status)}};
  if (!r.serial_hex.empty()) j["serial"] = r.serial_hex;
  if (!r.certificate.empty()) j["certificate"] = Base64Encode(r.certificate);
  if (!r.error_code.empty()) j["error"] = {{"code", r.error_code}, {"message", r.error_message}};
  if (r.status == ItemStatus::kDuplicate) {
    j["duplicate_of"] = {{"batch", r.duplicate_of_batch}, {"seq", r.duplicate_of_seq}};
    if (r.original_status) j["original_status"] = ItemStatusName(*r.original_status);
  }
  return j;
}

Result<ItemResult> ResultFromJson(const json& j) {
  try {
    ItemResult r;
    r.seq = j.at("seq").get<std::int64_t>();
    r.request_id = j.value("request_id", "");
    GMPKI_ASSIGN_OR_RETURN(r.status, ParseItemStatus(j.at("status").get<std::string>()));
    r.serial_hex = j.value("serial", "");
    if (j.contains("certificate")) {
      GMPKI_ASSIGN_OR_RETURN(r.certificate, Base64Decode(j["certificate"].get<std::string>()));
    }
    if (j.contains("error")) {
      r.error_code = j["error"].value("code", "");
      r.error_message = j["error"].value("message", "");
    }
    if (j.contains("duplicate_of")) {
      r.duplicate_of_batch = j["duplicate_of"].value("batch", "");
      r.duplicate_of_seq = j["duplicate_of"].value("seq", std::int64_t{0});
    }
    if (j.contains("original_status")) {
      GMPKI_ASSIGN_OR_RETURN(r.original_status,
                             ParseItemStatus(j["original_status"].get<std::string>()));
    }
    return r;
  } catch (const json::exception& e) {
    return Error(ErrorCode::kMalformedInput, std::string("result line JSON: ") + e.what());
  }
}

Error ErrorFromProblem(const net::HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  std::string detail = "HTTP status " + std::to_string(r.status);
  ErrorCode code = ErrorCode::kInternal;
  if (j.is_object()) {
    if (j.contains("detail") && j["detail"].is_string()) detail = j["detail"].get<std::string>();
    std::string type = j.value("type", "");
    std::string slug = type.substr(type.rfind('/') + 1);
    for (int c = 1; c < 256; ++c) {
      const ErrorInfo& info = InfoFor(static_cast<ErrorCode>(c));
      if (info.code == static_cast<ErrorCode>(c) && info.slug == slug) {
        code = info.code;
        break;
      }
    }
  }
  if (code == ErrorCode::kInternal && r.status == 401) code = ErrorCode::kUnauthenticated;
  if (code == ErrorCode::kInternal && r.status == 413) code = ErrorCode::kTooLarge;
  return Error(code, detail);
}

}  // namespace gmpki::ra_batch::json_form
