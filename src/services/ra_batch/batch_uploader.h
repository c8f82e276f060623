// Client side of batch enrolment (HI-06), for the CLI (`gmpki batch submit --file F --wait`):
// streams an NDJSON file to /api/v1/ra/batches in chunks (the file is never held in memory),
// reports progress, polls a batch until it is done and fetches its results page by page.
//
// A chunk is sent with its offset (items already in the batch), so a chunk resent after a lost
// answer is recognised by the server and not added twice; transient network failures are
// retried up to three times.
//
// Thread safety: one uploader per thread (the HttpClient itself is thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/client.h"
#include "services/ra_batch/batch_types.h"

namespace gmpki::ra_batch {

struct UploadOptions {
  std::string ca;       // the batch's default CA
  std::string profile;  // the batch's default profile
  std::string label;
  std::size_t chunk_bytes = 4u << 20;  // a chunk ends at the first line that reaches this size
  std::size_t chunk_lines = 10'000;
  bool close = true;  // close the batch after the last chunk
};

struct UploadProgress {
  std::int64_t items_sent = 0;
  std::int64_t bytes_sent = 0;
  std::int64_t bytes_total = 0;  // 0 when unknown
  std::int64_t accepted = 0, failed = 0, duplicate = 0;
};
using UploadProgressFn = std::function<void(const UploadProgress&)>;

struct UploadResult {
  BatchInfo batch;                // after close (or after the last chunk when !close)
  std::vector<LineError> errors;  // the first failed lines reported by the server
};

class BatchUploader {
 public:
  // `base_url`: the operator HTTPS address, e.g. "https://ra.example:8443" (no trailing '/').
  BatchUploader(const net::HttpClient& client, std::string base_url);

  // Creates a batch and streams the file into it. On a failure after the batch was created the
  // error message names the batch ID (kTooLarge: the server discarded the batch).
  Result<UploadResult> UploadFile(const std::string& path, const UploadOptions& options,
                                  const UploadProgressFn& progress = {}) const;
  Result<UploadResult> Upload(std::istream& in, std::int64_t bytes_total,
                              const UploadOptions& options,
                              const UploadProgressFn& progress = {}) const;

  Result<BatchInfo> Create(const UploadOptions& options) const;
  Result<AppendReport> AppendChunk(const std::string& batch_id, const std::string& ndjson,
                                   std::int64_t offset) const;
  Result<BatchInfo> Close(const std::string& batch_id) const;
  Result<BatchInfo> Approve(const std::string& batch_id) const;
  Result<BatchInfo> Reject(const std::string& batch_id, const std::string& reason) const;
  Result<BatchInfo> Get(const std::string& batch_id) const;
  // Calls `sink` for every item in seq order, fetching `page` items a request. Returns how many.
  Result<std::int64_t> FetchResults(const std::string& batch_id,
                                    const std::function<Status(const ItemResult&)>& sink,
                                    int page = 1000) const;

 private:
  Result<std::string> Call(const std::string& method, const std::string& path, std::string body,
                           std::string_view content_type) const;
  const net::HttpClient& client_;
  std::string base_;
};

struct WaitOptions {
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{0};  // 0: wait without limit
};

// Polls the batch until it is done or rejected, calling `progress` after each poll. A closed
// batch is waited on too (its approval is someone else's). kTimeout when `timeout` passes.
Result<BatchInfo> WaitForBatch(const BatchUploader& uploader, const std::string& batch_id,
                               const std::function<void(const BatchInfo&)>& progress = {},
                               WaitOptions options = {});

}  // namespace gmpki::ra_batch
