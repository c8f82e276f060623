// TsaService: stamping (granted and every refusal), clock trust, serial uniqueness, the device
// identity, verification verdicts, and the HTTP routes through the router.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "crypto/sm2.h"
#include "device/soft_device.h"
#include "services/tsa/tsa_routes.h"
#include "services/tsa/tsa_service.h"
#include "x509/der.h"
#include "x509/extensions.h"

namespace gmpki::tsa {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kPolicy = "1.2.156.112233.1.7.1";

template <class T>
T Must(Result<T> r) {
  if (!r.ok()) throw std::runtime_error(r.error().ToString());
  return std::move(r).value();
}

TimePoint T0() { return FromUnixSeconds(1767225600); }

struct Pki {
  crypto::Sm2KeyPair ca = Must(crypto::Sm2GenerateKeyPair());
  x509::Signer ca_signer;
  x509::Certificate ca_cert;
  Bytes Issue(const crypto::Sm2PublicKey& key, std::vector<x509::Extension> exts,
              std::string_view cn) {
    x509::TbsSpec spec;
    spec.serial = Must(x509::GenerateSerial());
    spec.issuer = ca_cert.subject();
    spec.subject = Must(x509::Name::Parse("C=CN,O=MOHRSS,CN=" + std::string(cn)));
    spec.not_before = T0() - std::chrono::hours(24);
    spec.not_after = T0() + std::chrono::hours(24 * 365);
    spec.subject_public_key = key;
    spec.extensions = std::move(exts);
    spec.extensions.push_back(
        Must(x509::ext::KeyUsage(x509::kDigitalSignature | x509::kNonRepudiation)));
    return Must(x509::IssueCertificate(spec, ca_signer));
  }
  static std::vector<x509::Extension> TsaExts() {
    return {Must(x509::ext::ExtKeyUsage({std::string(x509::oid::kKpTimeStamping)}, true))};
  }
  Pki() : ca_cert(Must(x509::Certificate::FromDer(SelfSigned()))) {}
  Bytes SelfSigned() {
    auto priv = std::make_shared<const crypto::Sm2PrivateKey>(std::move(ca.private_key));
    ca_signer = x509::MakeSoftwareSigner(priv, ca.public_key);
    x509::TbsSpec spec;
    spec.serial = Must(x509::GenerateSerial());
    spec.issuer = spec.subject = Must(x509::Name::Parse("C=CN,O=MOHRSS,CN=Business CA"));
    spec.not_before = T0() - std::chrono::hours(240);
    spec.not_after = T0() + std::chrono::hours(24 * 3650);
    spec.subject_public_key = ca.public_key;
    spec.extensions = {x509::ext::BasicConstraints(true),
                       Must(x509::ext::KeyUsage(x509::kKeyCertSign | x509::kCrlSign))};
    return Must(x509::IssueCertificate(spec, ca_signer));
  }
};

TsaIdentity SoftwareIdentity(Pki& pki, std::vector<x509::Extension> exts = Pki::TsaExts()) {
  crypto::Sm2KeyPair kp = Must(crypto::Sm2GenerateKeyPair());
  auto priv = std::make_shared<const crypto::Sm2PrivateKey>(std::move(kp.private_key));
  x509::Certificate cert =
      Must(x509::Certificate::FromDer(pki.Issue(kp.public_key, std::move(exts), "gmpki TSA")));
  return TsaIdentity{x509::MakeSoftwareSigner(priv, kp.public_key), std::move(cert),
                     {pki.ca_cert}};
}

Bytes Request(std::string_view data, std::optional<Bytes> nonce = Bytes{0x12, 0x34},
              std::optional<std::string> policy = std::nullopt, bool cert_req = true,
              std::string hash_oid = "1.2.156.10197.1.401") {
  x509::TimeStampReq r;
  r.hash_oid = hash_oid;
  if (hash_oid == x509::oid::kSm3) {
    const crypto::Sm3Digest d = crypto::Sm3(AsBytes(data));
    r.hashed_message.assign(d.begin(), d.end());
  } else {
    r.hashed_message = Bytes(*x509::TspHashLength(hash_oid), 0x61);
  }
  r.nonce = std::move(nonce);
  r.policy = std::move(policy);
  r.cert_req = cert_req;
  return Must(x509::BuildTimeStampReq(r));
}

class TsaServiceTest : public ::testing::Test {
 protected:
  TsaServiceTest() : clock_(T0()), time_(clock_, TrustedTimeSettings{}) {
    time_.ReportSample({milliseconds(20), T0(), "ntp:test"});
    TsaSettings s;
    s.policy_oid = std::string(kPolicy);
    s.accepted_policies = {"1.2.156.112233.1.7.2"};
    s.accuracy = milliseconds(1000);
    tsa_ = Must(TsaService::Create(SoftwareIdentity(pki_), time_, s));
  }
  x509::TimeStampResp Response(const StampOutcome& out) {
    return Must(x509::ParseTimeStampResp(out.response));
  }
  void ExpectRejected(const StampOutcome& out, x509::TspFailure f) {
    EXPECT_FALSE(out.granted);
    ASSERT_TRUE(out.failure);
    EXPECT_EQ(*out.failure, f) << out.reason;
    x509::TimeStampResp r = Response(out);
    EXPECT_EQ(r.status, x509::PkiStatus::kRejection);
    EXPECT_EQ(r.fail_info, 1u << static_cast<unsigned>(f));
    EXPECT_TRUE(r.token.empty());
  }

