// The evidence log on both backends: appends, signed tree heads, proofs, offline bundles,
// concurrency, two writers on one database, and the append rate.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "services/evidence/tests/evidence_test_fixture.h"

namespace gmpki::evidence::testing {
namespace {

template <class B>
class EvidenceLogTest : public EvidenceTest<B> {};
TYPED_TEST_SUITE(EvidenceLogTest, store::testutil::AllBackends, store::testutil::BackendNames);

// req: AS-06, CC-FCO
TYPED_TEST(EvidenceLogTest, AppendsSignsAndProvesEveryLeafAgainstTheSignedHead) {
  this->AppendN(13);
  const SignedTreeHead sth = this->Sign();
  EXPECT_EQ(sth.tree_size, 13u);
  EXPECT_EQ(sth.timestamp_ms, 1767225600000);
  EXPECT_TRUE(VerifyTreeHead(sth, this->log_key_));
  auto root = this->log_->RootAt(13);
  ASSERT_TRUE(root);
  EXPECT_EQ(*root, sth.root_hash);
  for (std::uint64_t i = 0; i < 13; ++i) {
    auto proof = this->log_->InclusionProof(i, 13);
    ASSERT_TRUE(proof) << proof.error().ToString();
    const NodeHash leaf = Sm3TreeHasher().HashLeaf(EncodeRecord(Record(static_cast<int>(i))));
    EXPECT_TRUE(VerifyInclusion(Sm3TreeHasher(), i, 13, leaf, *proof, sth.root_hash)) << i;
    auto rec = this->log_->GetRecord(i);
    ASSERT_TRUE(rec);
    EXPECT_EQ(*rec, Record(static_cast<int>(i)));
  }
  EXPECT_EQ(this->log_->InclusionProof(13, 13).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(this->log_->InclusionProof(0, 14).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(this->log_->GetRecord(13).error().code(), ErrorCode::kNotFound);
  // An idle log signs nothing new.
  this->clock_.Advance(std::chrono::seconds(5));
  EXPECT_EQ(this->Sign(), sth);
  auto latest = this->log_->LatestTreeHead();
  ASSERT_TRUE(latest);
  EXPECT_EQ(*latest, sth);
}

// req: AS-06
TYPED_TEST(EvidenceLogTest, ConsistencyProofsBetweenEveryPairOfSizes) {
  std::vector<NodeHash> roots{Sm3TreeHasher().EmptyRoot()};
  for (int n = 1; n <= 20; ++n) {
    this->AppendN(1);
    auto root = this->log_->RootAt(static_cast<std::uint64_t>(n));
    ASSERT_TRUE(root);
    roots.push_back(*root);
  }
  for (std::uint64_t m = 0; m <= 20; ++m) {
    for (std::uint64_t n = m; n <= 20; ++n) {
      auto proof = this->log_->ConsistencyProof(m, n);
      ASSERT_TRUE(proof) << proof.error().ToString();
      EXPECT_TRUE(VerifyConsistency(Sm3TreeHasher(), m, n, *proof, roots[m], roots[n]))
          << m << " -> " << n;
    }
  }
  EXPECT_EQ(this->log_->ConsistencyProof(5, 21).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(this->log_->ConsistencyProof(6, 5).error().code(), ErrorCode::kInvalidArgument);
}

// req: AS-06, CC-FCO
TYPED_TEST(EvidenceLogTest, ExportedBundleVerifiesOfflineAndRejectsTampering) {
  this->AppendN(7);
  EXPECT_EQ(this->log_->ExportRecordBundle(3).error().code(), ErrorCode::kFailedPrecondition);
  this->Sign();
  auto json = this->log_->ExportRecordBundleJson(5);
  ASSERT_TRUE(json) << json.error().ToString();
  auto ok = VerifyBundle(*json, this->log_key_);
  ASSERT_TRUE(ok) << ok.error().ToString() << "\n" << *json;
  EXPECT_EQ(ok->leaf_index, 5u);
  EXPECT_EQ(ok->record, Record(5));
  EXPECT_EQ(ok->tree_head.tree_size, 7u);

  // The record a relying party reads is the one that was logged: any change is refused.
  std::string changed = *json;
  const std::string from = "\"decision\": \"valid\"";
  ASSERT_NE(changed.find(from), std::string::npos);
  changed.replace(changed.find(from), from.size(), "\"decision\": \"invalid\"");
  EXPECT_EQ(VerifyBundle(changed, this->log_key_).error().code(), ErrorCode::kIntegrityFailure);
  // Another leaf index for the same record.
  std::string moved = *json;
  moved.replace(moved.find("\"leaf_index\": 5"), 15, "\"leaf_index\": 4");
  EXPECT_EQ(VerifyBundle(moved, this->log_key_).error().code(), ErrorCode::kIntegrityFailure);
  // A key the relying party does not trust.
  auto other = crypto::Sm2GenerateKeyPair();
  ASSERT_TRUE(other);
  EXPECT_EQ(VerifyBundle(*json, other->public_key).error().code(), ErrorCode::kBadSignature);
  // A forged tree head (another size) breaks the signature.
  std::string forged = *json;
  forged.replace(forged.find("\"tree_size\": 7"), 14, "\"tree_size\": 8");
  EXPECT_EQ(VerifyBundle(forged, this->log_key_).error().code(), ErrorCode::kBadSignature);
  EXPECT_EQ(VerifyBundle("{}", this->log_key_).error().code(), ErrorCode::kMalformedInput);

  // A bundle from an older head still verifies after the log grows.
  this->AppendN(10);
  this->clock_.Advance(std::chrono::seconds(1));
  const SignedTreeHead later = this->Sign();
  EXPECT_EQ(later.tree_size, 17u);
  EXPECT_TRUE(VerifyBundle(*json, this->log_key_));
  auto fresh = this->log_->ExportRecordBundle(16);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->tree_head, later);
  EXPECT_TRUE(VerifyBundle(BundleToJson(*fresh), this->log_key_));
}

// req: AS-06
TYPED_TEST(EvidenceLogTest, RejectsInvalidRecordsWithoutWriting) {
  EvidenceRecord r = Record(1);
  r.actor.clear();
  EXPECT_EQ(this->log_->Append(r).error().code(), ErrorCode::kInvalidArgument);
  r = Record(1);
  r.details = "{";
  EXPECT_EQ(this->log_->Append(r).error().code(), ErrorCode::kInvalidArgument);
  std::vector<EvidenceRecord> mixed{Record(1), Record(2)};
  mixed[1].decision.clear();
  EXPECT_EQ(this->log_->AppendAll(mixed).error().code(), ErrorCode::kInvalidArgument);
  auto size = this->log_->Size();
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 0u);
  // A record without a time is stamped with the log's clock.
  r = Record(1);
  r.time = TimePoint{};
  auto idx = this->log_->Append(r);
  ASSERT_TRUE(idx);
  EXPECT_EQ(this->log_->GetRecord(*idx)->time, this->clock_.Now());
}

// req: AS-06
TYPED_TEST(EvidenceLogTest, ConcurrentAppendersGetDistinctLeavesInSharedBatches) {
  constexpr int kThreads = 8, kPerThread = 150;
  std::vector<std::vector<std::uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto idx = this->log_->Append(Record(t * 1000 + i));
        if (idx) {
          got[t].push_back(*idx);
        } else {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  std::set<std::uint64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    // One thread's records are in the order it appended them.
    for (std::size_t i = 1; i < got[t].size(); ++i) EXPECT_LT(got[t][i - 1], got[t][i]);
    all.insert(got[t].begin(), got[t].end());
  }
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.rbegin(), static_cast<std::uint64_t>(kThreads * kPerThread - 1));
  EXPECT_EQ(this->log_->records(), static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LT(this->log_->batches(), this->log_->records()) << "concurrent appends share batches";
  for (int t = 0; t < kThreads; ++t) {
    auto rec = this->log_->GetRecord(got[t][7]);
    ASSERT_TRUE(rec);
    EXPECT_EQ(*rec, Record(t * 1000 + 7));
  }
  this->Sign();
  const AuditReport report = this->Audit();
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_EQ(report.leaves_checked, static_cast<std::uint64_t>(kThreads * kPerThread));
}

// req: AS-06
TYPED_TEST(EvidenceLogTest, AsyncAppendsAreCommittedByTheFlusherAndReported) {
  constexpr int kThreads = 8, kPerThread = 250;
  std::mutex mu;
  std::set<std::uint64_t> indexes;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Status queued = this->log_->AppendAsync(Record(t * 1000 + i), [&](Result<std::uint64_t> r) {
          if (!r) {
            ++failures;
            return;
          }
          std::lock_guard lock(mu);
          indexes.insert(*r);
        });
        if (!queued) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  // Invalid records are refused at once and never reach the queue.
  EvidenceRecord bad = Record(1);
  bad.actor.clear();
  EXPECT_EQ(this->log_->AppendAsync(bad).error().code(), ErrorCode::kInvalidArgument);
  this->log_->Flush();
  EXPECT_EQ(failures.load(), 0);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(indexes.size(), static_cast<std::size_t>(kThreads * kPerThread));
    EXPECT_EQ(*indexes.rbegin(), static_cast<std::uint64_t>(kThreads * kPerThread - 1));
  }
  auto size = this->log_->Size();
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, static_cast<std::uint64_t>(kThreads * kPerThread));
  // Synchronous and asynchronous appends mix; records queued at destruction are written.
  ASSERT_TRUE(this->log_->AppendAsync(Record(5000)));
  auto sync = this->log_->Append(Record(5001));
  ASSERT_TRUE(sync);
  ASSERT_TRUE(this->log_->AppendAsync(Record(5002)));
  this->log_.reset();
  auto reopened = this->OpenLog();
  ASSERT_TRUE(reopened);
  this->log_ = std::move(*reopened);
  size = this->log_->Size();
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, static_cast<std::uint64_t>(kThreads * kPerThread + 3));
  this->Sign();
  const AuditReport report = this->Audit();
  EXPECT_TRUE(report.ok) << report.message;
}

