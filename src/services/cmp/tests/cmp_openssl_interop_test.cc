// Interop with the independent client OpenSSL 3.0 `openssl cmp` against a real HTTP server on
// 127.0.0.1:0 (RFC 6712): ir, cr, p10cr, kur, rr, genm caCerts, certConf/pkiconf, all with
// password-based MAC and SM2 keys, and the HTTP problems for what is not a CMP message.
#include <nlohmann/json.hpp>

#include "net/server.h"
#include "services/cmp/cmp_routes.h"
#include "services/cmp/tests/cmp_fixture.h"
#include "x509/pem.h"

namespace gmpki::cmp {
namespace {

using testing::kSec;
using testing::Shell;

class CmpInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::testutil::ScratchDatabase::Create(store::Backend::kSqlite);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    auto st = env_.SetUp(db_->db());
    ASSERT_TRUE(st.ok()) << st.error().ToString();
    auto c = env_.cmp_->CreateClient(kSec, "ra-1", "ministry-ca", {"personal-sign"});
    ASSERT_TRUE(c.ok());
    secret_ = c->secret;
    net::Router router;
    ASSERT_TRUE(AddCmpRoutes(router, *env_.cmp_).ok());
    server_ = std::make_unique<net::HttpServer>(net::ServerConfig{}, std::move(router));
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    server_.reset();
    env_.TearDown();
    db_.reset();
  }
  // `openssl cmp` against our server; returns its exit status, output in *out.
  int Cmp(const std::string& args, std::string* out, const std::string& secret = "") {
    std::string cmd = "openssl cmp -server 127.0.0.1:" + std::to_string(server_->BoundPort()) +
                      " -path cmp/ministry-ca -ref ra-1 -secret pass:" +
                      (secret.empty() ? secret_ : secret) + " -digest sm3 -msg_timeout 5 " + args;
    return Shell(cmd, env_.dir_ / "cmp.log", out);
  }
  std::string P(const std::string& name) { return "'" + (env_.dir_ / name).string() + "'"; }
  x509::Certificate CertFile(const std::string& name) {
    auto c = x509::Certificate::FromPem(testing::ReadText(env_.dir_ / name));
    EXPECT_TRUE(c.ok()) << name;
    return c.ok() ? *c : *x509::Certificate::FromDer(env_.ca_->GetCa("ministry-ca")->cert_der);
  }
  ca::CertRecord Record(const x509::Certificate& c) {
    auto r = env_.ca_->GetCertificate(testing::kOp, "ministry-ca", c.serial_hex());
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : ca::CertRecord{};
  }
  std::int64_t Audits(const std::string& action, int outcome) {
    return env_.Count(db_->db(), "SELECT COUNT(*) FROM audit_records WHERE action = '" + action +
                                     "' AND outcome = " + std::to_string(outcome));
  }

  std::unique_ptr<store::testutil::ScratchDatabase> db_;
  testing::CmpEnvironment env_;
  std::unique_ptr<net::HttpServer> server_;
  std::string secret_;
};

// req: CA-01, CA-02
TEST_F(CmpInteropTest, IrWithCertConfThenKurAndRr) {
  auto k1 = env_.NewKey("k1");
  std::string out;
  ASSERT_EQ(Cmp("-cmd ir -newkey '" + k1.string() + "' -subject '/CN=Zhang San' -certout " +
                    P("c1.pem") + " -cacertsout " + P("capubs.pem"),
                &out), 0) << out;
  auto c1 = CertFile("c1.pem");
  EXPECT_EQ(c1.subject().ToRfc4514(), "CN=Zhang San");
  EXPECT_TRUE(c1.public_key() == env_.PublicKeyOf(k1));
  env_.ExpectChains(c1);
  EXPECT_EQ(Record(c1).requested_by, "cmp:ra-1");
  // caPubs of the ip carries the root (RFC 9483 §4.1.1).
  auto root = CertFile("capubs.pem");
  EXPECT_EQ(root.der(), env_.ca_->GetCa("root")->cert_der);
  // openssl sent certConf and got pkiconf.
  EXPECT_EQ(Audits("cmp.certConf", 1), 1);

  // kur: new key, same subject; the old certificate is revoked (superseded).
  auto k2 = env_.NewKey("k2");
  ASSERT_EQ(Cmp("-cmd kur -oldcert " + P("c1.pem") + " -newkey '" + k2.string() + "' -certout " +
                    P("c2.pem"),
                &out), 0) << out;
  auto c2 = CertFile("c2.pem");
  EXPECT_EQ(c2.subject().ToRfc4514(), "CN=Zhang San");
  EXPECT_TRUE(c2.public_key() == env_.PublicKeyOf(k2));
  env_.ExpectChains(c2);
  EXPECT_EQ(Record(c1).status, "revoked");
  EXPECT_EQ(Record(c1).revocation_reason, static_cast<int>(x509::RevocationReason::kSuperseded));

  // rr with reason keyCompromise (1).
  ASSERT_EQ(Cmp("-cmd rr -oldcert " + P("c2.pem") + " -revreason 1", &out), 0) << out;
  EXPECT_EQ(Record(c2).status, "revoked");
  EXPECT_EQ(Record(c2).revocation_reason, 1);
  // Revoking again: a rejection, reported by openssl as a failure.
  EXPECT_NE(Cmp("-cmd rr -oldcert " + P("c2.pem"), &out), 0);
}

