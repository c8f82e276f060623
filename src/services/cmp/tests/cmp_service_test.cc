// The CMP service on both storage backends: client management, and Handle() on requests made
// by the real `openssl cmp` client (-reqout, against its own mock server), including every refusal of issue #4
// item 7 for CMP: bad MAC, unknown reference, suspended client, replay, unknown CA, garbage.
#include "services/cmp/tests/cmp_fixture.h"

namespace gmpki::cmp {
namespace {

using store::testutil::BackendTest;
using testing::CmpEnvironment;
using testing::kOp;
using testing::kSec;
using testing::Shell;

template <class B>
class CmpServiceTest : public BackendTest<B> {
 protected:
  void SetUp() override {
    BackendTest<B>::SetUp();
    auto st = env_.SetUp(this->db());
    ASSERT_TRUE(st.ok()) << st.error().ToString();
  }
  void TearDown() override {
    env_.TearDown();
    BackendTest<B>::TearDown();
  }
  CmpService& cmp() { return *env_.cmp_; }
  // An ir made by `openssl cmp`, saved with -reqout while it talks to its own in-process mock
  // server (-use_mock_srv), so no network is involved.
  Bytes OpensslIr(const std::string& ref, const std::string& secret, const std::string& cn) {
    auto mock = env_.dir_ / "mock.pem";
    if (!std::filesystem::exists(mock)) {
      auto mk = env_.NewKey("mock");
      EXPECT_EQ(Shell("openssl req -x509 -new -key '" + mk.string() + "' -subj /CN=mock -sm3 -days 2 -out '" +
                          mock.string() + "'", env_.dir_ / "req.log"), 0);
    }
    auto key = env_.NewKey("k" + HexEncode(*crypto::RandomBytes(4)));
    auto out = env_.dir_ / ("ir-" + HexEncode(*crypto::RandomBytes(4)) + ".der");
    Shell("openssl cmp -cmd ir -use_mock_srv -srv_ref " + ref + " -srv_secret pass:" + secret +
              " -rsp_cert '" + mock.string() + "' -ref " + ref + " -secret pass:" + secret +
              " -newkey '" + key.string() + "' -subject '/CN=" + cn + "' -digest sm3 -certout '" +
              out.string() + ".pem' -reqout '" + out.string() + "," + out.string() + ".conf'",
          env_.dir_ / "cmp.log");
    Bytes der = testing::ReadBytes(out);
    EXPECT_FALSE(der.empty()) << testing::ReadText(env_.dir_ / "cmp.log");
    return der;
  }
  std::int64_t Certificates() {
    return env_.Count(this->db(), "SELECT COUNT(*) FROM certificates WHERE ca = 'ministry-ca'");
  }
  std::int64_t FailedAudits(const std::string& action) {
    return env_.Count(this->db(), "SELECT COUNT(*) FROM audit_records WHERE action = '" + action +
                                      "' AND outcome = 2");
  }
  MessageInfo Answer(ByteView request, const std::string& ca = "ministry-ca") {
    auto rsp = cmp().Handle(ca, request);
    EXPECT_TRUE(rsp.ok()) << rsp.error().ToString();
    if (!rsp.ok()) return {};
    auto info = ReadMessage(rsp->der);
    EXPECT_TRUE(info.ok());
    return info.ok() ? *info : MessageInfo{};
  }
  CmpEnvironment env_;
};
TYPED_TEST_SUITE(CmpServiceTest, store::testutil::AllBackends, store::testutil::BackendNames);

// req: CA-01
TYPED_TEST(CmpServiceTest, ClientsNeedRaManageAndTheirSecretIsEncryptedAtRest) {
  auto denied = this->cmp().CreateClient(kOp, "ra-1", "ministry-ca", {"personal-sign"});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermissionDenied);
  auto c = this->cmp().CreateClient(kSec, "ra-1", "ministry-ca", {"personal-sign", "device-sign"});
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->secret.size(), 32u);
  EXPECT_EQ(c->client.status, kClientActive);
  // The secret never appears in the table in clear.
  auto tx = this->db().BeginReadOnly();
  auto row = (*tx)->QueryOne("SELECT secret_ct FROM cmp_clients WHERE reference = 'ra-1'");
  ASSERT_TRUE(row.ok() && row->has_value());
  std::string stored = ToString((*row)->Blob(0));
  EXPECT_EQ(stored.find(c->secret), std::string::npos);
  (void)(*tx)->Rollback();