  Pki pki_;
  ManualClock clock_;
  TrustedTime time_;
  std::unique_ptr<TsaService> tsa_;
};

// req: AS-05
TEST_F(TsaServiceTest, StampsAndVerifies) {
  clock_.Set(T0() + milliseconds(250));
  StampOutcome out = tsa_->Stamp(Request("contract.pdf"));
  ASSERT_TRUE(out.granted) << out.reason;
  x509::TimeStampResp r = Response(out);
  ASSERT_EQ(r.status, x509::PkiStatus::kGranted);

  TsaVerifyRequest v;
  v.token = out.response;  // the whole response is accepted too
  v.data = ToBytes("contract.pdf");
  v.nonce = Bytes{0x12, 0x34};
  TsaVerdict verdict = Must(tsa_->Verify(v));
  EXPECT_TRUE(verdict.valid) << (verdict.reasons.empty() ? "" : verdict.reasons[0]);
  ASSERT_TRUE(verdict.info);
  EXPECT_EQ(verdict.info->gen_time, T0() + milliseconds(250));
  EXPECT_EQ(verdict.info->policy, kPolicy);
  EXPECT_EQ(verdict.info->serial.size(), 20u);  // 160-bit serial, top bit clear
  EXPECT_EQ(verdict.info->accuracy->seconds, 1);
  EXPECT_EQ(tsa_->stats().granted, 1u);

  // The bare token, by hash; wrong data gives a reason, not an error.
  v.token = r.token;
  v.data = ToBytes("contract.pdf (forged)");
  TsaVerdict bad = Must(tsa_->Verify(v));
  EXPECT_FALSE(bad.valid);
  ASSERT_FALSE(bad.reasons.empty());
  EXPECT_NE(bad.reasons[0].find("messageImprint"), std::string::npos) << bad.reasons[0];
  TsaVerifyRequest neither;
  neither.token = r.token;
  EXPECT_EQ(tsa_->Verify(neither).error().code(), ErrorCode::kInvalidArgument);
}

// req: AS-05
TEST_F(TsaServiceTest, EveryRefusalHasItsFailureInfo) {
  ExpectRejected(tsa_->Stamp(ToBytes("garbage")), x509::TspFailure::kBadDataFormat);
  // SHA-1 is known to the parser but not accepted by this TSA's settings.
  ExpectRejected(tsa_->Stamp(Request("x", std::nullopt, std::nullopt, false, "1.3.14.3.2.26")),
                 x509::TspFailure::kBadAlg);
  ExpectRejected(tsa_->Stamp(Request("x", std::nullopt, std::string("1.2.3.4"))),
                 x509::TspFailure::kUnacceptedPolicy);
  // An accepted alternative policy is granted and used.
  StampOutcome alt = tsa_->Stamp(Request("x", std::nullopt, std::string("1.2.156.112233.1.7.2")));
  ASSERT_TRUE(alt.granted) << alt.reason;
  Bytes with_ext = Request("x");
  const Bytes critical_ext = Must(HexDecode("a00d300b06032a03040101ff040100"));
  with_ext.insert(with_ext.end(), critical_ext.begin(), critical_ext.end());
  with_ext[1] = static_cast<std::uint8_t>(with_ext[1] + critical_ext.size());
  ExpectRejected(tsa_->Stamp(with_ext), x509::TspFailure::kUnacceptedExtension);
  EXPECT_EQ(tsa_->stats().rejected, 4u);
}

// The clock guard: unknown, stale, too large an offset, or a step back -> timeNotAvailable.
// req: AS-05
TEST_F(TsaServiceTest, RefusesWhenTheClockIsNotTrustworthy) {
  ASSERT_TRUE(tsa_->Stamp(Request("a")).granted);
  time_.ReportSample({milliseconds(1500), T0(), "ntp:test"});
  ExpectRejected(tsa_->Stamp(Request("a")), x509::TspFailure::kTimeNotAvailable);
  time_.ReportSample({milliseconds(-900), T0(), "ntp:test"});
  EXPECT_TRUE(tsa_->Stamp(Request("a")).granted);
  clock_.Set(T0() + seconds(3601));  // the sample is now stale
  ExpectRejected(tsa_->Stamp(Request("a")), x509::TspFailure::kTimeNotAvailable);
  time_.ReportSample({milliseconds(1), clock_.Now(), "ntp:test"});
  ASSERT_TRUE(tsa_->Stamp(Request("a")).granted);
  // Stepped back by 5 s: refused until the clock catches up.
  clock_.Set(T0() + seconds(3596));
  time_.ReportSample({milliseconds(1), clock_.Now(), "ntp:test"});
  StampOutcome back = tsa_->Stamp(Request("a"));
  ExpectRejected(back, x509::TspFailure::kTimeNotAvailable);
  EXPECT_NE(back.reason.find("stepped back"), std::string::npos) << back.reason;
  clock_.Set(T0() + seconds(3601) - milliseconds(50));  // within the 100 ms tolerance
  EXPECT_TRUE(tsa_->Stamp(Request("a")).granted);
  time_.ReportSourceLost("ntp unreachable");
  StampOutcome lost = tsa_->Stamp(Request("a"));
  ExpectRejected(lost, x509::TspFailure::kTimeNotAvailable);
  EXPECT_NE(lost.reason.find("ntp unreachable"), std::string::npos) << lost.reason;
}

// req: AS-05
TEST(TrustedTimeTest, WithoutASourceOnlyTheMonotonicGuardApplies) {
  ManualClock clock(T0());
  TrustedTime strict(clock, TrustedTimeSettings{});
  EXPECT_EQ(strict.Now().error().code(), ErrorCode::kUnavailable);
  TrustedTimeSettings lax;
  lax.require_source = false;
  TrustedTime t(clock, lax);
  EXPECT_EQ(Must(t.Now()), T0());
  clock.Set(T0() - seconds(1));
  EXPECT_EQ(t.Now().error().code(), ErrorCode::kUnavailable);
  clock.Set(T0() + seconds(1));
  EXPECT_TRUE(t.Now().ok());
}

// Serials never repeat: across many threads, across two sources (restarts / nodes), and when
// the 32-bit counter wraps.
// req: AS-05
TEST(SerialSourceTest, SerialsAreUniqueAnd160Bits) {
  auto a = Must(SerialSource::Create());
  auto b = Must(SerialSource::Create());
  std::set<SerialSource::Serial> seen;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        SerialSource::Serial s = Must(a->Next());
        std::lock_guard<std::mutex> lock(mu);
        EXPECT_TRUE(seen.insert(s).second);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(Must(b->Next())).second);
  for (const auto& s : seen) {
    EXPECT_EQ(s[0] & 0x80, 0);
    EXPECT_NE(s[0], 0);
  }
  auto fixed = Must(SerialSource::Create(Bytes(16, 0xff)));
  SerialSource::Serial first = Must(fixed->Next());
  EXPECT_EQ(first[0], 0x7f);
  EXPECT_EQ(first[19], 0);
  EXPECT_EQ(Must(fixed->Next())[19], 1);
}