// req: CA-01, CA-02
TEST_F(CmpInteropTest, CrAndP10crWithImplicitConfirm) {
  auto k = env_.NewKey("k");
  std::string out;
  ASSERT_EQ(Cmp("-cmd cr -implicit_confirm -newkey '" + k.string() +
                    "' -subject '/CN=Li Si' -certout " + P("cr.pem"),
                &out), 0) << out;
  auto cr = CertFile("cr.pem");
  EXPECT_EQ(cr.subject().ToRfc4514(), "CN=Li Si");
  EXPECT_TRUE(cr.public_key() == env_.PublicKeyOf(k));
  env_.ExpectChains(cr);
  EXPECT_EQ(Audits("cmp.certConf", 1), 0);  // implicit confirm granted: no certConf

  // p10cr with a CSR as `openssl req` makes it (SM2 signature with OpenSSL 3.0's empty ID).
  auto k3 = env_.NewKey("k3");
  ASSERT_EQ(Shell("openssl req -new -key '" + k3.string() + "' -subj '/CN=Wang Wu' -sm3 -out " +
                      P("csr.pem"), env_.dir_ / "req.log"), 0);
  ASSERT_EQ(Cmp("-cmd p10cr -csr " + P("csr.pem") + " -certout " + P("p10.pem"), &out), 0) << out;
  auto p10 = CertFile("p10.pem");
  EXPECT_EQ(p10.subject().ToRfc4514(), "CN=Wang Wu");
  EXPECT_TRUE(p10.public_key() == env_.PublicKeyOf(k3));
  env_.ExpectChains(p10);
}

// req: CA-01
TEST_F(CmpInteropTest, GenmCaCertsReturnsTheChain) {
  std::string out;
  ASSERT_EQ(Cmp("-cmd genm -infotype caCerts -rspout " + P("genp.der"), &out), 0) << out;
  auto genp = ReadMessage(testing::ReadBytes(env_.dir_ / "genp.der"));
  ASSERT_TRUE(genp.ok());
  EXPECT_EQ(genp->body, static_cast<int>(BodyType::kGenp));
  EXPECT_EQ(genp->genp_types, std::vector<std::string>{kOidCaCerts});
  ASSERT_EQ(genp->certificates.size(), 3u);  // ministry-ca, industry, root
  EXPECT_EQ(genp->certificates[0], env_.ca_->GetCa("ministry-ca")->cert_der);
  // An infoType we do not offer gets an empty genp, not an error.
  ASSERT_EQ(Cmp("-cmd genm -infotype signKeyPairTypes -rspout " + P("genp2.der"), &out), 0) << out;
  auto empty = ReadMessage(testing::ReadBytes(env_.dir_ / "genp2.der"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->body, static_cast<int>(BodyType::kGenp));
  EXPECT_TRUE(empty->genp_types.empty());
}

// req: CA-01
TEST_F(CmpInteropTest, WrongSecretIsRefusedWithBadMessageCheckAndIssuesNothing) {
  auto k = env_.NewKey("k");
  std::string out;
  EXPECT_NE(Cmp("-cmd ir -unprotected_errors -newkey '" + k.string() +
                    "' -subject '/CN=Eve' -certout " + P("eve.pem"),
                &out, "wrong-secret"), 0);
  EXPECT_NE(out.find("badMessageCheck"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(env_.dir_ / "eve.pem"));
  EXPECT_EQ(env_.Count(db_->db(), "SELECT COUNT(*) FROM certificates WHERE ca = 'ministry-ca'"), 0);
  EXPECT_EQ(Audits("cmp.ir", 2), 1);
}

// req: CA-01
TEST_F(CmpInteropTest, NonCmpBodiesAndUnknownCasAreHttpProblems) {
  net::HttpRequest r;
  r.method = "POST";
  r.target = "/cmp/ministry-ca";
  r.body = "garbage";
  r.headers["Content-Type"] = "application/pkixcmp";
  auto rsp = server_->Handle(r);
  EXPECT_EQ(rsp.status, 400);
  EXPECT_EQ(rsp.content_type, "application/problem+json");
  r.target = "/cmp/no-such-ca";
  r.body = ToString(*BuildErrorMessage(MessageInfo{}, kBadRequest, "x", env_.clock_.Now()));
  rsp = server_->Handle(r);
  EXPECT_EQ(rsp.status, 404) << rsp.body;
  EXPECT_EQ(rsp.content_type, "application/problem+json");
}

}  // namespace
}  // namespace gmpki::cmp
