// Internal to gmpki_ra_batch_http: the JSON forms of batch values, shared by the routes (server)
// and the uploader (client) so both read and write the same fields.
#pragma once

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "net/http.h"
#include "services/ra_batch/batch_types.h"

namespace gmpki::ra_batch::json_form {

nlohmann::json ToJson(const BatchInfo& b);
Result<BatchInfo> BatchFromJson(const nlohmann::json& j);
nlohmann::json ToJson(const AppendReport& r);
Result<AppendReport> ReportFromJson(const nlohmann::json& j);
// One NDJSON line of the results stream.
nlohmann::json ToJson(const ItemResult& r);
Result<ItemResult> ResultFromJson(const nlohmann::json& j);

// The Error an RFC 9457 problem response stands for (slug -> ErrorCode, detail -> message).
Error ErrorFromProblem(const net::HttpResponse& r);

}  // namespace gmpki::ra_batch::json_form