// req: AS-05
TEST(TsaServiceCreate, RefusesUnfitCertificatesAndSettings) {
  Pki pki;
  ManualClock clock(T0());
  TrustedTime time(clock, TrustedTimeSettings{});
  TsaSettings s;
  s.policy_oid = std::string(kPolicy);
  // EKU not critical (RFC 3161 section 2.3).
  auto loose = TsaService::Create(
      SoftwareIdentity(pki, {Must(x509::ext::ExtKeyUsage(
                                {std::string(x509::oid::kKpTimeStamping)}, false))}),
      time, s);
  EXPECT_EQ(loose.error().code(), ErrorCode::kInvalidArgument);
  auto extra = TsaService::Create(
      SoftwareIdentity(pki, {Must(x509::ext::ExtKeyUsage(
                                {std::string(x509::oid::kKpTimeStamping),
                                 std::string(x509::oid::kKpServerAuth)},
                                true))}),
      time, s);
  EXPECT_EQ(extra.error().code(), ErrorCode::kInvalidArgument);
  TsaSettings bad_policy = s;
  bad_policy.policy_oid = "not an oid";
  EXPECT_FALSE(TsaService::Create(SoftwareIdentity(pki), time, bad_policy).ok());
  TsaSettings bad_hash = s;
  bad_hash.accepted_hashes = {"1.2.840.113549.2.5"};
  EXPECT_FALSE(TsaService::Create(SoftwareIdentity(pki), time, bad_hash).ok());
  EXPECT_TRUE(TsaService::Create(SoftwareIdentity(pki), time, s).ok());
}

