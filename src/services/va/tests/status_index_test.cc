// The in-memory status index: records, versions, issuer hashes, concurrency and the PF-01
// scale (a million synthetic records, extrapolated to 10 million in the log).
#include "services/va/status_index.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "crypto/sm2.h"
#include "x509/certificate.h"
#include "x509/extensions.h"
#include "x509/name.h"
#include "x509/ocsp.h"
#include "x509/signer.h"

namespace gmpki::va {
namespace {

StatusRecord Rec(std::string ca, std::string serial, CertState st = CertState::kGood,
                 int reason = -1, std::int64_t revoked = 0) {
  StatusRecord r;
  r.ca = std::move(ca);
  r.serial_hex = std::move(serial);
  r.state = st;
  r.reason = reason;
  r.revoked_unix = revoked;
  r.not_after = 2000000000;
  return r;
}

Bytes Octets(std::string_view hex) { return *SerialOctets(hex); }

Bytes SelfSignedCa(const std::string& dn) {
  auto kp = crypto::Sm2GenerateKeyPair();
  EXPECT_TRUE(kp.ok());
  auto key = std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key));
  auto signer = x509::MakeSoftwareSigner(key, kp->public_key);
  x509::TbsSpec spec;
  spec.issuer = *x509::Name::Parse(dn);
  spec.subject = spec.issuer;
  spec.serial = {0x01};
  spec.not_before = std::chrono::system_clock::now() - std::chrono::hours(1);
  spec.not_after = spec.not_before + std::chrono::hours(24 * 365);
  spec.subject_public_key = kp->public_key;
  spec.extensions.push_back(x509::ext::BasicConstraints(true, std::nullopt, true));
  return *x509::IssueCertificate(spec, signer);
}

