// A 1,000,000-certificate snapshot: export (streamed pages, encode, sign), verify and apply on
// the public side, with the timings printed in the test log (HI-02 at ministry scale).
// GMPKI_FEED_BULK_RECORDS overrides the size (e.g. 10000000 for a manual run).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "services/ca/ca_service.h"
#include "services/va_feed/feed_exporter.h"
#include "services/va_feed/feed_receiver.h"
#include "services/va_feed/tests/feed_test_util.h"
#include "store/testing/backends.h"

namespace gmpki::va_feed {
namespace {

using Clk = std::chrono::steady_clock;

double Seconds(Clk::time_point since) {
  return std::chrono::duration<double>(Clk::now() - since).count();
}

// Certificates written straight into the CA's table (issuing a million through the CA would
// test the CA, not the feed), generated inside SQLite by a recursive CTE so seeding stays
// cheap: 16-octet serials, every 20th certificate revoked.
Status Seed(store::Database& db, std::int64_t n) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db.Begin());
  // The feed reads certificates by primary key only; the CA's search and CRL indexes would
  // triple the seeding time of this scratch (SQLite) database.
  GMPKI_ASSIGN_OR_RETURN(auto indexes,
                         tx->Query("SELECT name FROM sqlite_master WHERE type = 'index' AND"
                                   " tbl_name = 'certificates' AND sql IS NOT NULL"));
  for (const auto& index : indexes) {
    GMPKI_RETURN_IF_ERROR(tx->Exec("DROP INDEX " + index.Text(0)));
  }
  GMPKI_RETURN_IF_ERROR(
      tx->Exec("INSERT INTO cas (name, depth, kind, status, external, cert_der, subject,"
               " created_unix) VALUES ('biz', 2, 'business', 'active', 0, ?, 'CN=Biz', 0)",
               {Bytes(600, 0x30)}));
  GMPKI_RETURN_IF_ERROR(tx->Exec(
      "WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?)"
      " INSERT INTO certificates (ca, serial_hex, subject, profile, status, reason, revoked_unix,"
      " not_before, not_after, issued_unix, requested_by, key_id, der)"
      " SELECT 'biz', printf('4%015X%016X', i, (i * 2654435761) % 4294967296 * 65537),"
      " 'CN=s', 'personal-sign', CASE WHEN i % 20 = 0 THEN 'revoked' ELSE 'good' END,"
      " CASE WHEN i % 20 = 0 THEN 1 END, CASE WHEN i % 20 = 0 THEN 1700000000 END,"
      " 1690000000, 1900000000 + i, 1690000000, 'op', 'k', X'' FROM seq",
      {n}));
  return tx->Commit();
}

// req: HI-02
TEST(FeedBulk, MillionRecordSnapshotExportVerifyApply) {
  std::int64_t n = 1000000;
  if (const char* env = std::getenv("GMPKI_FEED_BULK_RECORDS")) n = std::atoll(env);
  ManualClock clock(FromUnixSeconds(1700000000));
  auto business = store::testutil::ScratchDatabase::Create(store::Backend::kSqlite);
  auto pub = store::testutil::ScratchDatabase::Create(store::Backend::kSqlite);
  ASSERT_TRUE(business.ok() && pub.ok());
  ASSERT_TRUE((*business)->db().Migrate(ca::CaMigrations()).ok());
  ASSERT_TRUE((*pub)->db().Migrate(VaFeedMigrations()).ok());
  auto t = Clk::now();
  Status seeded = Seed((*business)->db(), n);
  ASSERT_TRUE(seeded.ok()) << seeded.error().ToString();
  std::printf("[ feed ] seeded %lld certificates in %.2f s\n", static_cast<long long>(n),
              Seconds(t));

  FeedSigner signer = testutil::SoftSigner();
  ExporterOptions eo;
  eo.max_part_records = 100000;
  eo.max_part_bytes = 4u << 20;
  FeedExporter exporter((*business)->db(), signer, clock, eo);
  std::vector<std::string> parts;
  std::size_t bytes = 0;
  t = Clk::now();
  auto seq = exporter.Snapshot([&](const SignedMessage& m) {
    bytes += m.wire.size();
    parts.push_back(m.wire);
    return OkStatus();
  });
  ASSERT_TRUE(seq.ok()) << seq.error().ToString();
  double export_s = Seconds(t);

  ReceiverOptions ro;
  ro.trusted_key = signer.public_key;
  FeedReceiver receiver((*pub)->db(), ro, clock);
  std::int64_t applied = 0, revoked = 0;
  receiver.SetApplyCallback(
      [&](const std::vector<va::StatusRecord>& s, const std::vector<va::IssuerRecord>&) {
        applied += static_cast<std::int64_t>(s.size());
        for (const auto& r : s) revoked += r.state == va::CertState::kRevoked;
      });
  t = Clk::now();
  for (const auto& w : parts) {
    auto out = receiver.Receive(w);
    ASSERT_TRUE(out.ok()) << out.error().ToString();
  }
  double apply_s = Seconds(t);
  std::printf(
      "[ feed ] snapshot of %lld records: %zu parts, %zu bytes (%.1f bytes/record); export+sign "
      "%.2f s, "
      "verify+apply+callback %.2f s\n",
      static_cast<long long>(n), parts.size(), bytes, static_cast<double>(bytes) / n, export_s,
      apply_s);
  EXPECT_EQ(applied, n);
  EXPECT_EQ(revoked, (n + 19) / 20);
  EXPECT_LT(static_cast<double>(bytes) / n, 30.0);
  EXPECT_EQ(receiver.State()->applied_seq, *seq);
}

}  // namespace
}  // namespace gmpki::va_feed
