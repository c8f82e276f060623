// The public side's receiver on both storage backends: snapshots in parts, deltas, the
// sequence rules, refusals that change nothing, and reload after a restart (HI-02).
#include "services/va_feed/feed_receiver.h"

#include <gtest/gtest.h>

#include <map>

#include "services/va_feed/tests/feed_test_util.h"
#include "store/testing/backends.h"

namespace gmpki::va_feed {
namespace {

using store::testutil::BackendTest;
using testutil::Delta;
using testutil::Good;
using testutil::Revoked;
using testutil::SameRecord;
using testutil::Sign;
using testutil::SnapshotPart;

// What the verification service's index would hold: the callback's records by (ca, serial).
struct Index {
  std::map<std::pair<std::string, std::string>, va::StatusRecord> status;
  std::map<std::string, Bytes> issuers;
  int calls = 0;
  int resets = 0;
  void Apply(const std::vector<va::StatusRecord>& s, const std::vector<va::IssuerRecord>& i) {
    ++calls;
    for (const auto& r : s) status[{r.ca, r.serial_hex}] = r;
    for (const auto& r : i) issuers[r.ca] = r.cert_der;
  }
};

template <class B>
class FeedReceiverTest : public BackendTest<B> {
 protected:
  void SetUp() override {
    BackendTest<B>::SetUp();
    ASSERT_TRUE(this->db().Migrate(VaFeedMigrations()).ok());
    signer_ = testutil::SoftSigner();
    MakeReceiver();
  }
  void MakeReceiver() {
    ReceiverOptions o;
    o.trusted_key = signer_.public_key;
    o.callback_batch = 2;  // several batches even for small states
    receiver_ = std::make_unique<FeedReceiver>(this->db(), o, clock_);
    receiver_->SetApplyCallback([this](const auto& s, const auto& i) { index_.Apply(s, i); });
    receiver_->SetResetCallback([this] {
      ++index_.resets;
      index_.status.clear();
      index_.issuers.clear();
    });
  }
  Result<ReceiveOutcome> Send(const FeedMessage& m) { return receiver_->Receive(Sign(m, signer_)); }
  // A snapshot at seq 10 in three parts, with an issuer and a CRL.
  void InitialSnapshot() {
    FeedMessage p0 = SnapshotPart(10, 1000, 0, false, {Good("biz", "A1"), Good("biz", "A2")});
    p0.issuers.push_back(va::IssuerRecord{"biz", Bytes{0x30, 0x01}});
    ASSERT_TRUE(Send(p0).ok());
    ASSERT_TRUE(
        Send(SnapshotPart(10, 1000, 1, false, {Good("biz", "A3"), Revoked("biz", "A4")})).ok());
    FeedMessage p2 = SnapshotPart(10, 1000, 2, true, {Good("root", "B1")});
    p2.crls.push_back(CrlRecord{"biz", -1, false, 3, 0, Bytes{0x30, 0x03}});
    auto last = Send(p2);
    ASSERT_TRUE(last.ok()) << last.error().ToString();
    EXPECT_EQ(last->applied_seq, 10);
  }
  // The persisted state as LoadAll replays it.
  Index Loaded() {
    Index fresh;
    EXPECT_TRUE(receiver_->LoadAll([&](const auto& s, const auto& i) { fresh.Apply(s, i); }).ok());
    return fresh;
  }
  void ExpectRefused(const FeedMessage& m, ErrorCode code) {
    ExpectRefusedWire(Sign(m, signer_), code);
  }
  void ExpectRefusedWire(const std::string& wire, ErrorCode code) {
    auto before = receiver_->State();
    ASSERT_TRUE(before.ok());
    const int calls = index_.calls;
    const std::size_t loaded = Loaded().status.size();
    auto r = receiver_->Receive(wire);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), code) << r.error().ToString();
    auto after = receiver_->State();
    EXPECT_EQ(after->applied_seq, before->applied_seq);
    EXPECT_EQ(after->has_state, before->has_state);
    EXPECT_EQ(after->generation, before->generation);
    EXPECT_EQ(index_.calls, calls) << "a refused message reached the callback";
    EXPECT_EQ(Loaded().status.size(), loaded);
  }

  ManualClock clock_{FromUnixSeconds(1700000000)};
  FeedSigner signer_;
  std::unique_ptr<FeedReceiver> receiver_;
  Index index_;
};
TYPED_TEST_SUITE(FeedReceiverTest, store::testutil::AllBackends, store::testutil::BackendNames);

