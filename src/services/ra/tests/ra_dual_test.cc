// Dual certificates through the RA on both storage backends, with an in-process CA and KM (each
// its own database and device): the encryption certificate request names the subscriber's
// signing certificate, a second operator approves, and the download opens with the signing
// private key to the key the encryption certificate certifies; key recovery to a new carrier;
// refusals that change nothing (issue #5, the RA's side).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "services/core/operators.h"
#include "services/km/km_service.h"
#include "services/km_link/local_km_gateway.h"
#include "services/ra/ra_routes.h"
#include "services/ra/tests/ra_fixture.h"
#include "x509/certificate.h"
#include "x509/key_envelope.h"

namespace gmpki::ra {
namespace {

using namespace testing;  // NOLINT: the RA test helpers
using store::testutil::BackendTest;

constexpr const char* kDn = "C=CN,O=MOHRSS,CN=Li Lei";

// A subscriber's signing key pair, as held in its carrier (smart card, USB key).
struct Carrier {
  std::shared_ptr<crypto::Sm2PrivateKey> key;
  crypto::Sm2PublicKey pub;
  Bytes Csr(const std::string& dn = kDn) const {
    auto der = x509::BuildCsr(*x509::Name::Parse(dn), x509::MakeSoftwareSigner(key, pub));
    EXPECT_TRUE(der.ok());
    return *der;
  }
};

std::string Str(const nlohmann::json& j, const char* key) { return j.at(key).get<std::string>(); }

Carrier NewCarrier() {
  auto kp = crypto::Sm2GenerateKeyPair();
  EXPECT_TRUE(kp.ok());
  return Carrier{std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key)),
                 kp->public_key};
}

template <class B>
class RaDualTest : public BackendTest<B> {
 protected:
  void SetUp() override {
    BackendTest<B>::SetUp();
    env_.SetUp(B::kBackend, this->db(), /*with_operators=*/true);
    // The KM: its own database and device (KM-01), registered with the CA as dual_cert_test does.
    auto kmdb = store::testutil::ScratchDatabase::Create(B::kBackend);
    ASSERT_TRUE(kmdb.ok()) << kmdb.error().ToString();
    km_db_ = std::move(*kmdb);
    auto dev = device::SoftDevice::Create(env_.dir_ / "km.sealed", *device::GenerateMasterKey());
    ASSERT_TRUE(dev.ok());
    km_device_ = std::move(*dev);
    std::vector<store::Migration> m = services::CoreMigrations();
    for (auto& x : audit::AuditMigrations()) m.push_back(x);
    for (auto& x : km::KmMigrations()) m.push_back(x);
    ASSERT_TRUE(km_db_->db().Migrate(m).ok());
    km_ = std::make_unique<km::KmService>(km_db_->db(), *km_device_, env_.clock_, km::KmSettings{});
    auto reg = km_->RegisterCa({"sec", services::Role::kSecurityAdmin}, "ca-node",
                               std::string(64, 'e'));
    ASSERT_TRUE(reg.ok()) << reg.error().ToString();
    km_gateway_ = std::make_unique<km::LocalKmGateway>(*km_, *reg);
    env_.ca_->SetKmGateway(km_gateway_.get());
  }
  void TearDown() override {
    if (env_.ca_) env_.ca_->SetKmGateway(nullptr);
    km_gateway_.reset();
    km_.reset();
    km_db_.reset();
    km_device_.reset();
    env_.TearDown();
    BackendTest<B>::TearDown();
  }
  RaService& ra() { return *env_.ra_; }