// The TSA key in the (soft) crypto device; many threads stamp through the session pool.
// req: AS-05
TEST(TsaDevice, StampsWithTheDeviceKeyConcurrently) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("gmpki_tsa_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    auto dev =
        Must(device::SoftDevice::Create(dir / "tsa.sealed", Must(device::GenerateMasterKey())));
    auto session = Must(dev->OpenSession());
    device::KeyInfo key = Must(session->GenerateKeyPair("tsa-2026", device::KeyPurpose::kSign));
    Pki pki;
    Bytes cert = pki.Issue(key.public_key, Pki::TsaExts(), "gmpki TSA (device)");
    Bytes other = pki.Issue(Must(crypto::Sm2GenerateKeyPair()).public_key, Pki::TsaExts(), "x");
    EXPECT_EQ(IdentityFromDevice(*dev, "tsa-2026", other, {}).error().code(),
              ErrorCode::kIntegrityFailure);
    EXPECT_EQ(IdentityFromDevice(*dev, "missing", cert, {}).error().code(), ErrorCode::kNotFound);
    TsaIdentity id = Must(IdentityFromDevice(*dev, "tsa-2026", cert, {pki.ca_cert.der()}, 2));
    ManualClock clock(T0());
    TrustedTimeSettings ts;
    ts.require_source = false;
    TrustedTime time(clock, ts);
    TsaSettings s;
    s.policy_oid = std::string(kPolicy);
    auto tsa = Must(TsaService::Create(std::move(id), time, s));
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 10; ++i) {
          const std::string data = "doc " + std::to_string(t) + "/" + std::to_string(i);
          StampOutcome out = tsa->Stamp(Request(data));
          TsaVerifyRequest v;
          v.token = out.response;
          v.data = ToBytes(data);
          auto verdict = tsa->Verify(v);
          if (out.granted && verdict.ok() && verdict->valid) ++ok;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(ok.load(), 40);
  }
  std::filesystem::remove_all(dir);
}

