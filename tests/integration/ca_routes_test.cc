// The CA's HTTP interface through the server pipeline in-process (no socket): authentication by
// the verified client certificate, RFC 9457 problems for every kind of bad request.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "crypto/random.h"
#include "net/server.h"
#include "services/ca/ca_routes.h"
#include "services/node/node.h"
#include "x509/csr.h"
#include "x509/name.h"
#include "x509/pem.h"
#include "x509/signer.h"

namespace gmpki::ca {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class CaRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gmpki-routes-" + HexEncode(*crypto::RandomBytes(6)));
    node::InitOptions o;
    o.home = dir_;
    o.demo = true;
    o.listen = "127.0.0.1:0";
    o.http_listen = "127.0.0.1:0";
    SystemClock clock;
    ASSERT_TRUE(node::InitHome(o, clock).ok());
    auto n = node::Node::Open(dir_);
    ASSERT_TRUE(n.ok()) << n.error().ToString();
    node_ = std::move(*n);
    ApiDeps d;
    d.ca = &node_->ca();
    d.operators = &node_->operators();
    d.db = &node_->db();
    d.verify_audit = [this] { return node_->VerifyAudit(); };
    d.openapi_json = "{}";
    net::Router api;
    ASSERT_TRUE(AddCaApiRoutes(api, d).ok());
    ASSERT_TRUE(AddCaPublicRoutes(api, node_->ca()).ok());
    server_ = std::make_unique<net::HttpServer>(net::ServerConfig{}, std::move(api));
  }
  void TearDown() override {
    server_.reset();
    node_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // The identity the TLS layer would have verified for the demo operator of `role`.
  std::optional<net::PeerIdentity> Peer(services::Role role) {
    auto cred = node::LoadCredential(dir_ / "demo" / "operators" / node::InitialOperatorName(role));
    EXPECT_TRUE(cred.ok());
    net::PeerIdentity p;
    p.sm3_fingerprint = *node::VerifyCredential(*cred);
    return p;
  }
  net::HttpResponse Call(const std::string& method, const std::string& target, const std::string& body,
                         std::optional<net::PeerIdentity> peer) {
    net::HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.tls = true;
    r.peer = std::move(peer);
    return server_->Handle(std::move(r));
  }
  static void ExpectProblem(const net::HttpResponse& r, int status, const std::string& slug) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json");
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["status"], status);
    EXPECT_NE(j["type"].get<std::string>().find(slug), std::string::npos) << r.body;
  }
  std::string CsrPem() {
    auto kp = crypto::Sm2GenerateKeyPair();
    auto key = std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key));
    auto der = x509::BuildCsr(*x509::Name::Parse("C=CN,O=MOHRSS,CN=Route Test"),
                              x509::MakeSoftwareSigner(key, kp->public_key));
    return x509::PemEncode(x509::kPemCsr, *der);
  }

  fs::path dir_;
  std::unique_ptr<node::Node> node_;
  std::unique_ptr<net::HttpServer> server_;
};

// req: CC-FIA, CA-02
TEST_F(CaRoutesTest, IssueRevokeAndCrlOverTheApi) {
  auto op = Peer(services::Role::kCaOperator);
  json req{{"profile", "personal-sign"}, {"csr", CsrPem()}};
  auto issued = Call("POST", "/api/v1/cas/ministry-ca/certificates", req.dump(), op);
  ASSERT_EQ(issued.status, 201) << issued.body;
  auto serial = json::parse(issued.body)["serial"].get<std::string>();
  auto pem = Call("GET", "/api/v1/cas/ministry-ca/certificates/" + serial + "?format=pem&chain=true", "", op);
  ASSERT_EQ(pem.status, 200);
  EXPECT_EQ(x509::ParseCertificatesPem(pem.body)->size(), 4u);
  auto rev = Call("POST", "/api/v1/cas/ministry-ca/certificates/" + serial + "/revoke",
                  R"({"reason":"keyCompromise"})", op);
  ASSERT_EQ(rev.status, 200) << rev.body;
  EXPECT_EQ(json::parse(rev.body)["status"], "revoked");
  ExpectProblem(Call("POST", "/api/v1/cas/ministry-ca/certificates/" + serial + "/revoke",
                     R"({"reason":"keyCompromise"})", op), 409, "conflict");
  auto crl = Call("POST", "/api/v1/cas/ministry-ca/crls", "{}", op);
  ASSERT_EQ(crl.status, 201) << crl.body;
  auto dl = Call("GET", "/crl/ministry-ca.crl", "", std::nullopt);
  ASSERT_EQ(dl.status, 200);
  EXPECT_EQ(dl.content_type, "application/pkix-crl");
  auto parsed = x509::Crl::FromDer(AsBytes(dl.body));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->entries().size(), 1u);
}

