// The RA's REST routes over a real HTTPS server on 127.0.0.1:0 with operators authenticated by
// TLS client certificates (CC-FIA, CC-FTP), problem+json for every refusal.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/sm3.h"
#include "net/client.h"
#include "net/server.h"
#include "net/tls_pki.h"
#include "services/ra/ra_routes.h"
#include "services/ra/tests/ra_fixture.h"
#include "x509/pkcs7.h"

namespace gmpki::ra {
namespace {

using namespace testing;  // NOLINT: the RA test helpers
using nlohmann::json;

class RaRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::testutil::ScratchDatabase::Create(store::Backend::kSqlite);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    env_.SetUp(store::Backend::kSqlite, db_->db(), /*with_operators=*/true);
    operators_ = std::make_unique<services::OperatorRegistry>(db_->db(), env_.clock_, "node-1");

    auto tls_ca = net::CreateTlsCa("CN=RA test TLS CA,O=gmpki");
    ASSERT_TRUE(tls_ca.ok());
    tls_ca_ = std::move(*tls_ca);
    net::TlsCertSpec server_spec;
    server_spec.subject_dn = "CN=localhost,O=gmpki";
    server_spec.ip_addresses = {"127.0.0.1"};
    auto server_cred = net::IssueTlsServerCredentials(tls_ca_, server_spec);
    ASSERT_TRUE(server_cred.ok());
    // Operators: the system administrator enrols itself at bootstrap, then the ra-operators.
    Enrol(std::nullopt, "sys", services::Role::kSystemAdmin);
    for (const char* n : {"alice", "bob"}) Enrol(kSys, n, services::Role::kRaOperator);

    RaApiDeps deps{env_.ra_.get(), operators_.get()};
    net::Router router;
    ASSERT_TRUE(AddRaApiRoutes(router, deps).ok());
    EXPECT_EQ(AddRaApiRoutes(router, {}).error().code(), ErrorCode::kInvalidArgument);
    net::ServerConfig cfg;
    net::TlsServerConfig tls;
    tls.cert_chain_pem = server_cred->cert_pem;
    tls.key_pem = server_cred->key_pem.Clone();
    tls.client_ca_pem = tls_ca_.cert_pem;
    tls.client_cert_mode = net::ClientCertMode::kOptional;
    cfg.tls = std::move(tls);
    server_ = std::make_unique<net::HttpServer>(std::move(cfg), std::move(router));
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    server_.reset();
    operators_.reset();
    env_.TearDown();
    db_.reset();
  }
  void Enrol(const std::optional<services::Actor>& by, const std::string& name,
             services::Role role) {
    net::TlsCertSpec spec;
    spec.subject_dn = "CN=" + name + ",O=gmpki";
    auto cred = net::IssueTlsClientCredentials(tls_ca_, spec);
    ASSERT_TRUE(cred.ok());
    auto der = x509::PemDecode(cred->cert_pem, x509::kPemCertificate);
    ASSERT_TRUE(der.ok());
    auto fp = HexEncode(crypto::Sm3(*der));
    ASSERT_TRUE(operators_->Enrol(by, name, role, "person-" + name, fp).ok());
    net::ClientConfig c;
    c.ca_bundle_pem = tls_ca_.cert_pem;
    c.client_cert_pem = cred->cert_pem;
    c.client_key_pem = cred->key_pem.Clone();
    auto client = net::HttpClient::Create(std::move(c));
    ASSERT_TRUE(client.ok());
    clients_.emplace(name, std::move(*client));
  }
  net::HttpResponse Call(const std::string& who, const std::string& method,
                         const std::string& path, const std::string& body = "") {
    std::string url = "https://127.0.0.1:" + std::to_string(server_->BoundPort()) + path;
    auto r = clients_.at(who).Send(method, url, body, {{"Content-Type", "application/json"}});
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? *r : net::HttpResponse{};
  }
  static json Json(const net::HttpResponse& r) { return json::parse(r.body, nullptr, false); }
  static void ExpectProblem(const net::HttpResponse& r, int status, const std::string& slug) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json");
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["status"], status);
    EXPECT_EQ(j["type"], net::ProblemTypeUri(slug)) << r.body;
  }

  std::unique_ptr<store::testutil::ScratchDatabase> db_;
  RaEnv env_;
  std::unique_ptr<services::OperatorRegistry> operators_;
  net::TlsIssuer tls_ca_;
  std::map<std::string, net::HttpClient> clients_;
  std::unique_ptr<net::HttpServer> server_;
};

