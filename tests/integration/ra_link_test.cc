// RA-to-CA trust end to end (CA-01, HI-03, HI-05, CC-FTP): a province-mode-1 RA node attaches
// to the ministry CA node by configuration, over real mutual TLS on 127.0.0.1, and every
// request it makes is signed with its device key and kept by the CA as evidence.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "crypto/random.h"
#include "crypto/sm2.h"
#include "net/server.h"
#include "services/ca/ra_protocol.h"
#include "services/ca/ra_routes.h"
#include "services/node/node.h"
#include "x509/chain.h"
#include "x509/csr.h"
#include "x509/name.h"
#include "x509/pem.h"
#include "x509/signer.h"

namespace gmpki {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using services::Actor;
using services::Role;

const Actor kOp{node::InitialOperatorName(Role::kCaOperator), Role::kCaOperator};
const Actor kSec{node::InitialOperatorName(Role::kSecurityAdmin), Role::kSecurityAdmin};

Bytes NewCsr(const std::string& cn) {
  auto kp = crypto::Sm2GenerateKeyPair();
  auto key = std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key));
  return *x509::BuildCsr(*x509::Name::Parse("C=CN,O=MOHRSS,CN=" + cn), x509::MakeSoftwareSigner(key, kp->public_key));
}

// A stand-in key management centre for the link test: real SM2 key pairs, placeholder envelope
// bytes (the KM's own tests and services/ra's dual-certificate tests open real envelopes).
// What matters here is that every field crosses the RA link unchanged.
class FakeKm final : public ca::KmGateway {
 public:
  Result<ca::KmKeyDelivery> ApplyKey(const std::string& request_id, ByteView,
                                     std::int64_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++applied;
    auto it = by_request_.find(request_id);
    if (it == by_request_.end()) {
      GMPKI_ASSIGN_OR_RETURN(auto kp, crypto::Sm2GenerateKeyPair());
      std::string id = "key-" + std::to_string(keys_.size() + 1);
      keys_.emplace(id, kp.public_key);
      it = by_request_.emplace(request_id, id).first;
    }
    return Delivery(it->second, "apply");
  }
  Status BindCertificate(const std::string& key_id, const std::string& cert_ref) override {
    std::lock_guard<std::mutex> lock(mu_);
    bound_[cert_ref] = key_id;
    return OkStatus();
  }
  Status RevokeKey(const std::string&, const std::string&) override { return OkStatus(); }
  Result<ca::KmKeyDelivery> RestoreKey(const std::string& request_id, const std::string& cert_ref,
                                       ByteView) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++restored;
    auto it = bound_.find(cert_ref);
    if (it == bound_.end()) return Error(ErrorCode::kNotFound, "no key for " + cert_ref);
    return Delivery(it->second, "restore:" + request_id);
  }
  ca::KmKeyDelivery Delivery(const std::string& key_id, const std::string& tag) const {
    return {key_id, keys_.at(key_id), ToBytes("skf:" + key_id + ":" + tag),
            ToBytes("35276:" + key_id + ":" + tag), ToBytes("0010:" + key_id + ":" + tag)};
  }
  int applied = 0, restored = 0;

 private:
  std::mutex mu_;
  std::map<std::string, crypto::Sm2PublicKey> keys_;
  std::map<std::string, std::string> by_request_, bound_;
};

class RaLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("gmpki-ralink-" + HexEncode(*crypto::RandomBytes(6)));
    SystemClock clock;
    node::InitOptions ca_home;
    ca_home.home = base_ / "ministry";
    ca_home.demo = true;
    ASSERT_TRUE(node::InitHome(ca_home, clock).ok());
    node::InitOptions ra_home;
    ra_home.home = base_ / "province";
    ra_home.demo = true;
    ra_home.demo_hierarchy = false;
    ASSERT_TRUE(node::InitHome(ra_home, clock).ok());
    auto a = node::Node::Open(base_ / "ministry");
    auto b = node::Node::Open(base_ / "province");
    ASSERT_TRUE(a.ok() && b.ok());
    ca_ = std::move(a).value();
    ra_ = std::move(b).value();

    // Step 1 (RA node), step 2 (CA node).
    auto request = ra_->CreateRaLinkRequest("gd-ra");
    ASSERT_TRUE(request.ok()) << request.error().ToString();
    node::Node::RaEnrolOptions o;
    o.issuer_ca = "ministry-ca";
    o.profiles = {"personal-sign", "organization-sign"};
    auto response = ca_->EnrolRa(kOp, kSec, *request, o);
    ASSERT_TRUE(response.ok()) << response.error().ToString();

    // The CA node's HTTPS server with the RA-link route, mutual TLS as in gmpki-server.
    net::Router api;
    ASSERT_TRUE(ca::AddRaLinkRoutes(api, ca_->ra_trust()).ok());
    auto tls = ca_->LoadServerTls();
    ASSERT_TRUE(tls.ok());
    net::ServerConfig cfg;
    cfg.threads = 4;
    net::TlsServerConfig tc;
    tc.cert_chain_pem = tls->cert_chain_pem;
    tc.key_pem = std::move(tls->key_pem);
    tc.key_passphrase = std::move(tls->passphrase);
    tc.client_ca_pem = tls->client_ca_pem;
    tc.client_cert_mode = net::ClientCertMode::kOptional;
    cfg.tls = std::move(tc);
    server_ = std::make_unique<net::HttpServer>(std::move(cfg), std::move(api));
    ASSERT_TRUE(server_->Start().ok());

    // Step 3 (RA node): configuration only.
    ASSERT_TRUE(ra_->ImportRaLink(*response, "https://127.0.0.1:" + std::to_string(server_->BoundPort())).ok());
    auto g = ra_->CaGateway();
    ASSERT_TRUE(g.ok()) << g.error().ToString();
    gw_ = *g;
  }
  void TearDown() override {
    if (ca_) ca_->ca().SetKmGateway(nullptr);
    server_.reset();
    ra_.reset();
    ca_.reset();
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  std::int64_t CaCount(const std::string& sql) {
    auto tx = ca_->db().BeginReadOnly();
    return (*(*tx)->QueryOne(sql))->Int(0);
  }
  ca::IssueRequest Request(const std::string& cn, const std::string& profile = "personal-sign",
                           const std::string& ca = "ministry-ca") {
    ca::IssueRequest r;
    r.ca = ca;
    r.profile = profile;
    r.csr = NewCsr(cn);
    r.identity.resident_id = "11010519491231002X";
    return r;
  }

  fs::path base_;
  std::unique_ptr<node::Node> ca_, ra_;
  std::unique_ptr<net::HttpServer> server_;
  ra::CaGateway* gw_ = nullptr;
};

// req: CA-01, HI-03, HI-05, CC-FTP
TEST_F(RaLinkTest, RemoteRaIssuesOverMutualTlsWithSignedIdempotentRequests) {
  EXPECT_EQ(ra_->config().ra_name, "gd-ra");
  auto req = Request("Zhang San");
  auto issued = gw_->Issue("gd-0001", req);
  ASSERT_TRUE(issued.ok()) << issued.error().ToString();
  EXPECT_EQ(issued->record.requested_by, "ra:gd-ra");
  // The certificate chains to the ministry CA's root under the GM/T rule.
  auto chain = gw_->CaChain("ministry-ca");
  ASSERT_TRUE(chain.ok()) << chain.error().ToString();
  std::vector<x509::Certificate> cas;
  for (const auto& der : *chain) cas.push_back(*x509::Certificate::FromDer(der));
  auto leaf = x509::Certificate::FromDer(issued->record.der);
  ASSERT_TRUE(leaf.ok());
  std::vector<x509::Certificate> intermediates(cas.begin(), cas.end() - 1);
  EXPECT_TRUE(x509::VerifyChain(*leaf, intermediates, {cas.back()}, x509::ChainOptions{std::chrono::system_clock::now()}).ok());

  // A resubmission (lost answer) returns the same certificate and issues nothing.
  std::int64_t certs = CaCount("SELECT COUNT(*) FROM certificates");
  auto again = gw_->Issue("gd-0001", req);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->record.serial_hex, issued->record.serial_hex);
  EXPECT_EQ(CaCount("SELECT COUNT(*) FROM certificates"), certs);
  // The same request ID for another request: refused.
  EXPECT_EQ(gw_->Issue("gd-0001", Request("Li Si")).error().code(), ErrorCode::kConflict);

  // Evidence: every request is stored with its payload and an SM2 signature that verifies
  // with the RA's enrolled signing certificate.
  auto tx = ca_->db().BeginReadOnly();
  auto ev = (*tx)->QueryOne("SELECT payload, signature, outcome FROM ca_ra_requests WHERE ra = 'gd-ra' AND "
                            "request_id = 'gd-0001'");
  ASSERT_TRUE(ev.ok() && *ev);
  EXPECT_EQ((*ev)->Text(2), "success");
  auto ra_rec = ca_->ra_trust().Get(kSec, "gd-ra");
  ASSERT_TRUE(ra_rec.ok());
  auto ra_cert = x509::Certificate::FromDer(ra_rec->sign_cert_der);
  EXPECT_TRUE(crypto::Sm2Verify(ra_cert->public_key(), AsBytes(crypto::kDefaultSm2Id), (*ev)->Blob(0), (*ev)->Blob(1)).ok());
  (void)(*tx)->Rollback();

  // Renewal and revocation through the link, both idempotent.
  auto renewed = gw_->Renew("gd-0002", "ministry-ca", issued->record.serial_hex, 30);
  ASSERT_TRUE(renewed.ok()) << renewed.error().ToString();
  auto renewed_again = gw_->Renew("gd-0002", "ministry-ca", issued->record.serial_hex, 30);
  ASSERT_TRUE(renewed_again.ok());
  EXPECT_EQ(renewed_again->record.serial_hex, renewed->record.serial_hex);
  ASSERT_TRUE(gw_->Revoke("gd-0003", "ministry-ca", issued->record.serial_hex, x509::RevocationReason::kKeyCompromise).ok());
  ASSERT_TRUE(gw_->Revoke("gd-0003", "ministry-ca", issued->record.serial_hex, x509::RevocationReason::kKeyCompromise).ok());
  EXPECT_EQ(gw_->GetCertificate("ministry-ca", issued->record.serial_hex)->status, "revoked");
}