  // A completed signing certificate request for `carrier`: alice requests, bob approves.
  RequestView SignCert(const std::string& subscriber, const Carrier& carrier) {
    auto req = ra().RequestCertificate(
        kAlice, {subscriber, "biz", "personal-sign", carrier.Csr(), std::nullopt, ""});
    EXPECT_TRUE(req.ok()) << req.error().ToString();
    auto done = ra().ReviewRequest(kBob, req->id, {true, ""});
    EXPECT_TRUE(done.ok()) << done.error().ToString();
    EXPECT_EQ(done->status, "completed");
    return *done;
  }
  Result<RequestView> RequestEnc(const std::string& subscriber, const std::string& sign_serial) {
    return ra().RequestCertificate(
        kAlice, {subscriber, "biz", "personal-enc", {}, std::nullopt, sign_serial});
  }
  // A completed encryption certificate request for the signing certificate of `sign`.
  RequestView EncCert(const RequestView& sign) {
    auto req = RequestEnc(sign.subscriber, sign.serial_hex);
    EXPECT_TRUE(req.ok()) << req.error().ToString();
    auto done = ra().ReviewRequest(kCarol, req->id, {true, ""});
    EXPECT_TRUE(done.ok()) << done.error().ToString();
    return *done;
  }
  // Opens the GM/T 0016 blob of `pkg` with `carrier`'s signing key; the key it holds.
  Result<crypto::Sm2PrivateKey> OpenSkf(const KeyPackage& pkg, const Carrier& carrier) {
    GMPKI_ASSIGN_OR_RETURN(auto cert, x509::Certificate::FromDer(pkg.enc_certificate));
    GMPKI_ASSIGN_OR_RETURN(auto env, x509::ParseSkfEnvelopedKeyBlob(pkg.skf_blob));
    return x509::OpenEcbKeyEnvelope(env, x509::SoftwareCekDecryptor(*carrier.key),
                                    cert.public_key());
  }
  std::int64_t Deliveries() { return env_.RaCount("ra_key_deliveries"); }

  RaEnv env_;
  std::unique_ptr<store::testutil::ScratchDatabase> km_db_;
  std::unique_ptr<device::SoftDevice> km_device_;
  std::unique_ptr<km::KmService> km_;
  std::unique_ptr<km::LocalKmGateway> km_gateway_;
};
TYPED_TEST_SUITE(RaDualTest, store::testutil::AllBackends, store::testutil::BackendNames);