// req: HI-02, VA-02
TYPED_TEST(FeedReceiverTest, SnapshotInPartsThenDeltas) {
  auto p0 = this->Send(SnapshotPart(10, 1000, 0, false, {Good("biz", "A1")}));
  ASSERT_TRUE(p0.ok()) << p0.error().ToString();
  EXPECT_TRUE(p0->snapshot_pending);
  EXPECT_EQ(p0->next_part, 1u);
  EXPECT_EQ(this->index_.calls, 0) << "nothing is applied before the last part";
  EXPECT_FALSE(this->receiver_->State()->has_state);
  this->index_ = Index{};
  // The snapshot starts again (the sender restarted it): part 0 discards what was staged.
  this->InitialSnapshot();
  EXPECT_EQ(this->index_.resets, 1);
  EXPECT_EQ(this->index_.status.size(), 5u);
  EXPECT_EQ(this->index_.issuers.size(), 1u);
  EXPECT_EQ(this->index_.status.at({"biz", "A4"}).state, va::CertState::kRevoked);
  auto crl = this->receiver_->LatestCrl("biz", std::nullopt, false);
  ASSERT_TRUE(crl.ok());
  EXPECT_EQ(*crl, (Bytes{0x30, 0x03}));
  EXPECT_EQ(this->receiver_->LatestCrl("biz", std::nullopt, true).error().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(this->receiver_->LatestCrl("biz", 0, false).error().code(), ErrorCode::kNotFound);

  // A revocation and a new CRL arrive as a delta.
  FeedMessage d = Delta(10, 14, {Revoked("biz", "A1", 1, 1700000500), Good("biz", "A5")});
  d.crls.push_back(CrlRecord{"biz", -1, false, 4, 0, Bytes{0x30, 0x04}});
  d.crls.push_back(CrlRecord{"biz", -1, false, 2, 0, Bytes{0x30, 0x02}});  // older: ignored
  d.crls.push_back(CrlRecord{"biz", 2, true, 5, 4, Bytes{0x30, 0x05}});    // partition 2 delta
  auto out = this->Send(d);
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_EQ(out->applied_seq, 14);
  EXPECT_EQ(this->index_.status.at({"biz", "A1"}).state, va::CertState::kRevoked);
  EXPECT_EQ(this->index_.status.at({"biz", "A1"}).reason, 1);
  EXPECT_EQ(this->index_.status.size(), 6u);
  EXPECT_EQ(*this->receiver_->LatestCrl("biz", std::nullopt, false), (Bytes{0x30, 0x04}));
  EXPECT_EQ(*this->receiver_->LatestCrl("biz", 2, true), (Bytes{0x30, 0x05}));
  EXPECT_EQ(this->receiver_->LatestCrl("biz", 2, false).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(this->receiver_->LatestCrl("biz", -2, false).error().code(),
            ErrorCode::kInvalidArgument);

  // A heartbeat (no records, seq == applied) is accepted and applies nothing.
  int calls = this->index_.calls;
  auto hb = this->Send(Delta(14, 14));
  ASSERT_TRUE(hb.ok()) << hb.error().ToString();
  EXPECT_EQ(this->index_.calls, calls);
  // An overlapping delta (the sender lost our answer and read further) is accepted.
  ASSERT_TRUE(
      this->Send(Delta(10, 16, {Revoked("biz", "A1", 1, 1700000500), Good("biz", "A6")})).ok());
  EXPECT_EQ(this->receiver_->State()->applied_seq, 16);
  Index loaded = this->Loaded();
  EXPECT_EQ(loaded.status.size(), 7u);
  for (const auto& [k, v] : loaded.status) EXPECT_TRUE(SameRecord(v, this->index_.status.at(k)));
}

// req: HI-02
TYPED_TEST(FeedReceiverTest, RefusalsChangeNothing) {
  // Before any snapshot: a delta is a gap.
  this->ExpectRefused(Delta(0, 1, {Good("biz", "1")}), ErrorCode::kFailedPrecondition);
  // A later part without part 0.
  this->ExpectRefused(SnapshotPart(10, 1000, 1, true, {Good("biz", "1")}),
                      ErrorCode::kFailedPrecondition);
  this->InitialSnapshot();
  ASSERT_TRUE(this->Send(Delta(10, 12, {Revoked("biz", "A2")})).ok());

  FeedMessage next = Delta(12, 13, {Revoked("biz", "A3")});
  std::string wire = Sign(next, this->signer_);
  std::string tampered = testutil::TamperBody(wire);
  this->ExpectRefusedWire(tampered, ErrorCode::kBadSignature);
  this->ExpectRefusedWire(Sign(next, testutil::SoftSigner()), ErrorCode::kUnauthenticated);
  this->ExpectRefusedWire("garbage", ErrorCode::kMalformedInput);
  // Replays: the delta already applied, an older one, the applied snapshot's parts.
  this->ExpectRefused(Delta(10, 12, {Revoked("biz", "A2")}), ErrorCode::kConflict);
  this->ExpectRefused(Delta(8, 10, {Good("biz", "A2")}), ErrorCode::kConflict);
  this->ExpectRefused(SnapshotPart(10, 1000, 0, false, {Good("biz", "A2")}), ErrorCode::kConflict);
  this->ExpectRefused(SnapshotPart(12, 999, 0, true, {Good("biz", "A2")}), ErrorCode::kConflict);
  // A gap: changes after 12 the receiver never got.
  this->ExpectRefused(Delta(13, 15, {Revoked("biz", "A3")}), ErrorCode::kFailedPrecondition);
  // Another source than the one whose snapshot is applied.
  this->ExpectRefused(Delta(12, 13, {Revoked("biz", "A3")}, "intruder-node"),
                      ErrorCode::kFailedPrecondition);

  EXPECT_EQ(this->index_.status.at({"biz", "A3"}).state, va::CertState::kGood);
  ASSERT_TRUE(this->receiver_->Receive(wire).ok());  // the genuine one still applies
  EXPECT_EQ(this->index_.status.at({"biz", "A3"}).state, va::CertState::kRevoked);
}

// req: HI-02
TYPED_TEST(FeedReceiverTest, ExpectedSourceIsEnforced) {
  ReceiverOptions o;
  o.trusted_key = this->signer_.public_key;
  o.expected_source = "biz-node";
  FeedReceiver strict(this->db(), o, this->clock_);
  auto wrong = strict.Receive(Sign(SnapshotPart(1, 1, 0, true, {}, "other"), this->signer_));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_TRUE(strict.Receive(Sign(SnapshotPart(1, 1, 0, true), this->signer_)).ok());
}

// req: HI-02
TYPED_TEST(FeedReceiverTest, RestartReloadsWithoutTheBusinessSide) {
  this->InitialSnapshot();
  ASSERT_TRUE(this->Send(Delta(10, 11, {Revoked("biz", "A2", 4)})).ok());
  // A newer snapshot half received when the process dies: the applied state keeps serving.
  ASSERT_TRUE(this->Send(SnapshotPart(20, 2000, 0, false, {Good("biz", "F9")})).ok());
  Index before = this->index_;
  this->receiver_.reset();
  ASSERT_TRUE(this->scratch().Reopen().ok());
  this->MakeReceiver();
  Index loaded = this->Loaded();
  ASSERT_EQ(loaded.status.size(), before.status.size());
  for (const auto& [k, v] : before.status) EXPECT_TRUE(SameRecord(v, loaded.status.at(k)));
  EXPECT_EQ(loaded.issuers, before.issuers);
  EXPECT_EQ(loaded.status.count({"biz", "F9"}), 0u);
  EXPECT_EQ(this->receiver_->State()->applied_seq, 11);
  EXPECT_EQ(*this->receiver_->LatestCrl("biz", std::nullopt, false), (Bytes{0x30, 0x03}));
  // The stream continues where it stopped; then a new snapshot replaces the state wholesale.
  ASSERT_TRUE(this->Send(Delta(11, 12, {Good("biz", "A7")})).ok());
  auto s0 = this->Send(SnapshotPart(30, 3000, 0, true, {Good("root", "C1")}));
  ASSERT_TRUE(s0.ok()) << s0.error().ToString();
  Index after = this->Loaded();
  ASSERT_EQ(after.status.size(), 1u);
  EXPECT_EQ(after.status.begin()->first.second, "C1");
  EXPECT_EQ(this->receiver_->LatestCrl("biz", std::nullopt, false).error().code(),
            ErrorCode::kNotFound);
}

}  // namespace
}  // namespace gmpki::va_feed
