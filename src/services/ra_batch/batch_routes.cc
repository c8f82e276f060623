#include "services/ra_batch/batch_routes.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "services/core/operator_api.h"
#include "services/ra_batch/batch_json.h"

namespace gmpki::ra_batch {
namespace {

using net::HttpRequest;
using net::HttpResponse;
using net::PathParams;
using nlohmann::json;

Result<json> Body(const HttpRequest& r) { return services::JsonObjectBody(r); }

Result<std::string> Text(const json& j, const char* key, bool required) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required)
      return Error(ErrorCode::kInvalidArgument, std::string("field '") + key + "' is required");
    return std::string();
  }
  if (!j[key].is_string()) {
    return Error(ErrorCode::kInvalidArgument, std::string("field '") + key + "' must be a string");
  }
  return j[key].get<std::string>();
}

Result<std::optional<std::int64_t>> QueryInt(const HttpRequest& r, const char* key) {
  auto it = r.query.find(key);
  if (it == r.query.end()) return std::optional<std::int64_t>();
  std::int64_t v = 0;
  const std::string& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return Error(ErrorCode::kInvalidArgument, std::string("'") + key + "' must be an integer");
  }
  return std::optional<std::int64_t>(v);
}

net::Handler Api(const BatchApiDeps& d, services::OperatorOp op) {
  return services::OperatorHandler(*d.operators, std::move(op));
}

}  // namespace

Status AddBatchRoutes(net::Router& router, const BatchApiDeps& d) {
  if (d.service == nullptr || d.operators == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "batch routes need the service and the operators");
  }
  BatchService& svc = *d.service;
  const std::string base = "/api/v1/ra/batches";
  GMPKI_RETURN_IF_ERROR(
      router.Add("POST", base, Api(d, [&svc](auto& a, auto& r, auto&) -> Result<HttpResponse> {
                   GMPKI_ASSIGN_OR_RETURN(auto body, Body(r));
                   CreateBatchRequest req;
                   GMPKI_ASSIGN_OR_RETURN(req.ca, Text(body, "ca", true));
                   GMPKI_ASSIGN_OR_RETURN(req.profile, Text(body, "profile", true));
                   GMPKI_ASSIGN_OR_RETURN(req.label, Text(body, "label", false));
                   GMPKI_ASSIGN_OR_RETURN(auto b, svc.Create(a, req));
                   return net::JsonResponse(201, json_form::ToJson(b));
                 })));
  GMPKI_RETURN_IF_ERROR(
      router.Add("GET", base, Api(d, [&svc](auto& a, auto& r, auto&) -> Result<HttpResponse> {
                   BatchQuery q;
                   if (auto it = r.query.find("state"); it != r.query.end()) {
                     GMPKI_ASSIGN_OR_RETURN(q.state, ParseBatchState(it->second));
                   }
                   GMPKI_ASSIGN_OR_RETURN(auto limit, QueryInt(r, "limit"));
                   GMPKI_ASSIGN_OR_RETURN(auto offset, QueryInt(r, "offset"));
                   if (limit)
                     q.limit = static_cast<int>(std::clamp<std::int64_t>(*limit, -1, 1001));
                   if (offset)
                     q.offset = static_cast<int>(std::clamp<std::int64_t>(*offset, -1, 1 << 30));
                   GMPKI_ASSIGN_OR_RETURN(auto list, svc.List(a, q));
                   json arr = json::array();
                   for (const auto& b : list) arr.push_back(json_form::ToJson(b));
                   return net::JsonResponse(200, arr);
                 })));
  GMPKI_RETURN_IF_ERROR(router.Add("GET", base + "/{id}",
                                   Api(d, [&svc](auto& a, auto&, auto& p) -> Result<HttpResponse> {
                                     GMPKI_ASSIGN_OR_RETURN(auto b, svc.Get(a, p.at("id")));
                                     return net::JsonResponse(200, json_form::ToJson(b));
                                   })));
  GMPKI_RETURN_IF_ERROR(
      router.Add("POST", base + "/{id}/items",
                 Api(d, [&svc](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
                   GMPKI_ASSIGN_OR_RETURN(auto offset, QueryInt(r, "offset"));
                   GMPKI_ASSIGN_OR_RETURN(auto rep, svc.Append(a, p.at("id"), r.body, offset));
                   return net::JsonResponse(200, json_form::ToJson(rep));
                 })));
  GMPKI_RETURN_IF_ERROR(router.Add("POST", base + "/{id}/close",
                                   Api(d, [&svc](auto& a, auto&, auto& p) -> Result<HttpResponse> {
                                     GMPKI_ASSIGN_OR_RETURN(auto b, svc.Close(a, p.at("id")));
                                     return net::JsonResponse(200, json_form::ToJson(b));
                                   })));
  auto on_approved = d.on_approved;
  GMPKI_RETURN_IF_ERROR(
      router.Add("POST", base + "/{id}/approve",
                 Api(d, [&svc, on_approved](auto& a, auto&, auto& p) -> Result<HttpResponse> {
                   GMPKI_ASSIGN_OR_RETURN(auto b, svc.Approve(a, p.at("id")));
                   if (on_approved) on_approved();
                   return net::JsonResponse(200, json_form::ToJson(b));
                 })));
  GMPKI_RETURN_IF_ERROR(
      router.Add("POST", base + "/{id}/reject",
                 Api(d, [&svc](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
                   GMPKI_ASSIGN_OR_RETURN(auto body, Body(r));
                   GMPKI_ASSIGN_OR_RETURN(auto reason, Text(body, "reason", true));
                   GMPKI_ASSIGN_OR_RETURN(auto b, svc.Reject(a, p.at("id"), reason));
                   return net::JsonResponse(200, json_form::ToJson(b));
                 })));
  GMPKI_RETURN_IF_ERROR(router.Add(
      "GET", base + "/{id}/results",
      Api(d, [&svc](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
        GMPKI_ASSIGN_OR_RETURN(auto after, QueryInt(r, "after"));
        GMPKI_ASSIGN_OR_RETURN(auto limit, QueryInt(r, "limit"));
        std::int64_t lim = std::clamp<std::int64_t>(limit.value_or(1000), 0, 10001);
        GMPKI_ASSIGN_OR_RETURN(
            auto items, svc.Results(a, p.at("id"), after.value_or(0), static_cast<int>(lim)));
        std::string out;
        for (const auto& it : items) out += json_form::ToJson(it).dump() + "\n";
        HttpResponse resp = net::TextResponse(200, std::move(out), kNdjsonContentType);
        // Where the next page starts; absent when this page was the last.
        if (static_cast<std::int64_t>(items.size()) == lim && !items.empty()) {
          resp.headers["X-Next-After"] = std::to_string(items.back().seq);
        }
        return resp;
      })));
  return OkStatus();
}

}  // namespace gmpki::ra_batch
