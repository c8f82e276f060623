// CMP signature protection under the GM/T rule (RFC 4210 §5.1.3.3, RFC 9483 §3.2), over the
// real HTTP route on 127.0.0.1:0. The client here is the test: `openssl cmp -use_mock_srv
// -reqout` makes the ir/cr/rr bodies (POPO signed by the new key), the test re-protects them
// with SM2-with-SM3 under the ID 1234567812345678 with a software key whose certificate our CA
// issued (profile device-sign), posts them, and checks the answer and its protection by the CA.
#include <nlohmann/json.hpp>

#include "crypto/sm3.h"
#include "net/client.h"
#include "net/server.h"
#include "services/cmp/cmp_routes.h"
#include "services/cmp/tests/cmp_fixture.h"
#include "x509/der.h"
#include "x509/name.h"

namespace gmpki::cmp {
namespace {

using testing::kOp;
using testing::kSec;
using testing::Shell;

ByteView Id(std::string_view id) {
  return ByteView(reinterpret_cast<const std::uint8_t*>(id.data()), id.size());
}

struct SoftSigner {
  crypto::Sm2KeyPair key;
  x509::Certificate cert;
};

class CmpSignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::testutil::ScratchDatabase::Create(store::Backend::kSqlite);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    auto st = env_.SetUp(db_->db());
    ASSERT_TRUE(st.ok()) << st.error().ToString();
    net::Router router;
    ASSERT_TRUE(AddCmpRoutes(router, *env_.cmp_).ok());
    server_ = std::make_unique<net::HttpServer>(net::ServerConfig{}, std::move(router));
    ASSERT_TRUE(server_->Start().ok());
    auto ca = env_.ca_->GetCa("ministry-ca");
    ASSERT_TRUE(ca.ok());
    ca_cert_ = std::make_unique<x509::Certificate>(*x509::Certificate::FromDer(ca->cert_der));
    ra_ = NewSigner("RA Gateway");
    auto c = env_.cmp_->CreateCertClient(kSec, "ra-sig", "ministry-ca", {"personal-sign"},
                                         ra_->cert.ToPem());
    ASSERT_TRUE(c.ok()) << c.error().ToString();
    // The mock server's certificate for `openssl cmp -use_mock_srv`.
    auto mk = env_.NewKey("mock");
    ASSERT_EQ(Shell("openssl req -x509 -new -key '" + mk.string() +
                        "' -subj /CN=mock -sm3 -days 2 -out " + P("mock.pem"),
                    env_.dir_ / "req.log"),
              0);
  }
  void TearDown() override {
    server_.reset();
    env_.TearDown();
    db_.reset();
  }
  std::string P(const std::string& name) { return "'" + (env_.dir_ / name).string() + "'"; }

  // A software SM2 key with a device-sign certificate from ministry-ca.
  std::unique_ptr<SoftSigner> NewSigner(const std::string& cn) {
    auto kp = crypto::Sm2GenerateKeyPair();
    EXPECT_TRUE(kp.ok());
    ca::IssueRequest ir;
    ir.ca = "ministry-ca";
    ir.profile = "device-sign";
    auto issued =
        env_.ca_->IssueVerifiedKey(kOp, ir, *x509::Name::Parse("CN=" + cn), kp->public_key);
    EXPECT_TRUE(issued.ok()) << issued.error().ToString();
    auto cert = x509::Certificate::FromDer(issued->record.der);
    return std::make_unique<SoftSigner>(SoftSigner{std::move(*kp), *cert});
  }