// req: CC-FIA, CC-FMT, CA-02
TEST_F(CaRoutesTest, BadRequestsAreSpecificProblems) {
  auto op = Peer(services::Role::kCaOperator);
  ExpectProblem(Call("GET", "/api/v1/cas", "", std::nullopt), 401, "unauthenticated");
  net::PeerIdentity stranger;
  stranger.sm3_fingerprint = std::string(64, '0');
  ExpectProblem(Call("GET", "/api/v1/cas", "", stranger), 401, "unauthenticated");
  ExpectProblem(Call("POST", "/api/v1/cas/ministry-ca/certificates", "{not json", op), 400, "malformed-input");
  ExpectProblem(Call("POST", "/api/v1/cas/ministry-ca/certificates", R"({"profile":"personal-sign"})", op), 400,
                "invalid-argument");
  ExpectProblem(Call("POST", "/api/v1/cas/ministry-ca/certificates", R"({"profile":7,"csr":"x"})", op), 400,
                "invalid-argument");
  json unknown_profile{{"profile", "nope"}, {"csr", CsrPem()}};
  ExpectProblem(Call("POST", "/api/v1/cas/ministry-ca/certificates", unknown_profile.dump(), op), 400,
                "unknown-profile");
  json bad_identity{{"profile", "personal-sign"}, {"csr", CsrPem()}, {"identity", {{"shoe_size", "42"}}}};
  ExpectProblem(Call("POST", "/api/v1/cas/ministry-ca/certificates", bad_identity.dump(), op), 400,
                "invalid-argument");
  json ok{{"profile", "personal-sign"}, {"csr", CsrPem()}};
  ExpectProblem(Call("POST", "/api/v1/cas/nope/certificates", ok.dump(), op), 404, "not-found");
  ExpectProblem(Call("POST", "/api/v1/cas/ministry-ca/certificates/ABCDEF0123/revoke",
                     R"({"reason":"keyCompromise"})", op), 404, "not-found");
  ExpectProblem(Call("POST", "/api/v1/cas/ministry-ca/certificates/ABCDEF0123/revoke",
                     R"({"reason":"bored"})", op), 400, "invalid-argument");
  ExpectProblem(Call("GET", "/api/v1/cas/ministry-ca/certificates?limit=abc", "", op), 400, "invalid-argument");
  ExpectProblem(Call("GET", "/crl/unknown-ca.crl", "", std::nullopt), 404, "not-found");
  // Role separation: the audit administrator reads the audit, not certificates, and vice versa.
  auto aud = Peer(services::Role::kAuditAdmin);
  ExpectProblem(Call("POST", "/api/v1/cas/ministry-ca/certificates", ok.dump(), aud), 403, "permission-denied");
  ExpectProblem(Call("GET", "/api/v1/audit/verify", "", op), 403, "permission-denied");
  auto verify = Call("GET", "/api/v1/audit/verify", "", aud);
  ASSERT_EQ(verify.status, 200) << verify.body;
  EXPECT_TRUE(json::parse(verify.body)["ok"].get<bool>());
  // None of the refused requests stored a certificate.
  auto list = Call("GET", "/api/v1/cas/ministry-ca/certificates", "", op);
  ASSERT_EQ(list.status, 200);
  EXPECT_TRUE(json::parse(list.body).empty());
}

}  // namespace
}  // namespace gmpki::ca