// RFC 3161 section 3.4 over the router: content types, a reply for every request, and the
// JSON verify endpoint.
// req: AS-05
TEST_F(TsaServiceTest, HttpRoutes) {
  net::Router router;
  ASSERT_TRUE(AddTsaRoutes(router, *tsa_).ok());
  net::HttpRequest req;
  req.method = "POST";
  req.path = req.target = "/tsa";
  req.headers["Content-Type"] = std::string(kTimestampQueryType);
  const Bytes query = Request("http body", Bytes{0x77});
  req.body = ToString(query);
  net::HttpResponse resp = router.Dispatch(req);
  ASSERT_EQ(resp.status, 200) << resp.body;
  EXPECT_EQ(resp.content_type, kTimestampReplyType);
  x509::TimeStampResp parsed = Must(x509::ParseTimeStampResp(AsBytes(resp.body)));
  EXPECT_EQ(parsed.status, x509::PkiStatus::kGranted);

  net::HttpRequest wrong = req;
  wrong.headers["Content-Type"] = "application/octet-stream";
  EXPECT_EQ(router.Dispatch(wrong).status, 415);

  net::HttpRequest garbage = req;
  garbage.body = "nonsense";
  net::HttpResponse rej = router.Dispatch(garbage);
  ASSERT_EQ(rej.status, 200);
  EXPECT_EQ(Must(x509::ParseTimeStampResp(AsBytes(rej.body))).status,
            x509::PkiStatus::kRejection);

  net::HttpRequest verify;
  verify.method = "POST";
  verify.path = verify.target = "/api/v1/tsa/verify";
  verify.headers["Content-Type"] = "application/json";
  const crypto::Sm3Digest h = crypto::Sm3(AsBytes("http body"));
  verify.body = nlohmann::json{{"token", Base64Encode(parsed.token)},
                               {"hash", HexEncode(h)},
                               {"hash_alg", "SM3"},
                               {"nonce", "77"}}
                    .dump();
  net::HttpResponse v = router.Dispatch(verify);
  ASSERT_EQ(v.status, 200) << v.body;
  auto j = nlohmann::json::parse(v.body);
  EXPECT_TRUE(j["valid"].get<bool>()) << v.body;
  EXPECT_EQ(j["hash_alg"], "sm3");
  EXPECT_EQ(j["policy"], kPolicy);
  EXPECT_EQ(j["nonce"], "77");
  EXPECT_EQ(j["serial"].get<std::string>().size(), 40u);

  verify.body = nlohmann::json{{"token", Base64Encode(parsed.token)},
                               {"data", Base64Encode(AsBytes("other body"))}}
                    .dump();
  auto jv = nlohmann::json::parse(router.Dispatch(verify).body);
  EXPECT_FALSE(jv["valid"].get<bool>());
  EXPECT_FALSE(jv["reasons"].empty());

  verify.body = R"({"token":"!!"})";
  EXPECT_EQ(router.Dispatch(verify).status, 400);
  verify.body = nlohmann::json{{"token", Base64Encode(parsed.token)}}.dump();
  EXPECT_EQ(router.Dispatch(verify).status, 400);
}

}  // namespace
}  // namespace gmpki::tsa