// req: AS-06
TYPED_TEST(EvidenceLogTest, TwoWritersOnOneDatabaseKeepOneTree) {
  // Two log instances stand for two server nodes sharing the database: each must pick up the
  // other's appends (the cached tree edge is reloaded under the head lock).
  auto second = this->OpenLog();
  ASSERT_TRUE(second);
  std::vector<EvidenceRecord> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(Record(100 + i));
  for (int round = 0; round < 4; ++round) {
    auto a = this->log_->Append(Record(round));
    ASSERT_TRUE(a);
    auto b = (*second)->AppendAll(batch);
    ASSERT_TRUE(b) << b.error().ToString();
    EXPECT_EQ(*b, *a + 1);
  }
  auto sth = (*second)->SignTreeHead();
  ASSERT_TRUE(sth);
  EXPECT_EQ(sth->tree_size, 24u);
  const AuditReport report = this->Audit();
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_EQ(report.tree_heads_checked, 1u);
  EXPECT_EQ(report.unsigned_tail, 0u);
  // A reopened log continues the same tree.
  this->log_.reset();
  auto reopened = this->OpenLog();
  ASSERT_TRUE(reopened);
  auto next = (*reopened)->Append(Record(999));
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, 24u);
  auto proof = (*reopened)->ConsistencyProof(24, 25);
  ASSERT_TRUE(proof);
  auto root25 = (*reopened)->RootAt(25);
  ASSERT_TRUE(root25);
  EXPECT_TRUE(VerifyConsistency(Sm3TreeHasher(), 24, 25, *proof, sth->root_hash, *root25));
}