  EXPECT_EQ(this->cmp().CreateClient(kSec, "ra-1", "ministry-ca", {"personal-sign"}).error().code(),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(this->cmp().CreateClient(kSec, "ra-2", "no-such-ca", {"personal-sign"}).error().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(this->cmp().CreateClient(kSec, "ra-2", "ministry-ca", {"business-ca"}).error().code(),
            ErrorCode::kPolicyViolation);
  EXPECT_EQ(this->cmp().CreateClient(kSec, "bad ref", "ministry-ca", {"personal-sign"}).error().code(),
            ErrorCode::kInvalidArgument);
  auto list = this->cmp().ListClients(kSec);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].profiles, (std::vector<std::string>{"personal-sign", "device-sign"}));
  EXPECT_EQ(this->cmp().ListClients(kOp).error().code(), ErrorCode::kPermissionDenied);
  ASSERT_TRUE(this->cmp().SuspendClient(kSec, "ra-1").ok());
  EXPECT_EQ((*this->cmp().ListClients(kSec))[0].status, kClientSuspended);
  EXPECT_EQ(this->cmp().SuspendClient(kSec, "nobody").error().code(), ErrorCode::kNotFound);
}

// req: CA-01
TYPED_TEST(CmpServiceTest, DemoClientIsCreatedOnceAndKeepsItsSecret) {
  auto a = this->cmp().EnsureDemoClient("ministry-ca");
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_EQ(a->reference, "demo-ra");
  EXPECT_EQ(a->path, "/cmp/ministry-ca");
  auto b = this->cmp().EnsureDemoClient("ministry-ca");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->secret, b->secret);
}

// req: CA-01, CA-02
TYPED_TEST(CmpServiceTest, OpensslIrIsAnsweredWithACertificateAndAReplayIssuesNothing) {
  auto c = this->cmp().CreateClient(kSec, "ra-1", "ministry-ca", {"personal-sign"});
  ASSERT_TRUE(c.ok());
  Bytes ir = this->OpensslIr("ra-1", c->secret, "Zhang San");
  ASSERT_FALSE(ir.empty());
  auto ip = this->Answer(ir);
  EXPECT_EQ(ip.body, static_cast<int>(BodyType::kIp));
  EXPECT_EQ(ip.status, 0) << ip.status_text;
  ASSERT_EQ(ip.certificates.size(), 1u);
  auto cert = x509::Certificate::FromDer(ip.certificates[0]);
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->subject().ToRfc4514(), "CN=Zhang San");
  this->env_.ExpectChains(*cert);
  EXPECT_EQ(this->Certificates(), 1);
  // The same message again (same transactionID and senderNonce): refused, nothing issued.
  auto again = this->Answer(ir);
  EXPECT_EQ(again.body, static_cast<int>(BodyType::kError));
  EXPECT_TRUE(again.fail_info & (1u << kTransactionIdInUse)) << again.fail_info;
  EXPECT_EQ(this->Certificates(), 1);
  EXPECT_EQ(this->FailedAudits("cmp.ir"), 1);
}

// req: CA-01
TYPED_TEST(CmpServiceTest, BadMacUnknownReferenceAndSuspendedClientAreRefusedAndAudited) {
  auto c = this->cmp().CreateClient(kSec, "ra-1", "ministry-ca", {"personal-sign"});
  ASSERT_TRUE(c.ok());
  // Wrong secret: badMessageCheck, nothing issued, audited as a failure.
  auto bad = this->Answer(this->OpensslIr("ra-1", "not-the-secret", "Li Si"));
  EXPECT_EQ(bad.body, static_cast<int>(BodyType::kError));
  EXPECT_TRUE(bad.fail_info & (1u << kBadMessageCheck)) << bad.fail_info;
  EXPECT_FALSE(bad.protected_);
  // Unknown reference.
  auto unknown = this->Answer(this->OpensslIr("nobody", c->secret, "Li Si"));
  EXPECT_EQ(unknown.body, static_cast<int>(BodyType::kError));
  EXPECT_TRUE(unknown.fail_info & (1u << kSignerNotTrusted)) << unknown.fail_info;
  // Suspended client, with the right secret.
  ASSERT_TRUE(this->cmp().SuspendClient(kSec, "ra-1").ok());
  auto suspended = this->Answer(this->OpensslIr("ra-1", c->secret, "Li Si"));
  EXPECT_EQ(suspended.body, static_cast<int>(BodyType::kError));
  EXPECT_TRUE(suspended.fail_info & (1u << kNotAuthorized)) << suspended.fail_info;
  EXPECT_EQ(this->Certificates(), 0);
  EXPECT_EQ(this->FailedAudits("cmp.ir"), 3);
  // Resumed: the same kind of request now works.
  ASSERT_TRUE(this->cmp().ResumeClient(kSec, "ra-1").ok());
  auto ok = this->Answer(this->OpensslIr("ra-1", c->secret, "Li Si"));
  EXPECT_EQ(ok.body, static_cast<int>(BodyType::kIp));
  EXPECT_EQ(this->Certificates(), 1);
}