  // An unprotected-to-be request body from the real OpenSSL client (PBM-protected towards its
  // own mock server; the protection is replaced below). `args` holds -cmd and its options.
  Bytes OpensslRequest(const std::string& args, const std::string& ref = "x",
                       bool implicit_confirm = true) {
    auto out = env_.dir_ / ("req-" + HexEncode(*crypto::RandomBytes(4)) + ".der");
    Shell("openssl cmp -use_mock_srv -srv_ref " + ref + " -srv_secret pass:x -rsp_cert " +
              P("mock.pem") + " -ref " + ref + " -secret pass:x -digest sm3 " +
              (implicit_confirm ? "-implicit_confirm " : "") + args + " -certout '" +
              out.string() + ".pem' -reqout '" + out.string() + "'",
          env_.dir_ / "cmp.log");
    Bytes der = testing::ReadBytes(out);
    EXPECT_FALSE(der.empty()) << testing::ReadText(env_.dir_ / "cmp.log");
    return der;
  }
  Bytes NewIr(const std::string& cn, const std::string& cmd = "ir") {
    auto key = env_.NewKey("k" + HexEncode(*crypto::RandomBytes(4)));
    return OpensslRequest("-cmd " + cmd + " -newkey '" + key.string() + "' -subject '/CN=" + cn +
                          "'");
  }
  // Signature protection by `s` with signer ID `id` (senderKID = its SKI, extraCerts = it).
  Bytes Protect(ByteView request, const SoftSigner& s,
                std::string_view id = crypto::kDefaultSm2Id) {
    auto der = AddSignatureProtection(
        request, s.cert.subject().der(), *s.cert.subject_key_id(), {s.cert.der()},
        [&](ByteView part) {
          return crypto::Sm2Sign(s.key.private_key, s.key.public_key, Id(id), part);
        });
    EXPECT_TRUE(der.ok()) << der.error().ToString();
    return der.ok() ? *der : Bytes{};
  }
  Bytes Post(ByteView der) {
    auto client = net::HttpClient::Create(net::ClientConfig{});
    EXPECT_TRUE(client.ok());
    auto rsp = client->Post("http://127.0.0.1:" + std::to_string(server_->BoundPort()) +
                                "/cmp/ministry-ca",
                            ToString(der), "application/pkixcmp");
    EXPECT_TRUE(rsp.ok()) << rsp.error().ToString();
    if (!rsp.ok()) return {};
    EXPECT_EQ(rsp->status, 200) << rsp->body;
    return ToBytes(rsp->body);
  }
  // The answer's protection is the CA's SM2 signature under the GM/T ID (RFC 9483 §3.2), with
  // senderKID = the CA's SKI and extraCerts = the CA chain, CA first.
  void ExpectSignedByCa(ByteView answer) {
    auto info = ReadMessage(answer);
    ASSERT_TRUE(info.ok());
    ASSERT_TRUE(info->protection_alg);
    EXPECT_EQ(*info->protection_alg, kOidSm2WithSm3);
    ASSERT_TRUE(info->sender_kid);
    EXPECT_EQ(*info->sender_kid, *ca_cert_->subject_key_id());
    EXPECT_EQ(info->sender_der, x509::der::Explicit(4, ca_cert_->subject().der()));
    auto prot = ReadProtection(answer);
    ASSERT_TRUE(prot.ok());
    ASSERT_EQ(prot->extra_certs.size(), 3u);
    EXPECT_EQ(prot->extra_certs.front(), ca_cert_->der());
    EXPECT_TRUE(crypto::Sm2Verify(ca_cert_->public_key(), Id(crypto::kDefaultSm2Id),
                                  prot->protected_part, prot->protection)
                    .ok());
    // ... and not under OpenSSL 3.0's empty ID: the ID is really the GM/T one.
    EXPECT_FALSE(crypto::Sm2Verify(ca_cert_->public_key(), Id(""), prot->protected_part,
                                   prot->protection)
                     .ok());
  }
  std::int64_t Certificates() {
    return env_.Count(db_->db(), "SELECT COUNT(*) FROM certificates WHERE ca = 'ministry-ca'");
  }
  std::int64_t FailedAudits(const std::string& action) {
    return env_.Count(db_->db(), "SELECT COUNT(*) FROM audit_records WHERE action = '" + action +
                                     "' AND outcome = 2");
  }
  // Writes `der` as a file for bc-verify and returns its quoted path.
  std::string Save(const std::string& name, ByteView der) {
    std::ofstream(env_.dir_ / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(der.data()), static_cast<std::streamsize>(der.size()));
    return P(name);
  }

