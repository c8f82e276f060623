#include "services/va_feed/feed_routes.h"

#include <nlohmann/json.hpp>

#include "net/http.h"

namespace gmpki::va_feed {
namespace {

using nlohmann::json;

json StateJson(const ReceiverState& s) {
  return json{{"has_state", s.has_state},
              {"applied_seq", s.has_state ? json(s.applied_seq) : json()},
              {"source", s.source},
              {"generation", s.generation},
              {"snapshot_created_ms", s.snapshot_created_ms},
              {"last_message_unix", s.last_message_unix}};
}

// RFC 9457 §3.2 extension members tell the sender what to do next.
net::HttpResponse FeedProblem(FeedReceiver& receiver, const Error& error, std::string_view path) {
  net::HttpResponse resp = net::ProblemResponse(error, path);
  auto body = json::parse(resp.body, nullptr, false);
  if (!body.is_object()) return resp;
  auto state = receiver.State();
  body["applied_seq"] = state.ok() && state->has_state ? json(state->applied_seq) : json();
  body["need_snapshot"] = error.code() == ErrorCode::kFailedPrecondition;
  resp.body = body.dump();
  return resp;
}

}  // namespace

Status AddFeedReceiverRoutes(net::Router& router, FeedReceiver& receiver) {
  GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/va-feed/messages",
                                   [&receiver](const net::HttpRequest& r, const net::PathParams&) {
                                     auto out = receiver.Receive(r.body);
                                     if (!out.ok())
                                       return FeedProblem(receiver, out.error(), r.path);
                                     return net::JsonResponse(
                                         200, json{{"applied_seq", out->applied_seq},
                                                   {"kind", std::string(KindName(out->kind))},
                                                   {"records", out->records},
                                                   {"snapshot_pending", out->snapshot_pending},
                                                   {"next_part", out->next_part}});
                                   }));
  return router.Add("GET", "/api/v1/va-feed/state",
                    [&receiver](const net::HttpRequest& r, const net::PathParams&) {
                      auto s = receiver.State();
                      if (!s.ok()) return net::ProblemResponse(s.error(), r.path);
                      return net::JsonResponse(200, StateJson(*s));
                    });
}

}  // namespace gmpki::va_feed