// req: VA-02
TEST(StatusIndexTest, AppliesAndLooksUpRecords) {
  StatusIndex idx;
  ASSERT_TRUE(idx.Apply(Rec("ca1", "0A1B")).ok());
  ASSERT_TRUE(idx.Apply(Rec("ca1", "FF", CertState::kRevoked, 1, 1700000000)).ok());
  ASSERT_TRUE(idx.Apply(Rec("ca2", "0a1b", CertState::kHold, 6, 1700000100)).ok());
  EXPECT_EQ(idx.size(), 3u);

  auto a = idx.Lookup("ca1", Octets("0A1B"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->state, CertState::kGood);
  EXPECT_EQ(a->reason, -1);
  EXPECT_EQ(a->not_after, 2000000000);
  auto b = idx.Lookup("ca1", Bytes{0xFF});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->state, CertState::kRevoked);
  EXPECT_EQ(b->reason, 1);
  EXPECT_EQ(b->revoked_unix, 1700000000);
  // The same serial under another CA is another certificate.
  auto c = idx.Lookup("ca2", Octets("A1B"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, CertState::kHold);
  EXPECT_FALSE(idx.Lookup("ca2", Bytes{0xFF}));
  EXPECT_FALSE(idx.Lookup("nope", Bytes{0xFF}));
  EXPECT_FALSE(idx.Lookup("ca1", Bytes(21, 0x01)));
}

// req: VA-02
TEST(StatusIndexTest, VersionChangesOnlyWithStatus) {
  StatusIndex idx;
  ASSERT_TRUE(idx.Apply(Rec("ca", "01")).ok());
  auto v1 = idx.Lookup("ca", Bytes{0x01})->version;
  ASSERT_TRUE(idx.Apply(Rec("ca", "01")).ok());  // the same again: no change
  EXPECT_EQ(idx.Lookup("ca", Bytes{0x01})->version, v1);
  ASSERT_TRUE(idx.Apply(Rec("ca", "01", CertState::kHold, 6, 100)).ok());
  auto v2 = idx.Lookup("ca", Bytes{0x01})->version;
  EXPECT_NE(v2, v1);
  ASSERT_TRUE(idx.Apply(Rec("ca", "01")).ok());  // released
  auto e = idx.Lookup("ca", Bytes{0x01});
  EXPECT_NE(e->version, v2);
  EXPECT_EQ(e->state, CertState::kGood);
  EXPECT_EQ(e->revoked_unix, 0);
  EXPECT_EQ(idx.size(), 1u);
}

// req: VA-02
TEST(StatusIndexTest, RefusesBadRecords) {
  StatusIndex idx;
  EXPECT_EQ(idx.Apply(Rec("", "01")).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(idx.Apply(Rec("ca", "xyz")).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(idx.Apply(Rec("ca", "")).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(idx.Apply(Rec("ca", std::string(42, 'A'))).error().code(), ErrorCode::kInvalidArgument);
  auto bad = Rec("ca", "01");
  bad.state = static_cast<CertState>('x');
  EXPECT_EQ(idx.Apply(bad).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(idx.size(), 0u);
  // Leading zeros and case do not make another serial.
  EXPECT_EQ(Octets("000102"), (Bytes{0x01, 0x02}));
  EXPECT_EQ(Octets("0"), (Bytes{0x00}));
}

// req: VA-02
TEST(StatusIndexTest, FindsIssuerByEveryHashAlgorithm) {
  StatusIndex idx;
  Bytes der1 = SelfSignedCa("C=CN,O=T,CN=CA One");
  Bytes der2 = SelfSignedCa("C=CN,O=T,CN=CA Two");
  ASSERT_TRUE(idx.AddIssuer({"one", der1}).ok());
  ASSERT_TRUE(idx.AddIssuer({"two", der2}).ok());
  ASSERT_TRUE(idx.AddIssuer({"two", der2}).ok());  // idempotent
  EXPECT_EQ(idx.AddIssuer({"bad", Bytes{0x30, 0x00}}).error().code(), ErrorCode::kMalformedInput);
  auto c1 = *x509::Certificate::FromDer(der1);
  for (const auto& h : x509::ComputeIssuerHashes(c1)) {
    auto m = idx.FindIssuer(h.hash_oid, h.name_hash, h.key_hash);
    ASSERT_TRUE(m) << h.hash_oid;
    EXPECT_EQ(m->ca, "one");
    // Name hash of one CA with the key hash of another matches nothing.
    auto other = x509::ComputeIssuerHashes(*x509::Certificate::FromDer(der2));
    for (const auto& o : other) {
      if (o.hash_oid == h.hash_oid) {
        EXPECT_FALSE(idx.FindIssuer(h.hash_oid, h.name_hash, o.key_hash));
      }
    }
  }
  EXPECT_FALSE(idx.FindIssuer("1.2.840.113549.2.5", Bytes(16, 0), Bytes(16, 0)));
  EXPECT_EQ(idx.IssuerCert("one"), der1);
  EXPECT_EQ(idx.IssuerNames().size(), 2u);
  // A re-keyed CA: the old key's hashes stop matching.
  Bytes der1b = SelfSignedCa("C=CN,O=T,CN=CA One");
  ASSERT_TRUE(idx.AddIssuer({"one", der1b}).ok());
  auto h_old = x509::ComputeIssuerHashes(c1)[0];
  EXPECT_FALSE(idx.FindIssuer(h_old.hash_oid, h_old.name_hash, h_old.key_hash));
  auto h_new = x509::ComputeIssuerHashes(*x509::Certificate::FromDer(der1b))[0];
  EXPECT_TRUE(idx.FindIssuer(h_new.hash_oid, h_new.name_hash, h_new.key_hash));
}

// req: VA-02
TEST(StatusIndexTest, ReadersRunAlongsideAWriter) {
  StatusIndex idx;
  for (int i = 1; i <= 20000; ++i) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%X", i);
    ASSERT_TRUE(idx.Apply(Rec("ca", hex)).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> misses{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        for (int i = 1; i <= 20000; i += 7) {
          Bytes sn = i > 0xFF ? Bytes{static_cast<std::uint8_t>(i >> 8),
                                      static_cast<std::uint8_t>(i & 0xFF)}
                              : Bytes{static_cast<std::uint8_t>(i)};
          if (!idx.Lookup("ca", sn)) ++misses;
        }
      }
    });
  }
  // The writer revokes some and adds more (tables grow under the readers).
  for (int i = 20001; i <= 60000; ++i) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%X", i);
    ASSERT_TRUE(
        idx.Apply(Rec("ca", hex, i % 2 ? CertState::kRevoked : CertState::kGood, 1, 5)).ok());
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(misses.load(), 0);
  EXPECT_EQ(idx.size(), 60000u);
}

// req: PF-01
TEST(StatusIndexTest, MillionRecordsCompactAndFast) {
  StatusIndex idx;
  constexpr int kN = 1000000;
  auto serial_of = [](int i) {
    // 16-octet serials like the CA's (128 random bits); deterministic here.
    Bytes s(16);
    std::uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(i + 1);
    for (int k = 0; k < 8; ++k) s[k] = static_cast<std::uint8_t>(x >> (8 * k));
    for (int k = 0; k < 4; ++k) s[8 + k] = static_cast<std::uint8_t>(i >> (8 * k));
    s[0] |= 0x40;
    return s;
  };
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kN; ++i) {
    StatusRecord r = Rec(i % 2 ? "business-ca-1" : "business-ca-2", HexEncode(serial_of(i), true),
                         i % 100 == 0 ? CertState::kRevoked : CertState::kGood, 1, 1700000000);
    ASSERT_TRUE(idx.Apply(r).ok());
  }
  auto t1 = std::chrono::steady_clock::now();
  std::size_t found = 0, revoked = 0;
  for (int i = 0; i < kN; ++i) {
    auto e = idx.Lookup(i % 2 ? "business-ca-1" : "business-ca-2", serial_of(i));
    if (e) ++found;
    if (e && e->state == CertState::kRevoked) ++revoked;
  }
  auto t2 = std::chrono::steady_clock::now();
  // Absent serials (another CA) miss.
  std::size_t false_hits = 0;
  for (int i = 0; i < 100000; ++i) {
    if (idx.Lookup(i % 2 ? "business-ca-2" : "business-ca-1", serial_of(i))) ++false_hits;
  }
  EXPECT_EQ(found, static_cast<std::size_t>(kN));
  EXPECT_EQ(revoked, static_cast<std::size_t>(kN / 100));
  EXPECT_EQ(false_hits, 0u);
  double per_record = static_cast<double>(idx.MemoryBytes()) / kN;
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("[va] 1M records: %.1f bytes/record, apply %.0f ms, lookup %.0f ns each\n",
              per_record, ms(t1 - t0), ms(t2 - t1) * 1e6 / kN);
  // Aim: < 64 bytes per record (10 million in < 640 MB).
  EXPECT_LT(per_record, 64.0);
  std::size_t ca1 = 0;
  idx.ForEachSerial(*idx.CaId("business-ca-1"), [&](ByteView) { ++ca1; });
  EXPECT_EQ(ca1, static_cast<std::size_t>(kN / 2));
}

}  // namespace
}  // namespace gmpki::va