  std::unique_ptr<store::testutil::ScratchDatabase> db_;
  testing::CmpEnvironment env_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<x509::Certificate> ca_cert_;
  std::unique_ptr<SoftSigner> ra_;
};

// req: CA-01, CA-02
TEST_F(CmpSignatureTest, IrCrAndRrProtectedBySignatureGetSignedAnswers) {
  auto before = Certificates();
  Bytes ip = Post(Protect(NewIr("Zhang San"), *ra_));
  auto info = ReadMessage(ip);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->body, static_cast<int>(BodyType::kIp));
  ASSERT_TRUE(info->status);
  EXPECT_EQ(*info->status, 0) << info->status_text;
  ASSERT_EQ(info->certificates.size(), 1u);
  auto issued = x509::Certificate::FromDer(info->certificates.front());
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(issued->subject().ToRfc4514(), "CN=Zhang San");
  env_.ExpectChains(*issued);
  ExpectSignedByCa(ip);
  // No caPubs [1] in the CertRepMessage of an ip to a signing client (RFC 9483 §4.1.1 sends
  // the root there only under MAC protection).
  {
    auto msg = x509::der::ParseSingle(ip);
    ASSERT_TRUE(msg.ok());
    x509::der::Reader m(msg->content);
    ASSERT_TRUE(m.Next().ok());
    auto body = m.Next();
    ASSERT_TRUE(body.ok());
    auto rep = x509::der::ParseSingle(body->content);
    ASSERT_TRUE(rep.ok());
    x509::der::Reader r(rep->content);
    EXPECT_EQ(r.PeekTag(), std::optional<std::uint8_t>(x509::der::kSequence));
  }
  EXPECT_EQ(Certificates(), before + 1);
  auto rec = env_.ca_->GetCertificate(kOp, "ministry-ca", issued->serial_hex());
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->requested_by, "cmp:ra-sig");
  EXPECT_EQ(rec->profile, "personal-sign");

  Bytes cp = Post(Protect(NewIr("Li Si", "cr"), *ra_));
  auto cinfo = ReadMessage(cp);
  ASSERT_TRUE(cinfo.ok());
  EXPECT_EQ(cinfo->body, static_cast<int>(BodyType::kCp));
  ASSERT_TRUE(cinfo->status);
  EXPECT_EQ(*cinfo->status, 0) << cinfo->status_text;
  ExpectSignedByCa(cp);

  // rr of the first certificate (RFC 4210 §5.3.9), reason keyCompromise.
  std::ofstream(env_.dir_ / "victim.pem") << issued->ToPem();
  Bytes rr = OpensslRequest("-cmd rr -oldcert " + P("victim.pem") + " -revreason 1");
  Bytes rp = Post(Protect(rr, *ra_));
  auto rinfo = ReadMessage(rp);
  ASSERT_TRUE(rinfo.ok());
  EXPECT_EQ(rinfo->body, static_cast<int>(BodyType::kRp));
  ASSERT_TRUE(rinfo->status);
  EXPECT_EQ(*rinfo->status, 0) << rinfo->status_text;
  ExpectSignedByCa(rp);
  rec = env_.ca_->GetCertificate(kOp, "ministry-ca", issued->serial_hex());
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->status, "revoked");
  EXPECT_EQ(rec->revocation_reason, 1);

  // Bouncy Castle (bcpkix ProtectedPKIMessage, SM3withSM2 with its default ID
  // 1234567812345678) verifies the ip's protection with the CA certificate; under the empty ID
  // it does not.
  const std::string bc = GMPKI_BINARY_DIR "/bc-verify";
  if (std::filesystem::exists(bc)) {
    std::string ca_pem = Save("ca.der", ca_cert_->der());
    std::string out;
    EXPECT_EQ(Shell(bc + " cmp --cert " + ca_pem + " " + Save("ip.der", ip), env_.dir_ / "bc.log",
                    &out),
              0)
        << out;
    EXPECT_EQ(Shell(bc + " cmp --cert " + ca_pem + " --id '' " + P("ip.der"),
                    env_.dir_ / "bc.log", &out),
              1)
        << out;
  } else {
    ADD_FAILURE() << "bc-verify not built: cmake --build BUILD --target bc_verify";
  }
}

