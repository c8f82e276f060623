// `gmpki batch ...`: batch enrolment for third-generation social security cards (HI-06) against
// a running gmpki-server: the NDJSON file is streamed in chunks (never read into memory), the
// progress is shown as it goes, and the results are fetched per batch.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <unistd.h>

#include "apps/cli_context.h"
#include "services/ra_batch/batch_uploader.h"

namespace gmpki::cli {
namespace {
using nlohmann::json;
using services::Role;

json BatchJson(const ra_batch::BatchInfo& b) {
  return json{{"id", b.id},
              {"label", b.label},
              {"state", std::string(ra_batch::BatchStateName(b.state))},
              {"ca", b.ca},
              {"profile", b.profile},
              {"submitted_by", b.submitted_by},
              {"reviewed_by", b.reviewed_by},
              {"reason", b.reason},
              {"counts", {{"total", b.counts.total}, {"pending", b.counts.pending}, {"issued", b.counts.issued},
                          {"failed", b.counts.failed}, {"duplicate", b.counts.duplicate}}},
              {"progress", b.Progress()}};
}

std::string BatchLine(const ra_batch::BatchInfo& b) {
  return b.id + "  " + std::string(ra_batch::BatchStateName(b.state)) + "  total " + std::to_string(b.counts.total) +
         "  issued " + std::to_string(b.counts.issued) + "  failed " + std::to_string(b.counts.failed) +
         "  duplicate " + std::to_string(b.counts.duplicate) + "  pending " + std::to_string(b.counts.pending);
}

// A one-line progress bar on stderr when it is a terminal (or when forced), else nothing.
void Bar(const std::string& what, double fraction, const std::string& tail) {
  static const bool tty = ::isatty(STDERR_FILENO) != 0 || std::getenv("GMPKI_PROGRESS") != nullptr;
  if (!tty) return;
  int width = 30;
  int filled = static_cast<int>(fraction * width + 0.5);
  if (filled > width) filled = width;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar += std::string(static_cast<std::size_t>(width - filled), '.');
  std::fprintf(stderr, "\r%-9s [%s] %3d%%  %s   ", what.c_str(), bar.c_str(), static_cast<int>(fraction * 100 + 0.5),
               tail.c_str());
  std::fflush(stderr);
}

std::string ServerUrl(Context& c, const std::string& url) {
  if (!url.empty()) return url;
  auto n = c.Node();
  return n.ok() ? "https://" + (*n)->config().listen : "";
}

}  // namespace

void AddBatchCommands(CLI::App& app, const ContextFn& context, int& exit_code) {
  auto* batch = app.add_subcommand("batch", "Batch enrolment of social security cards (NDJSON, via gmpki-server)");
  batch->require_subcommand(1);
  static std::string b_url, b_file, b_ca, b_profile, b_label, b_id, b_out, b_reason;
  static bool b_wait = false;
  batch->add_option("--url", b_url, "The server's operator HTTPS address (default: https://<server.listen>)");

  auto* submit = batch->add_subcommand("submit", "Stream an NDJSON file of card requests into a new batch");
  submit->add_option("--file", b_file, "NDJSON: one {request_id, name, id_kind, id_number, social_security_number, csr} per line")
      ->required();
  submit->add_option("--ca", b_ca, "The batch's CA")->required();
  submit->add_option("--profile", b_profile, "The batch's profile")->default_val("personal-sign");
  submit->add_option("--label", b_label, "A label for the batch");
  submit->add_flag("--wait", b_wait, "Wait until the batch is issued (another operator approves it)");
  submit->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto client, c.ApiClient(Role::kRaOperator));
      ra_batch::BatchUploader up(client, ServerUrl(c, b_url));
      ra_batch::UploadOptions o;
      o.ca = b_ca;
      o.profile = b_profile;
      o.label = b_label;
      GMPKI_ASSIGN_OR_RETURN(auto result, up.UploadFile(b_file, o, [](const ra_batch::UploadProgress& p) {
        double f = p.bytes_total > 0 ? static_cast<double>(p.bytes_sent) / static_cast<double>(p.bytes_total) : 0;
        Bar("upload", f, std::to_string(p.items_sent) + " items, " + std::to_string(p.failed) + " refused");
      }));
      Bar("upload", 1.0, std::to_string(result.batch.counts.total) + " items");
      std::fprintf(stderr, "\n");
      for (const auto& e : result.errors) {
        std::cerr << "line " << e.seq << (e.request_id.empty() ? "" : " (" + e.request_id + ")") << ": " << e.code
                  << ": " << e.message << "\n";
      }
      ra_batch::BatchInfo info = result.batch;
      if (b_wait) {
        std::cerr << "batch " << info.id << " closed; waiting for approval by another operator and issuance\n";
        GMPKI_ASSIGN_OR_RETURN(info, ra_batch::WaitForBatch(up, info.id, [](const ra_batch::BatchInfo& b) {
          Bar(std::string(ra_batch::BatchStateName(b.state)), b.Progress(),
              std::to_string(b.counts.issued) + " issued, " + std::to_string(b.counts.failed) + " failed");
        }));
        std::fprintf(stderr, "\n");
      }
      return Emit(c, BatchJson(info), BatchLine(info));
    });
  });

  auto* status = batch->add_subcommand("status", "Show a batch and its progress");
  status->add_option("--id", b_id, "Batch ID")->required();
  status->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto client, c.ApiClient(Role::kRaOperator));
      ra_batch::BatchUploader up(client, ServerUrl(c, b_url));
      GMPKI_ASSIGN_OR_RETURN(auto info, up.Get(b_id));
      return Emit(c, BatchJson(info), BatchLine(info));
    });
  });

  auto* approve = batch->add_subcommand("approve", "Approve a closed batch (four-eyes: not its submitter)");
  approve->add_option("--id", b_id, "Batch ID")->required();
  approve->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto client, c.ApiClient(Role::kRaOperator));
      ra_batch::BatchUploader up(client, ServerUrl(c, b_url));
      GMPKI_ASSIGN_OR_RETURN(auto info, up.Approve(b_id));
      return Emit(c, BatchJson(info), BatchLine(info));
    });
  });

  auto* reject = batch->add_subcommand("reject", "Reject a closed batch with a reason");
  reject->add_option("--id", b_id, "Batch ID")->required();
  reject->add_option("--reason", b_reason, "Why")->required();
  reject->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto client, c.ApiClient(Role::kRaOperator));
      ra_batch::BatchUploader up(client, ServerUrl(c, b_url));
      GMPKI_ASSIGN_OR_RETURN(auto info, up.Reject(b_id, b_reason));
      return Emit(c, BatchJson(info), BatchLine(info));
    });
  });

  auto* results = batch->add_subcommand("results", "Write a batch's results as NDJSON (request_id, status, serial, certificate, error)");
  results->add_option("--id", b_id, "Batch ID")->required();
  results->add_option("--out", b_out, "Output file (default: standard output)");
  results->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto client, c.ApiClient(Role::kRaOperator));
      ra_batch::BatchUploader up(client, ServerUrl(c, b_url));
      std::ofstream file;
      if (!b_out.empty()) {
        file.open(b_out, std::ios::binary | std::ios::trunc);
        if (!file) return Error(ErrorCode::kIoError, "cannot write " + b_out);
      }
      std::ostream& os = b_out.empty() ? std::cout : file;
      GMPKI_ASSIGN_OR_RETURN(auto n, up.FetchResults(b_id, [&](const ra_batch::ItemResult& r) -> Status {
        json j{{"seq", r.seq}, {"request_id", r.request_id}, {"status", std::string(ra_batch::ItemStatusName(r.status))}};
        if (!r.serial_hex.empty()) j["serial"] = r.serial_hex;
        if (!r.certificate.empty()) j["certificate"] = Base64Encode(r.certificate);
        if (!r.error_code.empty()) j["error"] = {{"code", r.error_code}, {"message", r.error_message}};
        os << j.dump() << "\n";
        return OkStatus();
      }));
      if (!b_out.empty()) std::cerr << "wrote " << n << " results to " << b_out << "\n";
      return 0;
    });
  });
}

}  // namespace gmpki::cli
