#include "services/ra_batch/batch_processor.h"

#include <nlohmann/json.hpp>

#include "audit/audit.h"
#include "base/log.h"
#include "crypto/random.h"
#include "services/ra_batch/batch_internal.h"
#include "services/ra_batch/batch_service.h"

namespace gmpki::ra_batch {

struct BatchProcessor::Claimed {
  std::string batch_id;
  std::int64_t seq = 0;
  std::string request_id;
  std::string id_kind;
  Bytes id_enc, ssn_enc, csr;
  std::string ca, profile;
  std::int64_t attempts = 0;
};

namespace {

bool Transient(ErrorCode c) {
  return c == ErrorCode::kUnavailable || c == ErrorCode::kTimeout || c == ErrorCode::kIoError;
}

// The identity the certificate carries (LD/T 02.1 IdentifyCode and InsuranceNumber extensions).
Result<ca::IdentityAttributes> Identity(const pii::PiiCodec& pii, const std::string& request_id,
                                        const std::string& id_kind, const Bytes& id_enc,
                                        const Bytes& ssn_enc) {
  const std::string ctx = internal::PiiContext(request_id);
  GMPKI_ASSIGN_OR_RETURN(pii::IdKind kind, pii::ParseIdKind(id_kind));
  GMPKI_ASSIGN_OR_RETURN(auto id_number, pii.Decrypt(kind, ctx, id_enc));
  GMPKI_ASSIGN_OR_RETURN(auto ssn, pii.Decrypt(pii::IdKind::kSocialSecurity, ctx, ssn_enc));
  ca::IdentityAttributes out;
  if (kind == pii::IdKind::kResidentId) out.resident_id = id_number;
  if (kind == pii::IdKind::kPassport) out.passport = id_number;
  out.insurance_number = ssn;
  return out;
}

}  // namespace

BatchProcessor::BatchProcessor(store::Database& db, const pii::PiiCodec& pii,
                               ra::CaGateway& gateway, const Clock& clock,
                               ProcessorSettings settings)
    : db_(db), pii_(pii), gateway_(gateway), clock_(clock), settings_(std::move(settings)) {
  auto rnd = crypto::RandomBytes(4);
  instance_ = settings_.worker_id + "/" + (rnd.ok() ? HexEncode(*rnd) : std::string("0"));
  if (settings_.chunk == 0) settings_.chunk = 1;
}

Result<std::vector<BatchProcessor::Claimed>> BatchProcessor::Claim(std::size_t n,
                                                                   std::string& token) {
  const std::int64_t now = ToUnixSeconds(clock_.Now());
  const std::int64_t until = now + settings_.lease.count();
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  GMPKI_ASSIGN_OR_RETURN(
      auto batches, tx->Query("SELECT id FROM ra_batches WHERE state IN ('approved', 'processing') "
                              "ORDER BY reviewed_unix, id LIMIT 32"));
  std::vector<Claimed> out;
  for (const auto& b : batches) {
    const std::string batch_id = b.Text(0);
    // Two steps rather than "seq IN (subquery LIMIT n)", which PostgreSQL may run once per row.
    // The first n claimable items are exactly the claimable ones in [first, last].
    GMPKI_ASSIGN_OR_RETURN(
        auto range,
        tx->QueryOne("SELECT MIN(seq), MAX(seq) FROM (SELECT seq FROM ra_batch_items WHERE "
                     "batch_id = ? AND status = 'pending' AND (lease_until IS NULL OR "
                     "lease_until < ?) ORDER BY seq LIMIT ?) AS claimable",
                     {batch_id, now, static_cast<std::int64_t>(n)}));
    if (!range || range->IsNull(0)) continue;
    token = instance_ + "#" + std::to_string(claims_.fetch_add(1));
    // The guard is repeated: on PostgreSQL a row another worker claimed meanwhile is re-checked
    // after that worker's lock is released and then left alone.
    GMPKI_ASSIGN_OR_RETURN(
        auto changed,
        tx->Exec("UPDATE ra_batch_items SET lease_owner = ?, lease_until = ? WHERE batch_id = ? "
                 "AND seq BETWEEN ? AND ? AND status = 'pending' AND "
                 "(lease_until IS NULL OR lease_until < ?)",
                 {token, until, batch_id, range->Int(0), range->Int(1), now}));
    if (changed == 0) continue;
    GMPKI_RETURN_IF_ERROR(
        tx->Exec("UPDATE ra_batches SET state = 'processing' WHERE id = ? AND state = 'approved'",
                 {batch_id}));
    GMPKI_ASSIGN_OR_RETURN(
        auto rows,
        tx->Query("SELECT seq, request_id, id_kind, id_number_enc, ssn_enc, csr, ca, profile, "
                  "attempts FROM ra_batch_items WHERE batch_id = ? AND lease_owner = ? AND "
                  "status = 'pending' ORDER BY seq",
                  {batch_id, token}));
    for (const auto& r : rows) {
      Claimed c;
      c.batch_id = batch_id;
      c.seq = r.Int(0);
      c.request_id = r.Text(1);
      c.id_kind = r.Text(2);
      c.id_enc = r.Blob(3);
      c.ssn_enc = r.Blob(4);
      c.csr = r.Blob(5);
      c.ca = r.Text(6);
      c.profile = r.Text(7);
      c.attempts = r.Int(8);
      out.push_back(std::move(c));
    }
    break;
  }
  GMPKI_RETURN_IF_ERROR(tx->Commit());
  return out;
}

Result<ProcessReport> BatchProcessor::IssueChunk(const std::string& token,
                                                 std::vector<Claimed>& items) {
  ProcessReport rep;
  rep.claimed = static_cast<std::int64_t>(items.size());
  // Outcome per item: a certificate, a final error, or a transient error.
  std::vector<Result<ca::IssuedCertificate>> results(
      items.size(), Result<ca::IssuedCertificate>(ErrorCode::kInternal, "not sent"));
  std::vector<ra::GatewayIssue> requests;
  std::vector<std::size_t> sent;
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto identity =
        Identity(pii_, items[i].request_id, items[i].id_kind, items[i].id_enc, items[i].ssn_enc);
    if (!identity.ok()) {
      results[i] = identity.error();
      continue;
    }
    ra::GatewayIssue g;
    g.request_id = GatewayRequestId(items[i].request_id);
    g.request.ca = items[i].ca;
    g.request.profile = items[i].profile;
    g.request.csr = items[i].csr;
    g.request.identity = std::move(identity).value();
    requests.push_back(std::move(g));
    sent.push_back(i);
  }
  if (!requests.empty()) {
    auto answers = gateway_.IssueMany(requests);
    for (std::size_t k = 0; k < sent.size(); ++k) {
      results[sent[k]] = k < answers.size()
                             ? std::move(answers[k])
                             : Result<ca::IssuedCertificate>(ErrorCode::kUnavailable,
                                                             "the CA gateway gave no answer");
    }
  }

