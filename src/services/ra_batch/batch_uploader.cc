#include "services/ra_batch/batch_uploader.h"

#include <fstream>
#include <thread>

#include "services/ra_batch/batch_json.h"
#include "services/ra_batch/batch_routes.h"

namespace gmpki::ra_batch {
namespace {

using nlohmann::json;

bool Transient(ErrorCode c) {
  return c == ErrorCode::kUnavailable || c == ErrorCode::kTimeout || c == ErrorCode::kIoError;
}

Result<json> ParseJson(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return Error(ErrorCode::kMalformedInput, "the server's answer is not JSON");
  return j;
}

Result<BatchInfo> ParseBatch(Result<std::string> body) {
  if (!body.ok()) return body.error();
  GMPKI_ASSIGN_OR_RETURN(auto j, ParseJson(*body));
  return json_form::BatchFromJson(j);
}

}  // namespace

BatchUploader::BatchUploader(const net::HttpClient& client, std::string base_url)
    : client_(client), base_(std::move(base_url)) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

Result<std::string> BatchUploader::Call(const std::string& method, const std::string& path,
                                        std::string body, std::string_view content_type) const {
  net::Headers headers;
  if (!content_type.empty()) headers["Content-Type"] = std::string(content_type);
  GMPKI_ASSIGN_OR_RETURN(auto resp, client_.Send(method, base_ + path, std::move(body), headers));
  if (resp.status < 200 || resp.status >= 300) return json_form::ErrorFromProblem(resp);
  return std::move(resp.body);
}

Result<BatchInfo> BatchUploader::Create(const UploadOptions& o) const {
  json body{{"ca", o.ca}, {"profile", o.profile}, {"label", o.label}};
  return ParseBatch(Call("POST", "/api/v1/ra/batches", body.dump(), net::kJsonContentType));
}

Result<AppendReport> BatchUploader::AppendChunk(const std::string& id, const std::string& ndjson,
                                                std::int64_t offset) const {
  const std::string path = "/api/v1/ra/batches/" + id + "/items?offset=" + std::to_string(offset);
  for (int attempt = 0;; ++attempt) {
    auto body = Call("POST", path, ndjson, kNdjsonContentType);
    if (!body.ok()) {
      // The offset makes a resend safe: a chunk that did arrive is answered as replayed.
      if (Transient(body.error().code()) && attempt < 3) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
        continue;
      }
      return body.error();
    }
    GMPKI_ASSIGN_OR_RETURN(auto j, ParseJson(*body));
    return json_form::ReportFromJson(j);
  }
}

Result<BatchInfo> BatchUploader::Close(const std::string& id) const {
  return ParseBatch(Call("POST", "/api/v1/ra/batches/" + id + "/close", "", ""));
}
Result<BatchInfo> BatchUploader::Approve(const std::string& id) const {
  return ParseBatch(Call("POST", "/api/v1/ra/batches/" + id + "/approve", "", ""));
}
Result<BatchInfo> BatchUploader::Reject(const std::string& id, const std::string& reason) const {
  return ParseBatch(Call("POST", "/api/v1/ra/batches/" + id + "/reject",
                         json{{"reason", reason}}.dump(), net::kJsonContentType));
}
Result<BatchInfo> BatchUploader::Get(const std::string& id) const {
  return ParseBatch(Call("GET", "/api/v1/ra/batches/" + id, "", ""));
}

Result<UploadResult> BatchUploader::UploadFile(const std::string& path, const UploadOptions& o,
                                               const UploadProgressFn& progress) const {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return Error(ErrorCode::kIoError, "cannot open '" + path + "'");
  const auto size = static_cast<std::int64_t>(in.tellg());
  in.seekg(0);
  return Upload(in, size, o, progress);
}

Result<UploadResult> BatchUploader::Upload(std::istream& in, std::int64_t bytes_total,
                                           const UploadOptions& o,
                                           const UploadProgressFn& progress) const {
  GMPKI_ASSIGN_OR_RETURN(auto batch, Create(o));
  UploadResult result;
  UploadProgress p;
  p.bytes_total = bytes_total;
  std::int64_t offset = 0;
  std::string chunk, line;
  std::size_t lines = 0;
  auto flush = [&]() -> Status {
    if (lines == 0) return OkStatus();
    auto rep = AppendChunk(batch.id, chunk, offset);
    if (!rep.ok()) {
      return Error(rep.error().code(), "batch " + batch.id + ": " + rep.error().message());
    }
    offset = rep->next_offset;
    p.items_sent += rep->items;
    p.accepted += rep->accepted;
    p.failed += rep->failed;
    p.duplicate += rep->duplicate;
    for (auto& e : rep->errors) {
      if (result.errors.size() < kMaxReportedErrors) result.errors.push_back(std::move(e));
    }
    chunk.clear();
    lines = 0;
    if (progress) progress(p);
    return OkStatus();
  };
  while (std::getline(in, line)) {
    p.bytes_sent += static_cast<std::int64_t>(line.size()) + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // no item
    chunk += line;
    chunk += '\n';
    ++lines;
    if (lines >= o.chunk_lines || chunk.size() >= o.chunk_bytes) GMPKI_RETURN_IF_ERROR(flush());
  }
  if (in.bad()) return Error(ErrorCode::kIoError, "reading the batch file failed");
  GMPKI_RETURN_IF_ERROR(flush());
  if (bytes_total > 0) p.bytes_sent = bytes_total;
  if (o.close) {
    GMPKI_ASSIGN_OR_RETURN(result.batch, Close(batch.id));
  } else {
    GMPKI_ASSIGN_OR_RETURN(result.batch, Get(batch.id));
  }
  if (progress) progress(p);
  return result;
}

Result<std::int64_t> BatchUploader::FetchResults(
    const std::string& id, const std::function<Status(const ItemResult&)>& sink, int page) const {
  std::int64_t after = 0, count = 0;
  for (;;) {
    GMPKI_ASSIGN_OR_RETURN(
        auto body, Call("GET",
                        "/api/v1/ra/batches/" + id + "/results?after=" + std::to_string(after) +
                            "&limit=" + std::to_string(page),
                        "", ""));
    std::int64_t in_page = 0;
    std::size_t pos = 0;
    while (pos < body.size()) {
      std::size_t end = body.find('\n', pos);
      if (end == std::string::npos) end = body.size();
      if (end > pos) {
        json j = json::parse(std::string_view(body).substr(pos, end - pos), nullptr, false);
        if (j.is_discarded()) return Error(ErrorCode::kMalformedInput, "a result line is not JSON");
        GMPKI_ASSIGN_OR_RETURN(auto item, json_form::ResultFromJson(j));
        after = item.seq;
        GMPKI_RETURN_IF_ERROR(sink(item));
        ++in_page;
      }
      pos = end + 1;
    }
    count += in_page;
    if (in_page < page) return count;
  }
}

Result<BatchInfo> WaitForBatch(const BatchUploader& uploader, const std::string& id,
                               const std::function<void(const BatchInfo&)>& progress,
                               WaitOptions options) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    GMPKI_ASSIGN_OR_RETURN(auto b, uploader.Get(id));
    if (progress) progress(b);
    if (b.state == BatchState::kDone || b.state == BatchState::kRejected) return b;
    if (options.timeout.count() > 0 &&
        std::chrono::steady_clock::now() - start + options.interval > options.timeout) {
      return Error(ErrorCode::kTimeout,
                   "batch " + id + " is still " + std::string(BatchStateName(b.state)));
    }
    std::this_thread::sleep_for(options.interval);
  }
}

}  // namespace gmpki::ra_batch