// req: AS-06
TYPED_TEST(EvidenceLogTest, OpenRefusesAMissingOrNonSigningKey) {
  EvidenceLogOptions options;
  options.key_label = "no-such-key";
  EXPECT_EQ(this->OpenLog(options).error().code(), ErrorCode::kNotFound);
  auto session = this->device_->OpenSession();
  ASSERT_TRUE(session);
  ASSERT_TRUE((*session)->GenerateKeyPair("enc", device::KeyPurpose::kEncrypt));
  options.key_label = "enc";
  EXPECT_EQ(this->OpenLog(options).error().code(), ErrorCode::kInvalidArgument);
}

// req: AS-06
TYPED_TEST(EvidenceLogTest, AppendRateFor100kRecords) {
  // The rates go to the test log ("[ evidence ] ..."). 100,000 records queued with AppendAsync
  // by 8 threads (the SVS/TSA request path, which must not wait for a commit) and flushed;
  // 5,000 from 64 threads that each wait for their record to be durable (Append); 20,000 in
  // caller-made batches of 1,000 (AppendAll). Then a tree head and a full audit of all of them.
  constexpr int kAsync = 100000, kSync = 5000;
  std::atomic<int> failures{0};
  auto rate = [](std::chrono::steady_clock::time_point start, int n) {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::make_pair(s, n / s);
  };
  auto run_threads = [&](int threads_n, int total, int base, bool async) {
    std::atomic<int> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < threads_n; ++t) {
      threads.emplace_back([&] {
        for (int i = next++; i < total; i = next++) {
          const bool ok = async ? this->log_->AppendAsync(Record(base + i)).ok()
                                : this->log_->Append(Record(base + i)).ok();
          if (!ok) ++failures;
        }
      });
    }
    for (auto& th : threads) th.join();
  };

  auto start = std::chrono::steady_clock::now();
  run_threads(8, kAsync, 0, /*async=*/true);
  this->log_->Flush();
  auto [secs_async, per_s_async] = rate(start, kAsync);
  ASSERT_EQ(failures.load(), 0);
  std::printf("[ evidence ] %s: %d AppendAsync from 8 threads, flushed, in %.2f s = %.0f/s "
              "(%llu batches)\n",
              TypeParam::kName, kAsync, secs_async, per_s_async,
              static_cast<unsigned long long>(this->log_->batches()));

  const std::uint64_t batches_before = this->log_->batches();
  start = std::chrono::steady_clock::now();
  run_threads(64, kSync, kAsync, /*async=*/false);
  auto [secs_sync, per_s_sync] = rate(start, kSync);
  ASSERT_EQ(failures.load(), 0);
  const auto sync_batches = this->log_->batches() - batches_before;
  std::printf("[ evidence ] %s: %d Append from 64 threads in %.2f s = %.0f/s, %.0f records/batch\n",
              TypeParam::kName, kSync, secs_sync, per_s_sync,
              static_cast<double>(kSync) / static_cast<double>(sync_batches));

  std::vector<EvidenceRecord> batch;
  for (int i = 0; i < 1000; ++i) batch.push_back(Record(kAsync + kSync + i));
  start = std::chrono::steady_clock::now();
  for (int k = 0; k < 20; ++k) ASSERT_TRUE(this->log_->AppendAll(batch));
  auto [secs_all, per_s_all] = rate(start, 20000);
  std::printf("[ evidence ] %s: 20000 records in AppendAll batches of 1000 in %.2f s = %.0f/s\n",
              TypeParam::kName, secs_all, per_s_all);

  start = std::chrono::steady_clock::now();
  this->Sign();
  const AuditReport report = this->Audit();
  auto [secs_audit, per_s_audit] = rate(start, 125000);
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_EQ(report.leaves_checked, 125000u);
  std::printf("[ evidence ] %s: sign + audit of 125000 leaves in %.2f s = %.0f leaves/s\n",
              TypeParam::kName, secs_audit, per_s_audit);
}

}  // namespace
}  // namespace gmpki::evidence::testing
