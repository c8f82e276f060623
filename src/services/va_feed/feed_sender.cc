#include "services/va_feed/feed_sender.h"

#include <nlohmann/json.hpp>
#include <optional>

namespace gmpki::va_feed {
namespace {

// What the receiver answered (feed_routes.cc): 200 {"applied_seq": n, ...} or a problem+json
// with the extension members "applied_seq" (null without state) and "need_snapshot".
struct Reply {
  bool ok = false;
  ErrorCode code = ErrorCode::kInternal;
  std::string detail;
  std::optional<std::int64_t> applied_seq;
  bool need_snapshot = false;
};

ErrorCode CodeForSlug(std::string_view slug) {
  for (int c = 0; c <= 64; ++c) {
    const ErrorInfo& info = InfoFor(static_cast<ErrorCode>(c));
    if (info.code == static_cast<ErrorCode>(c) && info.slug == slug) return info.code;
  }
  return ErrorCode::kUnavailable;
}

Reply ParseReply(const net::HttpResponse& r) {
  Reply out;
  out.ok = r.status == 200;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object()) {
    if (j.contains("applied_seq") && j["applied_seq"].is_number_integer()) {
      out.applied_seq = j["applied_seq"].get<std::int64_t>();
    }
    out.need_snapshot = j.value("need_snapshot", false);
    out.detail = j.value("detail", "");
    std::string type = j.value("type", "");
    if (auto slash = type.rfind('/'); slash != std::string::npos)
      out.code = CodeForSlug(type.substr(slash + 1));
  }
  if (!out.ok && out.detail.empty()) {
    out.detail = "HTTP " + std::to_string(r.status);
    out.code = r.status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInternal;
  }
  return out;
}

Error Refused(const Reply& reply, std::string_view what) {
  return Error(reply.code, "receiver refused the " + std::string(what) + ": " + reply.detail);
}

}  // namespace

FeedSender::FeedSender(FeedExporter& exporter, net::HttpClient client, std::string url)
    : exporter_(exporter), client_(std::move(client)), url_(std::move(url)) {}

Result<PushResult> FeedSender::PushOnce() {
  std::lock_guard<std::mutex> lock(mu_);
  GMPKI_ASSIGN_OR_RETURN(SignedMessage delta, exporter_.NextDelta());
  GMPKI_ASSIGN_OR_RETURN(auto resp, client_.Post(url_, delta.wire, kFeedContentType));
  Reply reply = ParseReply(resp);
  if (reply.need_snapshot) return SnapshotLocked();
  const bool already_there = reply.code == ErrorCode::kConflict && reply.applied_seq &&
                             *reply.applied_seq >= delta.header.seq;
  if (!reply.ok && !already_there) return Refused(reply, "delta");
  // Only now, with the receiver holding (base, seq], does the cursor move.
  GMPKI_RETURN_IF_ERROR(exporter_.Acknowledge(delta.header.seq));
  PushResult out;
  out.messages = reply.ok ? 1 : 0;
  out.records = reply.ok ? delta.records : 0;
  out.acknowledged_seq = delta.header.seq;
  return out;
}

Result<PushResult> FeedSender::PushSnapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  return SnapshotLocked();
}

Result<PushResult> FeedSender::SnapshotLocked() {
  PushResult out;
  out.snapshot = true;
  FeedExporter::PartSink post = [&](const SignedMessage& part) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto resp, client_.Post(url_, part.wire, kFeedContentType));
    Reply reply = ParseReply(resp);
    if (!reply.ok) return Refused(reply, "snapshot part " + std::to_string(part.header.part));
    ++out.messages;
    out.records += part.records;
    return OkStatus();
  };
  GMPKI_ASSIGN_OR_RETURN(std::int64_t seq, exporter_.Snapshot(post));
  GMPKI_RETURN_IF_ERROR(exporter_.Acknowledge(seq));
  out.acknowledged_seq = seq;
  return out;
}

}  // namespace gmpki::va_feed