  const std::int64_t now = ToUnixSeconds(clock_.Now());
  const std::string batch_id = items.front().batch_id;
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Claimed& c = items[i];
    const auto& res = results[i];
    Result<std::int64_t> changed = std::int64_t{0};
    if (res.ok()) {
      changed = tx->Exec(
          "UPDATE ra_batch_items SET status = 'issued', serial_hex = ?, cert = ?, "
          "lease_owner = NULL, lease_until = NULL, attempts = attempts + 1 "
          "WHERE batch_id = ? AND seq = ? AND lease_owner = ? AND status = 'pending'",
          {res->record.serial_hex, res->record.der, batch_id, c.seq, token});
      if (changed.ok() && *changed == 1) ++rep.issued;
    } else if (Transient(res.error().code()) && c.attempts + 1 < settings_.max_attempts) {
      changed = tx->Exec(
          "UPDATE ra_batch_items SET lease_until = ?, attempts = attempts + 1, error_code = ?, "
          "error_message = ? WHERE batch_id = ? AND seq = ? AND lease_owner = ? AND "
          "status = 'pending'",
          {now + settings_.retry_delay.count(), internal::ErrorSlug(res.error().code()),
           res.error().message(), batch_id, c.seq, token});
      if (changed.ok() && *changed == 1) ++rep.retry;
    } else {
      changed = tx->Exec(
          "UPDATE ra_batch_items SET status = 'failed', error_code = ?, error_message = ?, "
          "lease_owner = NULL, lease_until = NULL, attempts = attempts + 1 "
          "WHERE batch_id = ? AND seq = ? AND lease_owner = ? AND status = 'pending'",
          {internal::ErrorSlug(res.error().code()), res.error().message(), batch_id, c.seq, token});
      if (changed.ok() && *changed == 1) ++rep.failed;
    }
    if (!changed.ok()) return changed.error();
    if (*changed == 0) ++rep.lease_lost;
  }
  GMPKI_RETURN_IF_ERROR(tx->Exec(
      "UPDATE ra_batches SET pending = pending - ?, issued = issued + ?, failed = failed + ? "
      "WHERE id = ?",
      {rep.issued + rep.failed, rep.issued, rep.failed, batch_id}));
  GMPKI_RETURN_IF_ERROR(tx->Exec(
      "UPDATE ra_batches SET state = 'done', done_unix = ? WHERE id = ? AND pending = 0 AND "
      "state IN ('approved', 'processing')",
      {now, batch_id}));
  audit::AuditEvent ev;
  ev.actor = "batch-worker:" + settings_.worker_id;
  ev.action = "ra.batch.issue";
  ev.object = "batch:" + batch_id;
  ev.time = clock_.Now();
  ev.node = settings_.node;
  ev.outcome =
      rep.issued > 0 || rep.failed == 0 ? audit::Outcome::kSuccess : audit::Outcome::kFailure;
  ev.detail = nlohmann::json{{"first_seq", items.front().seq},
                             {"last_seq", items.back().seq},
                             {"issued", rep.issued},
                             {"failed", rep.failed},
                             {"retry", rep.retry},
                             {"ra", gateway_.RaName()}}
                  .dump();
  GMPKI_RETURN_IF_ERROR(audit::AppendAudit(*tx, ev));
  GMPKI_RETURN_IF_ERROR(tx->Commit());
  return rep;
}