// req: CA-01
TYPED_TEST(CmpServiceTest, UnknownCaAndGarbageAreNotCmpAnswers) {
  auto c = this->cmp().CreateClient(kSec, "ra-1", "ministry-ca", {"personal-sign"});
  ASSERT_TRUE(c.ok());
  Bytes ir = this->OpensslIr("ra-1", c->secret, "Wang Wu");
  auto unknown_ca = this->cmp().Handle("no-such-ca", ir);
  ASSERT_FALSE(unknown_ca.ok());
  EXPECT_EQ(unknown_ca.error().code(), ErrorCode::kNotFound);
  auto garbage = this->cmp().Handle("ministry-ca", ToBytes("hello, not DER"));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code(), ErrorCode::kMalformedInput);
  // A client authorised for another CA is refused on this one.
  auto other = this->cmp().CreateClient(kSec, "ra-2", "industry", {"personal-sign"});
  ASSERT_TRUE(other.ok());
  auto wrong = this->Answer(this->OpensslIr("ra-2", other->secret, "Wang Wu"));
  EXPECT_TRUE(wrong.fail_info & (1u << kWrongAuthority)) << wrong.fail_info;
  EXPECT_EQ(this->Certificates(), 0);
}

// req: CA-01, CA-02
TYPED_TEST(CmpServiceTest, SignatureClientIsStoredAndItsSignedIrIsAnsweredSigned) {
  // The RA's SM2 key and its device-sign certificate from ministry-ca.
  auto kp = crypto::Sm2GenerateKeyPair();
  ASSERT_TRUE(kp.ok());
  ca::IssueRequest req;
  req.ca = "ministry-ca";
  req.profile = "device-sign";
  auto issued = this->env_.ca_->IssueVerifiedKey(kOp, req, *x509::Name::Parse("CN=RA"),
                                                 kp->public_key);
  ASSERT_TRUE(issued.ok()) << issued.error().ToString();
  auto ra = *x509::Certificate::FromDer(issued->record.der);
  auto c = this->cmp().CreateCertClient(kSec, "ra-sig", "ministry-ca", {"personal-sign"},
                                        ra.ToPem());
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  auto list = this->cmp().ListClients(kSec);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().protection, kProtectionSignature);
  EXPECT_EQ(list->front().cert_serial_hex, ra.serial_hex());
  const std::string_view id = crypto::kDefaultSm2Id;
  auto sign = [&](ByteView part) {
    return crypto::Sm2Sign(kp->private_key, kp->public_key,
                           ByteView(reinterpret_cast<const std::uint8_t*>(id.data()), id.size()),
                           part);
  };
  // senderKID = the SKI of the RA certificate names the client (RFC 9483 §3.1).
  auto signed_ir = AddSignatureProtection(this->OpensslIr("x", "x", "Zhang San"),
                                          ra.subject().der(), *ra.subject_key_id(), {ra.der()},
                                          sign);
  ASSERT_TRUE(signed_ir.ok()) << signed_ir.error().ToString();
  auto before = this->Certificates();
  auto ip = this->cmp().Handle("ministry-ca", *signed_ir);
  ASSERT_TRUE(ip.ok()) << ip.error().ToString();
  auto info = ReadMessage(ip->der);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->body, static_cast<int>(BodyType::kIp));
  ASSERT_TRUE(info->status);
  EXPECT_EQ(*info->status, 0) << info->status_text;
  EXPECT_EQ(this->Certificates(), before + 1);
  ASSERT_TRUE(info->protection_alg);
  EXPECT_EQ(*info->protection_alg, kOidSm2WithSm3);
  auto ca_cert = *x509::Certificate::FromDer(this->env_.ca_->GetCa("ministry-ca")->cert_der);
  auto prot = ReadProtection(ip->der);
  ASSERT_TRUE(prot.ok());
  const ByteView id_bytes(reinterpret_cast<const std::uint8_t*>(id.data()), id.size());
  EXPECT_TRUE(crypto::Sm2Verify(ca_cert.public_key(), id_bytes, prot->protected_part,
                                prot->protection)
                  .ok());
  // A second transaction whose signature is broken (last signature byte flipped).
  auto again = AddSignatureProtection(this->OpensslIr("x", "x", "Li Si"), ra.subject().der(),
                                      *ra.subject_key_id(), {ra.der()}, sign);
  ASSERT_TRUE(again.ok());
  auto broken = ReadProtection(*again);
  ASSERT_TRUE(broken.ok());
  Bytes tampered = *again;
  auto at = std::search(tampered.begin(), tampered.end(), broken->protection.begin(),
                        broken->protection.end());
  ASSERT_NE(at, tampered.end());
  *(at + static_cast<std::ptrdiff_t>(broken->protection.size()) - 1) ^= 0x01;
  auto refused = this->Answer(tampered);
  EXPECT_EQ(refused.fail_info, 1u << kBadMessageCheck);
  EXPECT_EQ(this->Certificates(), before + 1);
  // Without senderKID the first extraCerts certificate names the client.
  auto by_cert = AddSignatureProtection(this->OpensslIr("x", "x", "Wang Wu"), ra.subject().der(),
                                        {}, {ra.der()}, sign);
  ASSERT_TRUE(by_cert.ok());
  auto answer = this->Answer(*by_cert);
  ASSERT_TRUE(answer.status);
  EXPECT_EQ(*answer.status, 0) << answer.status_text;
  EXPECT_EQ(this->Certificates(), before + 2);
}

}  // namespace
}  // namespace gmpki::cmp