// req: CA-01
TEST_F(CmpSignatureTest, TamperedOrEmptyIdSignatureIsBadMessageCheckAndIssuesNothing) {
  Bytes good = Protect(NewIr("Wang Wu"), *ra_);
  // Change one character of the subject inside the signed body: still a valid PKIMessage.
  const std::string cn = "Wang Wu";
  auto at = std::search(good.begin(), good.end(), cn.begin(), cn.end());
  ASSERT_NE(at, good.end());
  Bytes tampered = good;
  tampered[static_cast<std::size_t>(at - good.begin()) + cn.size() - 1] ^= 0x01;
  auto before = Certificates();
  auto failed = FailedAudits("cmp.ir");
  auto info = ReadMessage(Post(tampered));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->body, static_cast<int>(BodyType::kError));
  EXPECT_EQ(info->fail_info, 1u << kBadMessageCheck);
  EXPECT_FALSE(info->protected_);  // RFC 9483 §3.6.4: refusals are unprotected
  EXPECT_EQ(Certificates(), before);
  EXPECT_EQ(FailedAudits("cmp.ir"), failed + 1);

  // What OpenSSL 3.0 would produce: the same signature scheme with the empty SM2 ID.
  info = ReadMessage(Post(Protect(NewIr("Wang Wu"), *ra_, "")));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->fail_info, 1u << kBadMessageCheck);
  EXPECT_EQ(Certificates(), before);

  // The untampered request is accepted.
  info = ReadMessage(Post(good));
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->status);
  EXPECT_EQ(*info->status, 0) << info->status_text;
}

// req: CA-01
TEST_F(CmpSignatureTest, UnregisteredRevokedHeldOrSuspendedSignerIsRefused) {
  auto before = Certificates();
  // A certificate of our CA that is not registered as a CMP client.
  auto stranger = NewSigner("Stranger");
  before = Certificates();
  auto info = ReadMessage(Post(Protect(NewIr("A"), *stranger)));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->fail_info, 1u << kSignerNotTrusted);
  // The registered key's SKI with another key's signature: the registered key decides.
  auto other_key = crypto::Sm2GenerateKeyPair();
  ASSERT_TRUE(other_key.ok());
  SoftSigner impostor{std::move(*other_key), ra_->cert};
  info = ReadMessage(Post(Protect(NewIr("A"), impostor)));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->fail_info, 1u << kBadMessageCheck);

  // Held, then released, then revoked at the CA: refused while not "good".
  ASSERT_TRUE(env_.ca_->Hold(kOp, "ministry-ca", ra_->cert.serial_hex()).ok());
  info = ReadMessage(Post(Protect(NewIr("B"), *ra_)));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->fail_info, 1u << kCertRevoked);
  ASSERT_TRUE(env_.ca_->Release(kOp, "ministry-ca", ra_->cert.serial_hex()).ok());
  ASSERT_TRUE(env_.cmp_->SuspendClient(kSec, "ra-sig").ok());
  info = ReadMessage(Post(Protect(NewIr("C"), *ra_)));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->fail_info, 1u << kNotAuthorized);
  ASSERT_TRUE(env_.cmp_->ResumeClient(kSec, "ra-sig").ok());
  ASSERT_TRUE(env_.ca_->Revoke(kOp, "ministry-ca", ra_->cert.serial_hex(),
                               x509::RevocationReason::kKeyCompromise)
                  .ok());
  info = ReadMessage(Post(Protect(NewIr("D"), *ra_)));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->fail_info, 1u << kCertRevoked);
  EXPECT_EQ(Certificates(), before);
  EXPECT_GE(FailedAudits("cmp.ir"), 5);
}