Result<ProcessReport> BatchProcessor::ProcessSome(std::size_t max_items) {
  ProcessReport total;
  std::size_t done = 0;
  while (done < max_items) {
    std::string token;
    GMPKI_ASSIGN_OR_RETURN(auto items, Claim(std::min(settings_.chunk, max_items - done), token));
    if (items.empty()) break;
    done += items.size();
    GMPKI_ASSIGN_OR_RETURN(auto rep, IssueChunk(token, items));
    total.claimed += rep.claimed;
    total.issued += rep.issued;
    total.failed += rep.failed;
    total.retry += rep.retry;
    total.lease_lost += rep.lease_lost;
  }
  return total;
}

BatchWorker::BatchWorker(BatchProcessor& processor, std::chrono::milliseconds idle_poll)
    : processor_(processor), idle_poll_(idle_poll) {}

BatchWorker::~BatchWorker() { Stop(); }

void BatchWorker::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void BatchWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BatchWorker::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

ProcessReport BatchWorker::totals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return totals_;
}

void BatchWorker::Run() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
    }
    auto rep = processor_.ProcessSome(processor_.settings().chunk * 4);
    bool idle = true;
    if (!rep.ok()) {
      log::Warn("batch worker {}: {}", processor_.settings().worker_id, rep.error().ToString());
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      totals_.claimed += rep->claimed;
      totals_.issued += rep->issued;
      totals_.failed += rep->failed;
      totals_.retry += rep->retry;
      totals_.lease_lost += rep->lease_lost;
      // Keep going while there is work; items waiting for a retry do not count as work.
      idle = rep->claimed == 0 || rep->claimed == rep->retry;
    }
    if (idle) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, idle_poll_, [this] { return stop_ || wake_; });
      wake_ = false;
    }
  }
}

}  // namespace gmpki::ra_batch
