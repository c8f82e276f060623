// Batch enrolment on both storage backends (issue #4 item 3; HI-06): staging, four-eyes
// approval, issuance with real certificates, idempotent resubmission, crash recovery through
// leases, bad lines, oversized batches and personal data at rest.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

#include "services/ra_batch/tests/batch_fixture.h"
#include "store/testing/backends.h"
#include "x509/chain.h"
#include "x509/extensions.h"

namespace gmpki::ra_batch {
namespace {

using namespace testing;  // NOLINT: the fixture's helpers
using store::testutil::BackendTest;

template <class B>
class BatchServiceTest : public BackendTest<B> {
 protected:
  void SetUp() override {
    BackendTest<B>::SetUp();
    env_ = std::make_unique<BatchEnv>();
    Status st = env_->Init(this->db(), 10'000);
    ASSERT_TRUE(st.ok()) << st.error().ToString();
  }
  void TearDown() override {
    env_.reset();
    BackendTest<B>::TearDown();
  }
  BatchService& svc() { return *env_->service; }
  std::int64_t CaCertificates() {
    return env_->Count("SELECT COUNT(*) FROM certificates WHERE ca = 'biz'");
  }

  std::unique_ptr<BatchEnv> env_;
};
TYPED_TEST_SUITE(BatchServiceTest, store::testutil::AllBackends, store::testutil::BackendNames);

// req: HI-06, CA-02
TYPED_TEST(BatchServiceTest, SubmitApproveProcessIssuesCertificatesForEachHolder) {
  auto holders = MakeHolders(6, "e2e");
  auto b = this->svc().Create(kAlice, {"biz", "personal-sign", "cards 2024-05"});
  ASSERT_TRUE(b.ok()) << b.error().ToString();
  EXPECT_EQ(b->state, BatchState::kOpen);
  // Two chunks, the second with its offset.
  auto first = this->svc().Append(kAlice, b->id, Ndjson({holders.begin(), holders.begin() + 4}));
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(first->accepted, 4);
  EXPECT_EQ(first->next_offset, 4);
  auto second = this->svc().Append(kAlice, b->id, Ndjson({holders.begin() + 4, holders.end()}), 4);
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(second->first_seq, 5);
  ASSERT_TRUE(this->svc().Close(kAlice, b->id).ok());
  // Nothing is issued before approval.
  auto proc = this->env_->NewProcessor("w1", 4);
  EXPECT_EQ(proc->ProcessSome(100)->claimed, 0);
  auto approved = this->svc().Approve(kBob, b->id);
  ASSERT_TRUE(approved.ok()) << approved.error().ToString();
  EXPECT_EQ(approved->state, BatchState::kApproved);
  EXPECT_EQ(approved->reviewed_by, "bob");
  auto rep = proc->ProcessSome(100);
  ASSERT_TRUE(rep.ok()) << rep.error().ToString();
  EXPECT_EQ(rep->issued, 6);
  auto done = this->svc().Get(kAlice, b->id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, BatchState::kDone);
  EXPECT_EQ(done->counts.total, 6);
  EXPECT_EQ(done->counts.issued, 6);
  EXPECT_EQ(done->counts.pending, 0);
  EXPECT_DOUBLE_EQ(done->Progress(), 1.0);

  auto results = this->env_->AllResults(b->id);
  ASSERT_EQ(results.size(), 6u);
  auto cas = this->env_->CaCerts();
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    EXPECT_EQ(r.seq, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(r.request_id, holders[i].request_id);
    ASSERT_EQ(r.status, ItemStatus::kIssued) << r.error_message;
    auto cert = x509::Certificate::FromDer(r.certificate);
    ASSERT_TRUE(cert.ok());
    EXPECT_EQ(*ca::NormalizeSerial(HexEncode(cert->serial(), true)),
              *ca::NormalizeSerial(r.serial_hex));
    auto path =
        x509::VerifyChain(*cert, {cas[0], cas[1]}, {cas[2]}, {this->env_->clock.Now(), {}, false});
    ASSERT_TRUE(path.ok()) << path.error().ToString();
    // The holder's identity: name in the subject, ID number and social security number in the
    // LD/T 02.1 identity extensions.
    EXPECT_EQ(cert->subject().Get("CN"), std::optional<std::string>(holders[i].name));
    auto* ic = cert->FindExtension(x509::oid::kIdentifyCode);
    ASSERT_NE(ic, nullptr);
    EXPECT_EQ(x509::ParseIdentifyCode(ic->value)->number, holders[i].resident_id);
    EXPECT_NE(cert->FindExtension(x509::oid::kInsuranceNumber), nullptr);
  }
  EXPECT_EQ(this->CaCertificates(), 6);
}

// req: HI-06, RA-01, CC-FMT
TYPED_TEST(BatchServiceTest, FourEyesOnApproval) {
  auto b = this->env_->Submit(Ndjson(MakeHolders(2, "fe")));
  ASSERT_TRUE(b.ok()) << b.error().ToString();
  auto own = this->svc().Approve(kAlice, b->id);
  ASSERT_FALSE(own.ok());
  EXPECT_EQ(own.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(own.error().message().find("four-eyes"), std::string::npos);
  auto own_reject = this->svc().Reject(kAlice, b->id, "changed my mind");
  ASSERT_FALSE(own_reject.ok());
  EXPECT_EQ(own_reject.error().code(), ErrorCode::kPermissionDenied);
  auto ca_op = this->svc().Approve(kCaOp, b->id);
  ASSERT_FALSE(ca_op.ok());
  EXPECT_EQ(ca_op.error().code(), ErrorCode::kPermissionDenied);
  // Only the submitter adds to a batch; nobody approves an open one.
  auto open = this->svc().Create(kAlice, {"biz", "personal-sign", ""});
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(this->svc().Append(kBob, open->id, Ndjson(MakeHolders(1, "x"))).error().code(),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(this->svc().Approve(kBob, open->id).error().code(), ErrorCode::kConflict);
  EXPECT_EQ(this->svc().Get(kAlice, b->id)->state, BatchState::kClosed);
  // The refusals are audited.
  EXPECT_GE(this->env_->Count("SELECT COUNT(*) FROM audit_records WHERE action = "
                              "'ra.batch.approve' AND outcome = 2"),
            3);
  auto ok = this->svc().Approve(kBob, b->id);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(this->svc().Approve(kBob, b->id).error().code(), ErrorCode::kConflict);
}

// req: HI-06
TYPED_TEST(BatchServiceTest, ResubmittingTheSameFileNeverIssuesTwice) {
  auto holders = MakeHolders(5, "re");
  const std::string file = Ndjson(holders);
  auto b1 = this->env_->Submit(file);
  ASSERT_TRUE(b1.ok());
  ASSERT_TRUE(this->svc().Approve(kBob, b1->id).ok());
  auto proc = this->env_->NewProcessor("w1");
  ASSERT_EQ(proc->ProcessSome(100)->issued, 5);
  ASSERT_EQ(this->CaCertificates(), 5);
  auto first = this->env_->AllResults(b1->id);

  // The same file again, plus one new holder, as a new batch.
  auto extra = MakeHolders(1, "re-new");
  auto b2 = this->env_->Submit(file + Ndjson(extra));
  ASSERT_TRUE(b2.ok()) << b2.error().ToString();
  EXPECT_EQ(b2->counts.duplicate, 5);
  EXPECT_EQ(b2->counts.pending, 1);
  ASSERT_TRUE(this->svc().Approve(kBob, b2->id).ok());
  EXPECT_EQ(proc->ProcessSome(100)->issued, 1);
  EXPECT_EQ(this->CaCertificates(), 6);
  auto second = this->env_->AllResults(b2->id);
  ASSERT_EQ(second.size(), 6u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(second[i].status, ItemStatus::kDuplicate);
    EXPECT_EQ(second[i].duplicate_of_batch, b1->id);
    EXPECT_EQ(second[i].duplicate_of_seq, i + 1);
    EXPECT_EQ(second[i].original_status, std::optional<ItemStatus>(ItemStatus::kIssued));
    EXPECT_EQ(second[i].serial_hex, first[i].serial_hex);
    EXPECT_EQ(second[i].certificate, first[i].certificate);
  }
  EXPECT_EQ(second[5].status, ItemStatus::kIssued);

  // A repeated request_id inside one chunk, and a chunk sent twice with its offset.
  auto b3 = this->svc().Create(kAlice, {"biz", "personal-sign", ""});
  auto twice = MakeHolders(2, "tw");
  std::string chunk = Ndjson({twice[0]}) + Ndjson({twice[0]}) + Ndjson({twice[1]});
  auto a = this->svc().Append(kAlice, b3->id, chunk, 0);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->accepted, 2);
  EXPECT_EQ(a->duplicate, 1);
  auto replay = this->svc().Append(kAlice, b3->id, chunk, 0);
  ASSERT_TRUE(replay.ok()) << replay.error().ToString();
  EXPECT_TRUE(replay->replayed);
  auto wrong = this->svc().Append(kAlice, b3->id, chunk, 1);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(this->svc().Get(kAlice, b3->id)->counts.total, 3);
}

// req: HI-06, PF-06
TYPED_TEST(BatchServiceTest, CrashedWorkerIsResumedAndItsExpiredLeaseTakenOver) {
  auto holders = MakeHolders(8, "cr");
  auto b = this->env_->Submit(Ndjson(holders));
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(this->svc().Approve(kBob, b->id).ok());
  {
    // Worker A processes half the batch, then dies.
    auto a = this->env_->NewProcessor("node-a", 4);
    ASSERT_EQ(a->ProcessSome(4)->issued, 4);
  }
  // Its next claim (items 5 and 6) reached the CA, which issued, but A died before recording:
  // the items are still pending under A's unexpired lease.
  const std::int64_t now = ToUnixSeconds(this->env_->clock.Now());
  {
    auto tx = this->db().Begin();
    ASSERT_TRUE((*tx)
                    ->Exec("UPDATE ra_batch_items SET lease_owner = 'node-a/dead#9', "
                           "lease_until = ? WHERE batch_id = ? AND seq IN (5, 6)",
                           {now + 300, b->id})
                    .ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  std::vector<std::string> dead_serials;
  for (int i : {4, 5}) {
    ca::IssueRequest r;
    r.ca = "biz";
    r.profile = "personal-sign";
    r.csr = holders[i].csr_der;
    r.identity.resident_id = holders[i].resident_id;
    r.identity.insurance_number = holders[i].ssn;
    auto issued = this->env_->gateway->Issue(GatewayRequestId(holders[i].request_id), r);
    ASSERT_TRUE(issued.ok()) << issued.error().ToString();
    dead_serials.push_back(issued->record.serial_hex);
  }
  ASSERT_EQ(this->CaCertificates(), 6);
  // Worker B resumes: the unleased items 7 and 8 at once, A's claims only after they expire.
  auto bproc = this->env_->NewProcessor("node-b", 4);
  auto rep = bproc->ProcessSome(100);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->issued, 2);
  EXPECT_EQ(this->svc().Get(kAlice, b->id)->counts.pending, 2);
  EXPECT_EQ(this->svc().Get(kAlice, b->id)->state, BatchState::kProcessing);
  this->env_->clock.Advance(std::chrono::seconds(301));
  rep = bproc->ProcessSome(100);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->issued, 2);
  // The CA answered the resent items with the certificates it had issued: nothing twice.
  EXPECT_EQ(this->CaCertificates(), 8);
  auto results = this->env_->AllResults(b->id);
  ASSERT_EQ(results.size(), 8u);
  EXPECT_EQ(results[4].serial_hex, dead_serials[0]);
  EXPECT_EQ(results[5].serial_hex, dead_serials[1]);
  std::set<std::string> serials;
  for (const auto& r : results) serials.insert(r.serial_hex);
  EXPECT_EQ(serials.size(), 8u);
  EXPECT_EQ(this->svc().Get(kAlice, b->id)->state, BatchState::kDone);
}

// req: HI-06
TYPED_TEST(BatchServiceTest, WorkerThreadProcessesApprovedBatchesUntilStopped) {
  auto b = this->env_->Submit(Ndjson(MakeHolders(10, "th")));
  ASSERT_TRUE(b.ok());
  auto proc = this->env_->NewProcessor("thread", 3);
  BatchWorker worker(*proc, std::chrono::milliseconds(20));
  worker.Start();
  ASSERT_TRUE(this->svc().Approve(kBob, b->id).ok());
  worker.Wake();
  for (int i = 0; i < 500 && this->svc().Get(kAlice, b->id)->state != BatchState::kDone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  worker.Stop();
  EXPECT_EQ(this->svc().Get(kAlice, b->id)->state, BatchState::kDone);
  EXPECT_EQ(worker.totals().issued, 10);
}

// req: HI-06, CC-FPR
TYPED_TEST(BatchServiceTest, BadLinesAndBadIdNumbersFailAloneTheRestIsIssued) {
  auto h = MakeHolders(8, "bad");
  auto bad_id = ItemJson(h[1]);
  std::string id = h[1].resident_id;
  id[17] = id[17] == '0' ? '1' : '0';  // wrong check character
  bad_id["id_number"] = id;
  auto no_csr = ItemJson(h[2]);
  no_csr.erase("csr");
  auto unknown = ItemJson(h[3]);
  unknown["shoe_size"] = "42";
  auto wrong_cn = ItemJson(h[4]);
  wrong_cn["name"] = "Somebody Else";
  auto bad_profile = ItemJson(h[5]);
  bad_profile["profile"] = "no-such-profile";
  std::string file = ItemJson(h[0]).dump() + "\n{not json\n\n" + bad_id.dump() + "\r\n" +
                     no_csr.dump() + "\n" + unknown.dump() + "\n" + wrong_cn.dump() + "\n" +
                     bad_profile.dump() + "\n[1,2]\n" + ItemJson(h[6]).dump() + "\n";
  auto b = this->svc().Create(kAlice, {"biz", "personal-sign", ""});
  auto rep = this->svc().Append(kAlice, b->id, file);
  ASSERT_TRUE(rep.ok()) << rep.error().ToString();
  EXPECT_EQ(rep->items, 9);  // the blank line is no item
  EXPECT_EQ(rep->accepted, 3);
  EXPECT_EQ(rep->failed, 6);
  ASSERT_EQ(rep->errors.size(), 6u);
  EXPECT_EQ(rep->errors[0].code, "malformed-input");
  EXPECT_EQ(rep->errors[0].seq, 2);
  EXPECT_EQ(rep->errors[1].request_id, h[1].request_id);
  EXPECT_NE(rep->errors[1].message.find("check character"), std::string::npos);
  EXPECT_EQ(rep->errors[1].message.find(id), std::string::npos);  // the number is not echoed
  EXPECT_NE(rep->errors[2].message.find("'csr' is required"), std::string::npos);
  EXPECT_NE(rep->errors[3].message.find("shoe_size"), std::string::npos);
  EXPECT_EQ(rep->errors[4].code, "policy-violation");
  ASSERT_TRUE(this->svc().Close(kAlice, b->id).ok());
  ASSERT_TRUE(this->svc().Approve(kBob, b->id).ok());
  auto proc = this->env_->NewProcessor("w");
  auto done = proc->ProcessSome(100);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->issued, 2);
  EXPECT_EQ(done->failed, 1);  // refused by the CA: unknown profile
  auto info = this->svc().Get(kAlice, b->id);
  EXPECT_EQ(info->state, BatchState::kDone);
  EXPECT_EQ(info->counts.issued, 2);
  EXPECT_EQ(info->counts.failed, 7);
  auto results = this->env_->AllResults(b->id);
  ASSERT_EQ(results.size(), 9u);
  EXPECT_EQ(results[0].status, ItemStatus::kIssued);
  EXPECT_EQ(results[6].status, ItemStatus::kFailed);
  EXPECT_EQ(results[6].error_code, "unknown-profile");
  EXPECT_EQ(results[8].status, ItemStatus::kIssued);
  // A corrected line may reuse the request_id of a line that failed validation.
  bad_id["id_number"] = h[1].resident_id;
  auto fixed = this->env_->Submit(bad_id.dump() + "\n");
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->counts.pending, 1);
}

// req: HI-06
TYPED_TEST(BatchServiceTest, OversizedBatchIsDiscardedWhole) {
  BatchSettings s;
  s.max_items = 10;
  BatchService capped(this->db(), *this->env_->pii, this->env_->clock, s);
  auto holders = MakeHolders(12, "big");
  auto b = capped.Create(kAlice, {"biz", "personal-sign", ""});
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(capped.Append(kAlice, b->id, Ndjson({holders.begin(), holders.begin() + 6})).ok());
  auto over = capped.Append(kAlice, b->id, Ndjson({holders.begin() + 6, holders.end()}));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code(), ErrorCode::kTooLarge);
  auto info = capped.Get(kAlice, b->id);
  EXPECT_EQ(info->state, BatchState::kRejected);
  EXPECT_EQ(info->counts.total, 0);
  EXPECT_NE(info->reason.find("more than 10 items"), std::string::npos);
  EXPECT_EQ(this->env_->Count("SELECT COUNT(*) FROM ra_batch_items"), 0);
  EXPECT_EQ(this->env_->Count("SELECT COUNT(*) FROM ra_batch_requests"), 0);
  EXPECT_EQ(capped.Append(kAlice, b->id, Ndjson({holders[0]})).error().code(),
            ErrorCode::kConflict);
  // Its request IDs are free again.
  auto again = capped.Create(kAlice, {"biz", "personal-sign", ""});
  auto rep = capped.Append(kAlice, again->id, Ndjson({holders.begin(), holders.begin() + 6}));
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->accepted, 6);
  // A chunk beyond the per-chunk bounds is refused without touching the batch.
  BatchSettings small;
  small.max_chunk_lines = 2;
  BatchService chunky(this->db(), *this->env_->pii, this->env_->clock, small);
  EXPECT_EQ(
      chunky.Append(kAlice, again->id, Ndjson({holders[6], holders[7], holders[8]})).error().code(),
      ErrorCode::kTooLarge);
  EXPECT_EQ(capped.Get(kAlice, again->id)->state, BatchState::kOpen);
}

// req: HI-06
TYPED_TEST(BatchServiceTest, RejectedBatchReleasesItsRequestIds) {
  auto holders = MakeHolders(3, "rj");
  auto b = this->env_->Submit(Ndjson(holders));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(this->svc().Reject(kBob, b->id, "").error().code(), ErrorCode::kInvalidArgument);
  auto r = this->svc().Reject(kBob, b->id, "wrong card series");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->state, BatchState::kRejected);
  EXPECT_EQ(r->counts.failed, 3);
  auto again = this->env_->Submit(Ndjson(holders));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->counts.pending, 3);
  auto list = this->svc().List(kAlice, {BatchState::kRejected, 10, 0});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, b->id);
}