// req: CA-01
TEST_F(CmpSignatureTest, CertClientRegistrationRules) {
  auto other = NewSigner("Other");
  auto denied = env_.cmp_->CreateCertClient(kOp, "ra-x", "ministry-ca", {"personal-sign"},
                                            other->cert.ToPem());
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermissionDenied);
  // The same certificate cannot register twice.
  auto dup = env_.cmp_->CreateCertClient(kSec, "ra-y", "ministry-ca", {"personal-sign"},
                                         ra_->cert.ToPem());
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  // A certificate none of our CAs issued.
  std::string self_signed = testing::ReadText(env_.dir_ / "mock.pem");
  auto foreign = env_.cmp_->CreateCertClient(kSec, "ra-z", "ministry-ca", {"personal-sign"},
                                             self_signed);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code(), ErrorCode::kNotFound);
  // A revoked certificate.
  ASSERT_TRUE(env_.ca_->Revoke(kOp, "ministry-ca", other->cert.serial_hex(),
                               x509::RevocationReason::kSuperseded)
                  .ok());
  auto revoked = env_.cmp_->CreateCertClient(kSec, "ra-w", "ministry-ca", {"personal-sign"},
                                             other->cert.ToPem());
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().code(), ErrorCode::kConflict);
  // An encryption certificate: its key may not sign (keyUsage without digitalSignature).
  auto enc_key = crypto::Sm2GenerateKeyPair();
  ASSERT_TRUE(enc_key.ok());
  ca::IssueRequest enc;
  enc.ca = "ministry-ca";
  enc.profile = "device-enc";
  auto enc_cert = env_.ca_->IssueVerifiedKey(kOp, enc, *x509::Name::Parse("CN=Enc"),
                                             enc_key->public_key);
  ASSERT_TRUE(enc_cert.ok()) << enc_cert.error().ToString();
  auto enc_pem = x509::Certificate::FromDer(enc_cert->record.der)->ToPem();
  auto not_signing = env_.cmp_->CreateCertClient(kSec, "ra-v", "ministry-ca", {"personal-sign"},
                                                 enc_pem);
  ASSERT_FALSE(not_signing.ok());
  EXPECT_EQ(not_signing.error().code(), ErrorCode::kPolicyViolation);
  EXPECT_EQ(FailedAudits("cmp.client.create"), 5);

  auto list = env_.cmp_->ListClients(kSec);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().protection, kProtectionSignature);
  EXPECT_EQ(list->front().cert_fingerprint, ra_->cert.fingerprint_hex());
  EXPECT_EQ(list->front().cert_issuer_ca, "ministry-ca");
  EXPECT_EQ(list->front().cert_key_id_hex, HexEncode(*ra_->cert.subject_key_id()));
}

// req: CA-01
TEST_F(CmpSignatureTest, PasswordMacStillWorksBesideSignatureClients) {
  auto mac = env_.cmp_->CreateClient(kSec, "ra-mac", "ministry-ca", {"personal-sign"});
  ASSERT_TRUE(mac.ok());
  auto key = env_.NewKey("pbm");
  std::string out;
  ASSERT_EQ(Shell("openssl cmp -server 127.0.0.1:" + std::to_string(server_->BoundPort()) +
                      " -path cmp/ministry-ca -ref ra-mac -secret pass:" + mac->secret +
                      " -digest sm3 -msg_timeout 5 -cmd ir -newkey '" + key.string() +
                      "' -subject /CN=Mac -certout " + P("mac.pem"),
                  env_.dir_ / "pbm.log", &out),
            0)
      << out;
  EXPECT_TRUE(x509::Certificate::FromPem(testing::ReadText(env_.dir_ / "mac.pem")).ok());
  // A MAC naming the signature client's reference is refused: it has no secret.
  auto info = ReadMessage(
      Post(OpensslRequest("-cmd ir -newkey '" + key.string() + "' -subject /CN=Mac", "ra-sig")));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->fail_info, 1u << kWrongIntegrity);
}