// req: RA-01, RA-02, CC-FIA, CC-FPR
TEST_F(RaRoutesTest, EnrolReviewIssueAndDownloadOverHttps) {
  auto point = Call("sys", "POST", "/api/v1/ra/points",
                    R"({"name":"haidian-01","description":"Haidian hall","location":"Beijing"})");
  ASSERT_EQ(point.status, 201) << point.body;
  ASSERT_EQ(Call("sys", "PUT", "/api/v1/ra/operators/alice", R"({"point":"haidian-01"})").status, 200);
  ASSERT_EQ(Call("sys", "PUT", "/api/v1/ra/operators/bob", R"({"point":"haidian-01"})").status, 200);
  auto points = Call("sys", "GET", "/api/v1/ra/points");
  ASSERT_EQ(points.status, 200);
  EXPECT_EQ(Json(points)[1]["operators"], json({"alice", "bob"}));

  std::string id = ResidentId(21);
  json person{{"kind", "person"},   {"name", "陈一"},         {"id_kind", "resident-id"},
              {"id_number", id},    {"social_security", "SS1234567890"},
              {"phone", "13700137000"}};
  auto entered = Call("alice", "POST", "/api/v1/ra/subscribers", person.dump());
  ASSERT_EQ(entered.status, 201) << entered.body;
  EXPECT_EQ(entered.body.find(id), std::string::npos);  // masked in the answer
  std::string sub = Json(entered)["id"];
  EXPECT_EQ(Json(entered)["id_number"], MaskIdentifier(id));
  EXPECT_EQ(Json(entered)["point"], "haidian-01");

  ExpectProblem(Call("alice", "POST", "/api/v1/ra/subscribers/" + sub + "/review",
                     R"({"approve":true})"),
                InfoFor(ErrorCode::kPolicyViolation).http_status, "policy-violation");
  ASSERT_EQ(Call("bob", "POST", "/api/v1/ra/subscribers/" + sub + "/review", R"({"approve":true})").status, 200);

  auto found = Call("bob", "POST", "/api/v1/ra/subscribers/search",
                    json{{"id_kind", "resident-id"}, {"id_number", id}}.dump());
  ASSERT_EQ(found.status, 200) << found.body;
  ASSERT_EQ(Json(found).size(), 1u);
  EXPECT_EQ(found.body.find(id), std::string::npos);
  auto clear = Call("bob", "GET", "/api/v1/ra/subscribers/" + sub + "?reveal=true");
  ASSERT_EQ(clear.status, 200);
  EXPECT_EQ(Json(clear)["id_number"], id);
  EXPECT_EQ(Json(clear)["phone"], "13700137000");
  ExpectProblem(Call("sys", "GET", "/api/v1/ra/subscribers/" + sub + "?reveal=true"), 403,
                "permission-denied");

  auto csr = x509::PemEncode(x509::kPemCsr, CsrDer("C=CN,CN=Chen Yi"));
  auto req = Call("alice", "POST", "/api/v1/ra/requests",
                  json{{"subscriber", sub}, {"ca", "biz"}, {"profile", "personal-sign"},
                       {"csr", csr}}.dump());
  ASSERT_EQ(req.status, 201) << req.body;
  std::string rid = Json(req)["id"];
  auto approved = Call("bob", "POST", "/api/v1/ra/requests/" + rid + "/review", R"({"approve":true})");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(Json(approved)["status"], "completed");
  // A retried approval answers the same certificate and issues nothing.
  auto retried = Call("bob", "POST", "/api/v1/ra/requests/" + rid + "/review", R"({"approve":true})");
  EXPECT_EQ(Json(retried)["serial"], Json(approved)["serial"]);
  EXPECT_EQ(env_.CaCertificates(), 1);

  auto p7 = Call("alice", "GET", "/api/v1/ra/requests/" + rid + "/certificate?format=p7b");
  ASSERT_EQ(p7.status, 200);
  EXPECT_EQ(p7.content_type, "application/pkcs7-mime");
  EXPECT_EQ(x509::ParsePkcs7Certificates(AsBytes(p7.body))->size(), 4u);
  auto pem = Call("alice", "GET", "/api/v1/ra/requests/" + rid + "/certificate");
  ASSERT_EQ(pem.status, 200);
  EXPECT_TRUE(x509::Certificate::FromPem(pem.body).ok());

  auto rev = Call("alice", "POST", "/api/v1/ra/requests/" + rid + "/revoke", R"({"reason":"keyCompromise"})");
  ASSERT_EQ(rev.status, 201) << rev.body;
  auto rev_done = Call("bob", "POST", "/api/v1/ra/requests/" + std::string(Json(rev)["id"]) + "/review",
                       R"({"approve":true})");
  ASSERT_EQ(rev_done.status, 200) << rev_done.body;
  EXPECT_EQ(Json(rev_done)["status"], "completed");
  auto list = Call("bob", "GET", "/api/v1/ra/requests?subscriber=" + sub);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(Json(list).size(), 2u);
}