// req: CA-01, HI-06
TEST_F(RaLinkTest, ManyInOneRequestWhereOneBadItemFailsAlone) {
  std::vector<ra::GatewayIssue> items;
  for (int i = 0; i < 12; ++i) items.push_back({"card-" + std::to_string(i), Request("Holder " + std::to_string(i))});
  items[5].request.csr = ToBytes("not a CSR");
  items[7].request_id = "bad id with spaces";
  auto results = gw_->IssueMany(items);
  ASSERT_EQ(results.size(), items.size());
  int ok = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i == 5 || i == 7) {
      EXPECT_FALSE(results[i].ok()) << i;
    } else {
      ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].error().ToString();
      ++ok;
    }
  }
  EXPECT_EQ(ok, 10);
  EXPECT_EQ(results[5].error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(results[7].error().code(), ErrorCode::kInvalidArgument);
  // The whole batch again: the same ten certificates, nothing new.
  std::int64_t certs = CaCount("SELECT COUNT(*) FROM certificates");
  auto again = gw_->IssueMany(items);
  EXPECT_EQ(CaCount("SELECT COUNT(*) FROM certificates"), certs);
  EXPECT_EQ(again[0]->record.serial_hex, results[0]->record.serial_hex);
}

// req: CA-01, CC-FTP
TEST_F(RaLinkTest, AuthorisationSuspensionAndForgedRequestsAreRefused) {
  // Outside what the CA authorised: another CA, another profile.
  EXPECT_EQ(gw_->Issue("x-1", Request("A", "personal-sign", "industry-ca")).error().code(),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(gw_->Issue("x-2", Request("A", "device-sign")).error().code(), ErrorCode::kPermissionDenied);
  // Suspended by the CA's security administrator: refused until resumed.
  ASSERT_TRUE(ca_->ra_trust().Suspend(kSec, "gd-ra").ok());
  auto refused = gw_->Issue("x-3", Request("B"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().message().find("suspended"), std::string::npos);
  EXPECT_EQ(ca_->ra_trust().Suspend(kSec, "gd-ra").error().code(), ErrorCode::kConflict);
  EXPECT_EQ(ca_->ra_trust().Suspend(kOp, "gd-ra").error().code(), ErrorCode::kPermissionDenied);
  ASSERT_TRUE(ca_->ra_trust().Resume(kSec, "gd-ra").ok());
  EXPECT_TRUE(gw_->Issue("x-3", Request("B")).ok());
  // Authorisation widened: now device-sign is allowed.
  ASSERT_TRUE(ca_->ra_trust().Authorise(kSec, "gd-ra", {"ministry-ca"}, {"personal-sign", "device-sign"}).ok());
  auto device_req = Request("gateway-01", "device-sign");
  device_req.identity = {};
  auto widened = gw_->Issue("x-4", device_req);
  EXPECT_TRUE(widened.ok()) << widened.error().ToString();

  // Requests made by hand against RaTrust::Handle: signed with the RA's device key.
  auto ra_rec = *ca_->ra_trust().Get(kSec, "gd-ra");
  auto sign = [&](const json& payload) {
    auto s = ra_->device().OpenSession();
    auto key = (*s)->FindKey("ra-link-sign");
    ca::ralink::Envelope e;
    e.payload = payload.dump();
    e.signature = *(*s)->SignMessage(key->index, AsBytes(crypto::kDefaultSm2Id), AsBytes(e.payload));
    return e;
  };
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  json args{{"ca", "ministry-ca"}};
  json payload{{"v", 1}, {"ra", "gd-ra"}, {"request_id", "h-1"}, {"created_ms", now_ms}, {"op", "ca-chain"}, {"args", args}};
  EXPECT_TRUE(ca_->ra_trust().Handle(ra_rec.tls_fingerprint, ca::ralink::EncodeEnvelope(sign(payload))).ok());
  // Expired (10 minutes old): refused.
  json old = payload;
  old["created_ms"] = now_ms - 600'000;
  auto expired = ca_->ra_trust().Handle(ra_rec.tls_fingerprint, ca::ralink::EncodeEnvelope(sign(old)));
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(expired.error().message().find("expired"), std::string::npos);
  // Changed after signing: refused.
  auto env = sign(payload);
  env.payload[env.payload.size() / 2] ^= 1;
  EXPECT_EQ(ca_->ra_trust().Handle(ra_rec.tls_fingerprint, ca::ralink::EncodeEnvelope(env)).error().code(),
            ErrorCode::kBadSignature);
  // Naming another RA, or arriving on an unknown TLS certificate: unauthenticated.
  json other = payload;
  other["ra"] = "zj-ra";
  EXPECT_EQ(ca_->ra_trust().Handle(ra_rec.tls_fingerprint, ca::ralink::EncodeEnvelope(sign(other))).error().code(),
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(ca_->ra_trust().Handle(std::string(64, 'a'), ca::ralink::EncodeEnvelope(sign(payload))).error().code(),
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(ca_->ra_trust().Handle(ra_rec.tls_fingerprint, "{not json").error().code(), ErrorCode::kMalformedInput);
  // A revoked RA signing certificate signs nothing.
  ASSERT_TRUE(ca_->ca().Revoke(kOp, ra_rec.sign_ca, ra_rec.sign_serial, x509::RevocationReason::kKeyCompromise).ok());
  EXPECT_EQ(gw_->Issue("x-9", Request("C")).error().code(), ErrorCode::kFailedPrecondition);
}

// req: KM-03
// req: KM-06
// req: CA-01
TEST_F(RaLinkTest, DualCertificatesAndKeyRecoveryOverTheLink) {
  FakeKm km;
  ca_->ca().SetKmGateway(&km);
  auto sign = gw_->Issue("gd-s1", Request("Li Lei"));
  ASSERT_TRUE(sign.ok()) << sign.error().ToString();
  ca::EncryptionIssueRequest enc_req{"ministry-ca", sign->record.serial_hex, "personal-enc", 365,
                                     "", ""};
  // Authorised for personal-sign only: the encryption profile is refused before the KM is asked.
  std::int64_t certs = CaCount("SELECT COUNT(*) FROM certificates");
  EXPECT_EQ(gw_->IssueEncryption("gd-e1", enc_req).error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(km.applied, 0);
  ASSERT_TRUE(ca_->ra_trust()
                  .Authorise(kSec, "gd-ra", {"ministry-ca"}, {"personal-sign", "personal-enc"})
                  .ok());
  auto dual = gw_->IssueEncryption("gd-e1", enc_req);
  ASSERT_TRUE(dual.ok()) << dual.error().ToString();
  EXPECT_EQ(dual->certificate.record.profile, "personal-enc");
  EXPECT_EQ(dual->certificate.record.requested_by, "ra:gd-ra");
  EXPECT_EQ(dual->certificate.record.subject, sign->record.subject);
  EXPECT_EQ(CaCount("SELECT COUNT(*) FROM certificates"), certs + 1);
  // Every field of the KM's delivery arrives as the KM made it, and the certificate certifies
  // the delivered public key.
  auto expected = km.Delivery(dual->delivery.key_id, "apply");
  EXPECT_EQ(dual->delivery.enc_public_key, expected.enc_public_key);
  EXPECT_EQ(dual->delivery.skf_blob, expected.skf_blob);
  EXPECT_EQ(dual->delivery.sm2_enveloped_key, expected.sm2_enveloped_key);
  EXPECT_EQ(dual->delivery.enveloped_data, expected.enveloped_data);
  EXPECT_EQ(x509::Certificate::FromDer(dual->certificate.record.der)->public_key(),
            expected.enc_public_key);
  EXPECT_EQ(x509::PemDecode(dual->certificate.pem, x509::kPemCertificate).value(),
            dual->certificate.record.der);
  // A resubmission (lost answer): the same certificate and key, nothing new.
  auto again = gw_->IssueEncryption("gd-e1", enc_req);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->certificate.record.serial_hex, dual->certificate.record.serial_hex);
  EXPECT_EQ(again->delivery.key_id, dual->delivery.key_id);
  EXPECT_EQ(CaCount("SELECT COUNT(*) FROM certificates"), certs + 1);

  // Recovery to a new carrier of the same subject.
  auto sign2 = gw_->Issue("gd-s2", Request("Li Lei"));
  ASSERT_TRUE(sign2.ok());
  auto rec = gw_->RecoverEncryptionKey("gd-r1", "ministry-ca", dual->certificate.record.serial_hex,
                                       sign2->record.serial_hex);
  ASSERT_TRUE(rec.ok()) << rec.error().ToString();
  EXPECT_EQ(rec->key_id, dual->delivery.key_id);
  // The KM request ID the CA derives: "<ca>:" + the request key "ra:<ra>:<request-id>".
  EXPECT_EQ(rec->skf_blob,
            km.Delivery(dual->delivery.key_id, "restore:ministry-ca:ra:gd-ra:gd-r1").skf_blob);
  // Another subject's carrier: the CA refuses, and the refusal crosses the link with its code.
  auto other = gw_->Issue("gd-s3", Request("Han Meimei"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(gw_->RecoverEncryptionKey("gd-r2", "ministry-ca", dual->certificate.record.serial_hex,
                                      other->record.serial_hex)
                .error()
                .code(),
            ErrorCode::kPolicyViolation);
  // Without the encryption profile the RA may no longer recover its keys.
  ASSERT_TRUE(ca_->ra_trust().Authorise(kSec, "gd-ra", {"ministry-ca"}, {"personal-sign"}).ok());
  int restored = km.restored;
  EXPECT_EQ(gw_->RecoverEncryptionKey("gd-r3", "ministry-ca", dual->certificate.record.serial_hex,
                                      sign2->record.serial_hex)
                .error()
                .code(),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(km.restored, restored);
  // Both operations are kept as signed evidence.
  EXPECT_EQ(CaCount("SELECT COUNT(*) FROM ca_ra_requests WHERE ra = 'gd-ra' AND "
                    "((request_id = 'gd-e1' AND op = 'issue-enc') OR "
                    "(request_id = 'gd-r1' AND op = 'recover-enc-key')) AND outcome = 'success'"),
            2);
}

// req: CA-01
TEST_F(RaLinkTest, EnrolmentRefusesBadInputAndChangesNothing) {
  ca::RaEnrolment e;
  e.name = "zj-ra";
  e.tls_fingerprint = std::string(64, 'b');
  e.cas = {"ministry-ca"};
  e.profiles = {"personal-sign"};
  // A certificate of the wrong profile, and one no CA of ours issued.
  ca::IssueRequest r;
  r.ca = "ministry-ca";
  r.profile = "personal-sign";
  r.csr = NewCsr("zj-ra");
  e.sign_cert = ToBytes(ca_->ca().Issue(kOp, r)->pem);
  EXPECT_EQ(ca_->ra_trust().Enrol(kSec, e).error().code(), ErrorCode::kPolicyViolation);
  auto other = ra_->ca().GetCa("ministry-ca");  // the province home has no CAs at all
  EXPECT_FALSE(other.ok());
  e.sign_cert = ToBytes("garbage");
  EXPECT_FALSE(ca_->ra_trust().Enrol(kSec, e).ok());
  e.name = "Bad Name";
  EXPECT_EQ(ca_->ra_trust().Enrol(kSec, e).error().code(), ErrorCode::kInvalidArgument);
  e.name = "zj-ra";
  e.profiles = {"no-such-profile"};
  EXPECT_EQ(ca_->ra_trust().Enrol(kSec, e).error().code(), ErrorCode::kUnknownProfile);
  EXPECT_EQ(ca_->ra_trust().Enrol(kOp, e).error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(ca_->ra_trust().List(kSec)->size(), 1u);
  // The refusals are audited as failures.
  auto tx = ca_->db().BeginReadOnly();
  auto n = (*tx)->QueryOne("SELECT COUNT(*) FROM audit_records WHERE action = 'ra.enrol' AND outcome <> 0");
  ASSERT_TRUE(n.ok() && *n) << (n.ok() ? "" : n.error().ToString());
  EXPECT_GE((*n)->Int(0), 4);
}

}  // namespace
}  // namespace gmpki