// req: CC-FPR, HI-06
TYPED_TEST(BatchServiceTest, PersonalNumbersAreNeverStoredInClear) {
  auto holders = MakeHolders(4, "pii");
  auto b = this->env_->Submit(Ndjson(holders));
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(this->svc().Approve(kBob, b->id).ok());
  auto scan = [&](const std::string& what) {
    // Every stored value of the batch tables and the audit log, as text and bytes.
    auto tx = this->db().BeginReadOnly();
    std::string all;
    for (const char* sql :
         {"SELECT * FROM ra_batch_items", "SELECT * FROM ra_batches",
          "SELECT * FROM ra_batch_requests", "SELECT detail, object FROM audit_records"}) {
      auto rows = (*tx)->Query(sql);
      ASSERT_TRUE(rows.ok());
      for (const auto& r : *rows) {
        for (std::size_t c = 0; c < r.size(); ++c) {
          if (const auto* s = std::get_if<std::string>(&r.at(c))) all += *s + "\n";
          if (const auto* bl = std::get_if<Bytes>(&r.at(c))) {
            // Issued certificates carry the ID number by design (LD/T 02.1 IdentifyCode).
            if (x509::Certificate::FromDer(*bl).ok()) continue;
            all += ToString(*bl) + "\n";
          }
        }
      }
    }
    for (const auto& h : holders) {
      EXPECT_EQ(all.find(h.resident_id), std::string::npos) << what;
      EXPECT_EQ(all.find(h.ssn), std::string::npos) << what;
    }
  };
  scan("staged");
  if (TypeParam::kBackend == store::Backend::kSqlite) {
    // The raw database file and its write-ahead log, before any certificate exists.
    std::string path = this->scratch().url().substr(std::string("sqlite:").size());
    std::string raw;
    for (const std::string& f : {path, path + "-wal"}) {
      std::ifstream in(f, std::ios::binary);
      raw.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    ASSERT_GT(raw.size(), 10000u);
    EXPECT_NE(raw.find(holders[0].request_id), std::string::npos);  // the scan sees data
    for (const auto& h : holders) {
      EXPECT_EQ(raw.find(h.resident_id), std::string::npos);
      EXPECT_EQ(raw.find(h.ssn), std::string::npos);
    }
  }
  auto proc = this->env_->NewProcessor("w");
  ASSERT_EQ(proc->ProcessSome(100)->issued, 4);
  scan("issued");
  // The blind index finds a holder by exact number without decrypting anything.
  std::string index = this->env_->pii->BlindIndex(pii::IdKind::kResidentId, holders[2].resident_id);
  auto tx = this->db().BeginReadOnly();
  auto row =
      (*tx)->QueryOne("SELECT request_id FROM ra_batch_items WHERE id_number_index = ?", {index});
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((**row).Text(0), holders[2].request_id);
}

}  // namespace
}  // namespace gmpki::ra_batch

