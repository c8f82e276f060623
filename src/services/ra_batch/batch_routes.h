// The batch enrolment API (HI-06) on the operator HTTPS address, under /api/v1/ra/batches.
// Operators are identified by their verified TLS client certificate (CC-FIA), exactly as the
// CA's API does; every error is an RFC 9457 problem+json response. docs/openapi.json
// describes the routes:
//   POST /api/v1/ra/batches                         create      {"ca","profile","label"} -> 201
//   GET  /api/v1/ra/batches?state=&limit=&offset=   list
//   GET  /api/v1/ra/batches/{id}                    status, counts, progress
//   POST /api/v1/ra/batches/{id}/items?offset=N     NDJSON chunk -> append report
//   POST /api/v1/ra/batches/{id}/close
//   POST /api/v1/ra/batches/{id}/approve            four-eyes: never the submitter
//   POST /api/v1/ra/batches/{id}/reject             {"reason"}
//   GET  /api/v1/ra/batches/{id}/results?after=&limit=   application/x-ndjson, one item a line
//
// REQUIRES: the server's max_body_bytes admits a chunk (BatchSettings::max_chunk_bytes, 8 MiB
// by default, plus headers).
#pragma once

#include <functional>

#include "net/router.h"
#include "services/core/operators.h"
#include "services/ra_batch/batch_service.h"

namespace gmpki::ra_batch {

struct BatchApiDeps {
  BatchService* service = nullptr;
  services::OperatorRegistry* operators = nullptr;
  // Called after a successful approval (e.g. BatchWorker::Wake); may be empty.
  std::function<void()> on_approved;
};

Status AddBatchRoutes(net::Router& router, const BatchApiDeps& deps);

inline constexpr std::string_view kNdjsonContentType = "application/x-ndjson";

}  // namespace gmpki::ra_batch