// req: KM-03
// req: RA-01
TYPED_TEST(RaDualTest, EncryptionCertificateAndEnvelopeDownloadOpenWithTheSigningKey) {
  auto& ra = this->ra();
  auto sub = this->env_.Approved(Person("李雷", ResidentId(501)));
  Carrier card = NewCarrier();
  auto sign = this->SignCert(sub.id, card);

  // Encryption profiles take the signing certificate, never a CSR (the KM makes the key), and
  // signing profiles never take a signing certificate.
  EXPECT_EQ(ra.RequestCertificate(kAlice, {sub.id, "biz", "personal-enc", card.Csr(),
                                           std::nullopt, sign.serial_hex})
                .error()
                .code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(this->RequestEnc(sub.id, "").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ra.RequestCertificate(kAlice, {sub.id, "biz", "personal-sign", card.Csr(),
                                           std::nullopt, sign.serial_hex})
                .error()
                .code(),
            ErrorCode::kInvalidArgument);

  // Serials are matched case-insensitively.
  std::string lower = sign.serial_hex;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto req = this->RequestEnc(sub.id, lower);
  ASSERT_TRUE(req.ok()) << req.error().ToString();
  EXPECT_EQ(req->status, "pending");
  EXPECT_EQ(req->sign_request, sign.id);
  // One encryption certificate per signing certificate at a time.
  EXPECT_EQ(this->RequestEnc(sub.id, sign.serial_hex).error().code(), ErrorCode::kAlreadyExists);
  // Four-eyes: the requester may not approve.
  EXPECT_EQ(ra.ReviewRequest(kAlice, req->id, {true, ""}).error().code(),
            ErrorCode::kPolicyViolation);
  std::int64_t certs = this->env_.CaCertificates();
  // The CA's first answer is lost: the request stays approved and a second approval gets the
  // same certificate and key (request ID "ra:city-ra:<id>" at the CA and the KM).
  this->env_.gateway_->lose_next_answers = 1;
  EXPECT_EQ(ra.ReviewRequest(kBob, req->id, {true, ""}).error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(ra.GetRequest(kAlice, req->id)->status, "approved");
  EXPECT_EQ(this->Deliveries(), 0);
  auto done = ra.ReviewRequest(kBob, req->id, {true, ""});
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  EXPECT_EQ(done->status, "completed");
  EXPECT_FALSE(done->serial_hex.empty());
  EXPECT_EQ(this->env_.CaCertificates(), certs + 1);
  EXPECT_EQ(this->Deliveries(), 1);

  auto pkg = ra.DownloadKeys(kAlice, req->id);
  ASSERT_TRUE(pkg.ok()) << pkg.error().ToString();
  EXPECT_EQ(pkg->sign_serial, sign.serial_hex);
  EXPECT_EQ(pkg->enc_serial, done->serial_hex);
  EXPECT_EQ(pkg->sign_certificate, *ra.Download(kAlice, sign.id, CertFormat::kDer));
  // The certificate alone still downloads in the usual formats.
  EXPECT_EQ(pkg->enc_certificate, *ra.Download(kAlice, req->id, CertFormat::kDer));
  auto enc_cert = x509::Certificate::FromDer(pkg->enc_certificate);
  ASSERT_TRUE(enc_cert.ok());
  auto sign_cert = x509::Certificate::FromDer(pkg->sign_certificate);
  ASSERT_TRUE(sign_cert.ok());
  EXPECT_EQ(sign_cert->public_key(), card.pub);
  EXPECT_EQ(enc_cert->subject().ToString(), sign_cert->subject().ToString());
  // The subscriber opens the GM/T 0016 blob with the signing key of the card, to exactly the
  // key the encryption certificate certifies.
  auto key = this->OpenSkf(*pkg, card);
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_EQ(*key->DerivePublicKey(), enc_cert->public_key());
  auto ct = crypto::Sm2Encrypt(enc_cert->public_key(), ToBytes("pay slip"));
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(ToString(crypto::Sm2Decrypt(*key, *ct)->view()), "pay slip");
  // The GB/T 35276 form opens to the same key.
  auto ek = x509::ParseSm2EnvelopedKey(pkg->sm2_enveloped_key);
  ASSERT_TRUE(ek.ok());
  auto key2 = x509::OpenSm2EnvelopedKey(*ek, x509::SoftwareCekDecryptor(*card.key),
                                        enc_cert->public_key());
  ASSERT_TRUE(key2.ok()) << key2.error().ToString();
  EXPECT_EQ(*key2->DerivePublicKey(), enc_cert->public_key());
  EXPECT_FALSE(pkg->enveloped_data.empty());
  // Another key cannot open it.
  EXPECT_FALSE(this->OpenSkf(*pkg, NewCarrier()).ok());

  // A signing certificate has no envelope; an encryption certificate is not renewed.
  EXPECT_EQ(ra.DownloadKeys(kAlice, sign.id).error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ra.RequestRenewal(kAlice, req->id, std::nullopt).error().code(),
            ErrorCode::kFailedPrecondition);
  // Approving the completed request again changes nothing.
  ASSERT_TRUE(ra.ReviewRequest(kBob, req->id, {true, ""}).ok());
  EXPECT_EQ(this->env_.CaCertificates(), certs + 1);
  EXPECT_EQ(this->Deliveries(), 1);
}

// req: KM-06
// req: RA-01
TYPED_TEST(RaDualTest, KeyRecoveryReachesTheNewCarrierAfterReview) {
  auto& ra = this->ra();
  auto sub = this->env_.Approved(Person("韩梅梅", ResidentId(502)));
  Carrier old_card = NewCarrier();
  auto sign = this->SignCert(sub.id, old_card);
  auto enc = this->EncCert(sign);
  ASSERT_EQ(enc.status, "completed");
  auto first = ra.DownloadKeys(kAlice, enc.id);
  ASSERT_TRUE(first.ok());
  auto original = this->OpenSkf(*first, old_card);
  ASSERT_TRUE(original.ok());

  // The card is lost: a new card, a new signing certificate for the same subscriber.
  Carrier new_card = NewCarrier();
  auto sign2 = this->SignCert(sub.id, new_card);
  auto rec = ra.RequestKeyRecovery(kAlice, enc.id, sign2.serial_hex);
  ASSERT_TRUE(rec.ok()) << rec.error().ToString();
  EXPECT_EQ(rec->kind, "recover");
  EXPECT_EQ(rec->status, "pending");
  EXPECT_EQ(rec->source_request, enc.id);
  EXPECT_EQ(rec->sign_request, sign2.id);
  // Nothing is delivered before the review; the requester may not review.
  EXPECT_EQ(ra.DownloadKeys(kAlice, rec->id).error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ra.ReviewRequest(kAlice, rec->id, {true, ""}).error().code(),
            ErrorCode::kPolicyViolation);
  std::int64_t certs = this->env_.CaCertificates();
  auto done = ra.ReviewRequest(kBob, rec->id, {true, ""});
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  EXPECT_EQ(done->status, "completed");
  EXPECT_EQ(done->serial_hex, enc.serial_hex);
  EXPECT_EQ(this->env_.CaCertificates(), certs);  // recovery issues no certificate

  auto pkg = ra.DownloadKeys(kAlice, rec->id);
  ASSERT_TRUE(pkg.ok()) << pkg.error().ToString();
  EXPECT_EQ(pkg->enc_serial, enc.serial_hex);
  EXPECT_EQ(pkg->sign_serial, sign2.serial_hex);
  EXPECT_EQ(pkg->enc_certificate, first->enc_certificate);
  // The new card opens it to the same encryption key; the old card cannot.
  auto recovered = this->OpenSkf(*pkg, new_card);
  ASSERT_TRUE(recovered.ok()) << recovered.error().ToString();
  EXPECT_EQ(*recovered->DerivePublicKey(), *original->DerivePublicKey());
  EXPECT_FALSE(this->OpenSkf(*pkg, old_card).ok());
  // A recovery has no certificate of its own to download.
  EXPECT_EQ(ra.Download(kAlice, rec->id, CertFormat::kPem).error().code(),
            ErrorCode::kFailedPrecondition);
  // Only an encryption certificate's request can be recovered.
  EXPECT_EQ(ra.RequestKeyRecovery(kAlice, sign.id, sign2.serial_hex).error().code(),
            ErrorCode::kFailedPrecondition);
}

// req: KM-06
// req: KM-03
TYPED_TEST(RaDualTest, RefusalsChangeNothing) {
  auto& ra = this->ra();
  auto a = this->env_.Approved(Person("张伟", ResidentId(503)));
  auto b = this->env_.Approved(Person("王芳", ResidentId(504)));
  Carrier card_a = NewCarrier(), card_b = NewCarrier();
  auto sign_a = this->SignCert(a.id, card_a);
  auto sign_b = this->SignCert(b.id, card_b);
  auto enc_a = this->EncCert(sign_a);
  ASSERT_EQ(enc_a.status, "completed");
  std::int64_t requests = this->env_.RaCount("ra_requests");
  std::int64_t certs = this->env_.CaCertificates();
  std::int64_t deliveries = this->Deliveries();
  auto unchanged = [&] {
    EXPECT_EQ(this->env_.RaCount("ra_requests"), requests);
    EXPECT_EQ(this->env_.CaCertificates(), certs);
    EXPECT_EQ(this->Deliveries(), deliveries);
  };

  // Another subscriber's signing certificate: its holder would get A's key.
  EXPECT_EQ(this->RequestEnc(a.id, sign_b.serial_hex).error().code(), ErrorCode::kPolicyViolation);
  EXPECT_EQ(ra.RequestKeyRecovery(kAlice, enc_a.id, sign_b.serial_hex).error().code(),
            ErrorCode::kPolicyViolation);
  // A serial this RA never issued, not hex, an encryption certificate as the carrier.
  EXPECT_EQ(this->RequestEnc(a.id, "0123456789ABCDEF").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(this->RequestEnc(a.id, "not-hex").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ra.RequestKeyRecovery(kAlice, enc_a.id, enc_a.serial_hex).error().code(),
            ErrorCode::kNotFound);
  unchanged();

  // A revoked signing certificate carries nothing.
  auto revoke = ra.RequestRevocation(kAlice, sign_b.id, x509::RevocationReason::kKeyCompromise);
  ASSERT_TRUE(revoke.ok());
  ASSERT_TRUE(ra.ReviewRequest(kBob, revoke->id, {true, ""}).ok());
  requests = this->env_.RaCount("ra_requests");
  EXPECT_EQ(this->RequestEnc(b.id, sign_b.serial_hex).error().code(),
            ErrorCode::kFailedPrecondition);
  unchanged();

  // No KM behind the CA: the approved request fails for good, nothing is issued or stored.
  this->env_.ca_->SetKmGateway(nullptr);
  Carrier card_c = NewCarrier();
  auto sign_a2 = this->SignCert(a.id, card_c);
  auto req = this->RequestEnc(a.id, sign_a2.serial_hex);
  ASSERT_TRUE(req.ok()) << req.error().ToString();
  requests = this->env_.RaCount("ra_requests");
  certs = this->env_.CaCertificates();
  EXPECT_EQ(ra.ReviewRequest(kBob, req->id, {true, ""}).error().code(),
            ErrorCode::kFailedPrecondition);
  auto after = ra.GetRequest(kAlice, req->id);
  EXPECT_EQ(after->status, "failed");
  EXPECT_NE(after->last_error.find("key management"), std::string::npos) << after->last_error;
  EXPECT_EQ(ra.DownloadKeys(kAlice, req->id).error().code(), ErrorCode::kFailedPrecondition);
  auto rec = ra.RequestKeyRecovery(kAlice, enc_a.id, sign_a2.serial_hex);
  ASSERT_TRUE(rec.ok()) << rec.error().ToString();
  requests = this->env_.RaCount("ra_requests");
  EXPECT_EQ(ra.ReviewRequest(kBob, rec->id, {true, ""}).error().code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ra.GetRequest(kAlice, rec->id)->status, "failed");
  unchanged();
}

// The same through the operator API (docs/openapi.json): an encryption request names
// sign_serial, format=json downloads both certificates and the envelopes, recover-key files a
// recovery; the certificate alone still downloads as PEM.
// req: KM-03
// req: KM-06
// req: RA-01
TYPED_TEST(RaDualTest, OperatorRoutesRequestRecoverAndDownloadKeyPackages) {
  using nlohmann::json;
  services::OperatorRegistry ops(this->db(), this->env_.clock_, "node-1");
  auto fp = [](char c) { return std::string(64, c); };
  ASSERT_TRUE(ops.Enrol(std::nullopt, "sys", services::Role::kSystemAdmin, "person-sys", fp('0'))
                  .ok());
  for (auto [name, c] : {std::pair{"alice", 'a'}, {"bob", 'b'}, {"carol", 'c'}}) {
    ASSERT_TRUE(
        ops.Enrol(kSys, name, services::Role::kRaOperator, std::string("person-") + name, fp(c))
            .ok());
  }
  net::Router router;
  ASSERT_TRUE(AddRaApiRoutes(router, {&this->ra(), &ops}).ok());
  // Requests as they reach the router after mutual TLS: the operator is the client certificate.
  auto call = [&](char who, const std::string& method, const std::string& path,
                  const std::string& body = "", const std::string& format = "") {
    net::HttpRequest r;
    r.method = method;
    r.path = "/api/v1/ra" + path;
    r.target = r.path + (format.empty() ? "" : "?format=" + format);
    if (!format.empty()) r.query["format"] = format;
    r.body = body;
    r.tls = true;
    r.peer = net::PeerIdentity{};
    r.peer->sm3_fingerprint = fp(who);
    return router.Dispatch(r);
  };
  auto sub = this->env_.Approved(Person("刘洋", ResidentId(505)));
  Carrier card = NewCarrier();
  auto sign = this->SignCert(sub.id, card);

  // Neither a CSR nor a signing certificate: refused with a problem.
  auto bad = call('a', "POST", "/requests",
                  json{{"subscriber", sub.id}, {"ca", "biz"}, {"profile", "personal-enc"}}.dump());
  EXPECT_EQ(bad.status, 400) << bad.body;
  auto created = call('a', "POST", "/requests",
                      json{{"subscriber", sub.id}, {"ca", "biz"}, {"profile", "personal-enc"},
                           {"sign_serial", sign.serial_hex}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  auto req = json::parse(created.body);
  EXPECT_EQ(req["sign_request"], sign.id);
  std::string id = Str(req, "id");
  auto reviewed = call('b', "POST", "/requests/" + id + "/review", R"({"approve": true})");
  ASSERT_EQ(reviewed.status, 200) << reviewed.body;
  EXPECT_EQ(json::parse(reviewed.body)["status"], "completed");

  auto download = [&](const std::string& request) {
    auto resp = call('a', "GET", "/requests/" + request + "/certificate", "", "json");
    EXPECT_EQ(resp.status, 200) << resp.body;
    EXPECT_EQ(resp.content_type, net::kJsonContentType);
    auto j = json::parse(resp.body);
    KeyPackage k;
    k.sign_serial = Str(j, "sign_serial");
    k.enc_serial = Str(j, "enc_serial");
    k.sign_certificate = *x509::PemDecode(Str(j, "sign_certificate"),
                                          x509::kPemCertificate);
    k.enc_certificate = *x509::PemDecode(Str(j, "enc_certificate"),
                                         x509::kPemCertificate);
    k.skf_blob = *Base64Decode(Str(j, "skf_enveloped_key_blob"));
    k.sm2_enveloped_key = *Base64Decode(Str(j, "sm2_enveloped_key"));
    k.enveloped_data = *Base64Decode(Str(j, "enveloped_data"));
    return k;
  };
  KeyPackage pkg = download(id);
  EXPECT_EQ(pkg.sign_serial, sign.serial_hex);
  EXPECT_FALSE(pkg.sm2_enveloped_key.empty());
  EXPECT_FALSE(pkg.enveloped_data.empty());
  auto enc_cert = x509::Certificate::FromDer(pkg.enc_certificate);
  ASSERT_TRUE(enc_cert.ok());
  EXPECT_EQ(enc_cert->serial_hex(), pkg.enc_serial);
  auto key = this->OpenSkf(pkg, card);
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_EQ(*key->DerivePublicKey(), enc_cert->public_key());
  // The default format is still the certificate alone, as PEM.
  auto pem = call('a', "GET", "/requests/" + id + "/certificate");
  ASSERT_EQ(pem.status, 200);
  EXPECT_EQ(*x509::PemDecode(pem.body, x509::kPemCertificate), pkg.enc_certificate);
  // A signing certificate's request has no key package.
  EXPECT_EQ(call('a', "GET", "/requests/" + sign.id + "/certificate", "", "json").status,
            InfoFor(ErrorCode::kFailedPrecondition).http_status);

  // Recovery to a new card through the API, approved by another operator.
  Carrier card2 = NewCarrier();
  auto sign2 = this->SignCert(sub.id, card2);
  auto rec = call('a', "POST", "/requests/" + id + "/recover-key",
                  json{{"sign_serial", sign2.serial_hex}}.dump());
  ASSERT_EQ(rec.status, 201) << rec.body;
  std::string rec_id = Str(json::parse(rec.body), "id");
  EXPECT_EQ(json::parse(rec.body)["kind"], "recover");
  EXPECT_EQ(call('a', "POST", "/requests/" + rec_id + "/review", R"({"approve": true})").status,
            InfoFor(ErrorCode::kPolicyViolation).http_status);  // four-eyes
  ASSERT_EQ(call('c', "POST", "/requests/" + rec_id + "/review", R"({"approve": true})").status,
            200);
  KeyPackage recovered = download(rec_id);
  EXPECT_EQ(recovered.sign_serial, sign2.serial_hex);
  auto key2 = this->OpenSkf(recovered, card2);
  ASSERT_TRUE(key2.ok()) << key2.error().ToString();
  EXPECT_EQ(*key2->DerivePublicKey(), enc_cert->public_key());
  EXPECT_FALSE(this->OpenSkf(recovered, card).ok());
}

}  // namespace
}  // namespace gmpki::ra