namespace gmpki::ra_batch {
namespace {

// Not a timed test: a measurement run, started by hand with
//   gmpki_ra_batch_tests --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'
// (GMPKI_BATCH_BENCH_ITEMS sets the item count, 20000 by default).
// req: HI-06, PF-03
TYPED_TEST(BatchServiceTest, DISABLED_ThroughputOfStagingAndIssuance) {
  const char* env = std::getenv("GMPKI_BATCH_BENCH_ITEMS");
  const int n = env ? std::atoi(env) : 20000;
  auto holders = MakeHolders(n, "tp", 256);
  BatchSettings s;
  BatchService svc(this->db(), *this->env_->pii, this->env_->clock, s);
  auto b = svc.Create(kAlice, {"biz", "personal-sign", "throughput"});
  ASSERT_TRUE(b.ok());
  const auto t0 = std::chrono::steady_clock::now();
  for (int start = 0; start < n; start += 10000) {
    int end = std::min(n, start + 10000);
    auto rep = svc.Append(kAlice, b->id, Ndjson({holders.begin() + start, holders.begin() + end}));
    ASSERT_TRUE(rep.ok()) << rep.error().ToString();
    ASSERT_EQ(rep->accepted, end - start);
  }
  const auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE(svc.Close(kAlice, b->id).ok());
  ASSERT_TRUE(svc.Approve(kBob, b->id).ok());
  auto proc = this->env_->NewProcessor("bench", 256);
  std::int64_t issued = 0;
  for (;;) {
    auto rep = proc->ProcessSome(4096);
    ASSERT_TRUE(rep.ok()) << rep.error().ToString();
    if (rep->claimed == 0) break;
    issued += rep->issued;
  }
  const auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(issued, n);
  auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  std::printf(
      "[ra_batch %s] %d items: staged %.0f items/s (%.2f s), issued %.0f items/s (%.2f s)\n",
      TypeParam::kName, n, n / secs(t1 - t0), secs(t1 - t0), n / secs(t2 - t1), secs(t2 - t1));
}

}  // namespace
}  // namespace gmpki::ra_batch