// req: CA-01
TEST_F(CmpSignatureTest, OpensslCmp30CannotSignWithAnSm2Key) {
  // What README.md states about the independent client: `openssl cmp` 3.0 with -cert/-key of
  // an SM2 certificate registered here fails before sending ("unsupported key type" while
  // protecting the message), so it cannot be a signature client of this server at all. If a
  // later OpenSSL can, this test says so: its requests would then carry the empty SM2 ID.
  auto key = env_.NewKey("ossl-ra");
  ca::IssueRequest req;
  req.ca = "ministry-ca";
  req.profile = "device-sign";
  auto issued = env_.ca_->IssueVerifiedKey(kOp, req, *x509::Name::Parse("CN=OpenSSL RA"),
                                           env_.PublicKeyOf(key));
  ASSERT_TRUE(issued.ok()) << issued.error().ToString();
  auto cert = x509::Certificate::FromDer(issued->record.der);
  ASSERT_TRUE(cert.ok());
  std::ofstream(env_.dir_ / "ossl-ra.pem") << cert->ToPem();
  ASSERT_TRUE(env_.cmp_->CreateCertClient(kSec, "ossl-ra", "ministry-ca", {"personal-sign"},
                                          cert->ToPem())
                  .ok());
  auto before = Certificates();
  auto failed = FailedAudits("cmp.ir");
  auto newkey = env_.NewKey("ossl-new");
  std::string out;
  int rc = Shell("openssl cmp -server 127.0.0.1:" + std::to_string(server_->BoundPort()) +
                     " -path cmp/ministry-ca -cert " + P("ossl-ra.pem") + " -key '" +
                     key.string() + "' -digest sm3 -msg_timeout 5 -unprotected_errors" +
                     " -cmd ir -newkey '" + newkey.string() + "' -subject /CN=X -certout " +
                     P("x.pem") + " -srvcert " + P("ossl-ra.pem"),
                 env_.dir_ / "ossl.log", &out);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("unsupported key type"), std::string::npos) << out;
  EXPECT_EQ(Certificates(), before);
  EXPECT_EQ(FailedAudits("cmp.ir"), failed);  // nothing reached the server
}

// req: CA-02
TEST_F(CmpSignatureTest, SignedCertConfIsAnsweredWithASignedPkiConf) {
  // ir without implicit confirmation: the transaction waits for certConf (RFC 4210 §5.3.18).
  auto key = env_.NewKey("conf");
  Bytes ip = Post(Protect(OpensslRequest("-cmd ir -newkey '" + key.string() +
                                             "' -subject /CN=Conf", "x", false),
                          *ra_));
  auto info = ReadMessage(ip);
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->certificates.size(), 1u);
  ExpectSignedByCa(ip);
  // certConf ::= SEQUENCE OF CertStatus { certHash (SM3 of the certificate), certReqId 0 },
  // same transactionID, recipNonce = the ip's senderNonce; signed like every request.
  namespace der = x509::der;
  auto nonce = crypto::RandomBytes(16);
  ASSERT_TRUE(nonce.ok());
  auto hash = crypto::Sm3(info->certificates.front());
  Bytes header = der::Sequence({der::Integer(2), der::Explicit(4, der::Sequence({})),
                                der::Explicit(4, ca_cert_->subject().der()),
                                der::Explicit(4, der::OctetString(info->transaction_id)),
                                der::Explicit(5, der::OctetString(*nonce)),
                                der::Explicit(6, der::OctetString(info->sender_nonce))});
  Bytes body = der::Explicit(
      static_cast<int>(BodyType::kCertConf),
      der::Sequence({der::Sequence({der::OctetString(hash), der::Integer(0)})}));
  Bytes conf = Protect(der::Sequence({header, body}), *ra_);
  Bytes pkiconf = Post(conf);
  auto answer = ReadMessage(pkiconf);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->body, static_cast<int>(BodyType::kPkiConf)) << answer->status_text;
  EXPECT_EQ(answer->recip_nonce, *nonce);
  ExpectSignedByCa(pkiconf);
  auto cert = x509::Certificate::FromDer(info->certificates.front());
  ASSERT_TRUE(cert.ok());
  auto rec = env_.ca_->GetCertificate(kOp, "ministry-ca", cert->serial_hex());
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->status, "good");
}

}  // namespace
}  // namespace gmpki::cmp