// req: RA-01, CC-FIA
TEST_F(RaRoutesTest, BadRequestsAreProblemsAndWriteNothing) {
  // alice is bound to the fixture's point "chaoyang-01" (RaEnv), so she may act.
  std::string id = ResidentId(22);
  std::string bad = id;
  bad[17] = bad[17] == '0' ? '1' : '0';
  json person{{"kind", "person"}, {"name", "林二"}, {"id_kind", "resident-id"}, {"id_number", bad}};
  ExpectProblem(Call("alice", "POST", "/api/v1/ra/subscribers", person.dump()), 400,
                "invalid-argument");
  ExpectProblem(Call("alice", "POST", "/api/v1/ra/subscribers", "{not json"), 400,
                "malformed-input");
  ExpectProblem(Call("alice", "POST", "/api/v1/ra/subscribers", R"({"kind":"person","nmae":"x"})"),
                400, "invalid-argument");
  ExpectProblem(Call("alice", "POST", "/api/v1/ra/subscribers", R"({"kind":7})"), 400,
                "invalid-argument");
  person["id_number"] = id;
  ASSERT_EQ(Call("alice", "POST", "/api/v1/ra/subscribers", person.dump()).status, 201);
  ExpectProblem(Call("bob", "POST", "/api/v1/ra/subscribers", person.dump()), 409,
                "already-exists");
  ExpectProblem(Call("bob", "GET", "/api/v1/ra/subscribers/sub-0000000000000000"), 404,
                "not-found");
  ExpectProblem(Call("bob", "GET", "/api/v1/ra/subscribers?limit=abc"), 400, "invalid-argument");
  ExpectProblem(Call("bob", "GET", "/api/v1/ra/requests/req-1/certificate?format=zip"), 400,
                "invalid-argument");
  ExpectProblem(Call("bob", "POST", "/api/v1/ra/subscribers/x/review", R"({"reason":"no"})"), 400,
                "invalid-argument");
  ExpectProblem(Call("alice", "POST", "/api/v1/ra/points", R"({"name":"p"})"), 403,
                "permission-denied");
  EXPECT_EQ(env_.RaCount("ra_subscribers"), 1);
  EXPECT_EQ(env_.RaCount("ra_points"), 1);

  // No client certificate, or one no operator holds: 401.
  net::ClientConfig anon;
  anon.ca_bundle_pem = tls_ca_.cert_pem;
  auto client = net::HttpClient::Create(std::move(anon));
  ASSERT_TRUE(client.ok());
  auto r = client->Get("https://127.0.0.1:" + std::to_string(server_->BoundPort()) +
                       "/api/v1/ra/subscribers");
  ASSERT_TRUE(r.ok());
  ExpectProblem(*r, 401, "unauthenticated");
  Enrol(kSys, "carol", services::Role::kRaOperator);  // enrolled but bound nowhere in this RA
  ASSERT_TRUE(env_.ra_->UnbindOperator(kSys, "carol").ok());
  ExpectProblem(Call("carol", "GET", "/api/v1/ra/subscribers"), 403, "permission-denied");
}

}  // namespace
}  // namespace gmpki::ra
