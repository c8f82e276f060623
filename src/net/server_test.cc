// Plain-HTTP server tests: everything is exercised over a real socket on 127.0.0.1:0.
#include "net/server.h"

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/client.h"

namespace gmpki::net {
namespace {

Router TestRouter() {
  Router r;
  EXPECT_TRUE(r.Add("GET", "/api/v1/cas/{ca}/certificates/{serial}",
                    [](const HttpRequest& req, const PathParams& p) {
                      return JsonResponse(200, {{"ca", p.at("ca")},
                                                {"serial", p.at("serial")},
                                                {"q", req.query},
                                                {"rid", req.request_id},
                                                {"tls", req.tls},
                                                {"has_peer", req.peer.has_value()}});
                    })
                  .ok());
  EXPECT_TRUE(r.Add("POST", "/echo",
                    [](const HttpRequest& req, const PathParams&) {
                      return TextResponse(201, req.body, req.Header("content-type"));
                    })
                  .ok());
  EXPECT_TRUE(r.Add("GET", "/boom",
                    [](const HttpRequest&, const PathParams&) -> HttpResponse {
                      throw std::runtime_error("db password=hunter2");
                    })
                  .ok());
  return r;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig cfg;
    cfg.port = 0;
    cfg.threads = 4;
    cfg.max_body_bytes = 1024;
    server_ = std::make_unique<HttpServer>(std::move(cfg), TestRouter());
    server_->AddHealthCheck("db", [this] {
      return db_ok_ ? OkStatus() : Status(ErrorCode::kStorageFailure, "db down");
    });
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_NE(server_->BoundPort(), 0);
    base_ = "http://127.0.0.1:" + std::to_string(server_->BoundPort());
    auto c = HttpClient::Create({});
    ASSERT_TRUE(c.ok()) << c.error().ToString();
    client_ = std::make_unique<HttpClient>(std::move(c).value());
  }

  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::string base_;
  std::atomic<bool> db_ok_{true};
};

TEST_F(ServerTest, RoutesWithParamsOverTheWire) {
  auto r = client_->Get(base_ + "/api/v1/cas/root/certificates/01ab?full=yes",
                        {{"X-Request-Id", "abc-123"}});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->headers["x-request-id"], "abc-123");
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["ca"], "root");
  EXPECT_EQ(j["serial"], "01ab");
  EXPECT_EQ(j["q"]["full"], "yes");
  EXPECT_EQ(j["rid"], "abc-123");
  EXPECT_EQ(j["tls"], false);
  EXPECT_EQ(j["has_peer"], false);
}

TEST_F(ServerTest, GeneratesRequestIdWhenAbsentOrUnsafe) {
  auto r = client_->Get(base_ + "/healthz", {{"X-Request-Id", "bad id\twith spaces"}});
  ASSERT_TRUE(r.ok());
  std::string rid = r->headers["X-Request-Id"];
  EXPECT_EQ(rid.size(), 32u);
  EXPECT_EQ(rid.find(' '), std::string::npos);
}

TEST_F(ServerTest, UnknownPathAndWrongMethodAreProblems) {
  auto r = client_->Get(base_ + "/nowhere");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->content_type, "application/problem+json");
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["type"], "https://gmpki.dev/problems/not-found");
  EXPECT_EQ(j["status"], 404);
  EXPECT_EQ(j["instance"], "/nowhere");

  r = client_->Post(base_ + "/api/v1/cas/root/certificates/01", "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->headers["Allow"], "GET");
  EXPECT_EQ(nlohmann::json::parse(r->body)["type"],
            "https://gmpki.dev/problems/method-not-allowed");
}

// req: CC-FRU
TEST_F(ServerTest, BodyLimitGives413) {
  auto ok = client_->Post(base_ + "/echo", std::string(1024, 'a'), "text/plain");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 201);
  EXPECT_EQ(ok->body.size(), 1024u);

  auto r = client_->Post(base_ + "/echo", std::string(1025, 'a'), "text/plain");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->content_type, "application/problem+json");
  EXPECT_EQ(nlohmann::json::parse(r->body)["type"], "https://gmpki.dev/problems/too-large");

  // A body far beyond the limit: the server answers without reading it all.
  r = client_->Post(base_ + "/echo", std::string(4u << 20, 'b'), "text/plain");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 413);
  // The server still serves afterwards.
  auto h = client_->Get(base_ + "/healthz");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status, 200);
}

TEST_F(ServerTest, HandlerExceptionGives500WithoutDetails) {
  auto r = client_->Get(base_ + "/boom");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(nlohmann::json::parse(r->body)["type"], "https://gmpki.dev/problems/internal");
  EXPECT_EQ(r->body.find("hunter2"), std::string::npos);
}

// req: MG-02
TEST_F(ServerTest, HealthzReflectsChecks) {
  auto r = client_->Get(base_ + "/healthz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["checks"]["db"], "ok");

  db_ok_ = false;
  r = client_->Get(base_ + "/healthz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["status"], "fail");
  EXPECT_NE(j["checks"]["db"].get<std::string>().find("db down"), std::string::npos);

  r = client_->Post(base_ + "/healthz", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
}

// req: MG-02
TEST_F(ServerTest, MetricsExposeRequestCountsAndDurations) {
  ASSERT_TRUE(client_->Get(base_ + "/api/v1/cas/a/certificates/1").ok());
  ASSERT_TRUE(client_->Get(base_ + "/api/v1/cas/b/certificates/2").ok());
  ASSERT_TRUE(client_->Get(base_ + "/missing").ok());
  server_->metrics().AddCounter("ca_certificates_issued_total", "Issued", {"ca"}).Inc({"root"});
  auto r = client_->Get(base_ + "/metrics");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::string& t = r->body;
  EXPECT_NE(t.find("# TYPE http_requests_total counter"), std::string::npos);
  EXPECT_NE(t.find("http_requests_total{method=\"GET\",route=\"/api/v1/cas/{ca}/certificates/"
                   "{serial}\",status=\"200\"} 2\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.find("# TYPE http_request_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(t.find("http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/cas/{ca}/"
                   "certificates/{serial}\"} 2\n"),
            std::string::npos);
  EXPECT_NE(t.find("ca_certificates_issued_total{ca=\"root\"} 1\n"), std::string::npos);
}

// req: CC-FRU
TEST_F(ServerTest, SixtyFourParallelRequestsAllSucceed) {
  std::vector<std::future<int>> results;
  for (int i = 0; i < 64; ++i) {
    results.push_back(std::async(std::launch::async, [this, i] {
      auto r = client_->Get(base_ + "/api/v1/cas/c" + std::to_string(i) + "/certificates/" +
                            std::to_string(i));
      if (!r.ok()) return -1;
      auto j = nlohmann::json::parse(r->body);
      return j["ca"] == "c" + std::to_string(i) ? r->status : -2;
    }));
  }
  for (auto& f : results) EXPECT_EQ(f.get(), 200);
}

TEST_F(ServerTest, InProcessHandleRunsTheSamePipeline) {
  HttpRequest req;
  req.method = "GET";
  req.target = "/api/v1/cas/x/certificates/9";
  HttpResponse r = server_->Handle(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["serial"], "9");
  req.method = "POST";
  req.target = "/echo";
  req.path.clear();
  req.body = std::string(2000, 'x');
  EXPECT_EQ(server_->Handle(req).status, 413);
}

TEST_F(ServerTest, StopIsGracefulAndIdempotent) {
  ASSERT_TRUE(client_->Get(base_ + "/healthz").ok());
  server_->Stop();
  server_->Stop();
  auto r = client_->Get(base_ + "/healthz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(server_->Start().error().code(), ErrorCode::kFailedPrecondition);
}

TEST(ServerConfigTest, BadAddressAndPortInUseFail) {
  ServerConfig bad;
  bad.host = "not-an-ip";
  HttpServer s1(std::move(bad), Router());
  Status st = s1.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kConfigInvalid);

  HttpServer a(ServerConfig{}, Router());
  ASSERT_TRUE(a.Start().ok());
  ServerConfig same;
  same.port = a.BoundPort();
  HttpServer b(std::move(same), Router());
  Status sb = b.Start();
  ASSERT_FALSE(sb.ok());
  EXPECT_EQ(sb.error().code(), ErrorCode::kIoError);
}

TEST(ClientTest, ErrorsAreClassified) {
  auto c = HttpClient::Create({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->Get("ftp://x/").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(c->Get("http:///x").error().code(), ErrorCode::kInvalidArgument);
  // Port 1 on loopback: nothing listens, connection refused.
  EXPECT_EQ(c->Get("http://127.0.0.1:1/").error().code(), ErrorCode::kUnavailable);
}

TEST(ClientTest, ReadTimeout) {
  Router r;
  ASSERT_TRUE(r.Add("GET", "/slow",
                    [](const HttpRequest&, const PathParams&) {
                      std::this_thread::sleep_for(std::chrono::milliseconds(800));
                      return TextResponse(200, "late");
                    })
                  .ok());
  HttpServer s(ServerConfig{}, std::move(r));
  ASSERT_TRUE(s.Start().ok());
  ClientConfig cfg;
  cfg.timeout = std::chrono::milliseconds(200);
  auto c = HttpClient::Create(std::move(cfg));
  ASSERT_TRUE(c.ok());
  auto resp = c->Get("http://127.0.0.1:" + std::to_string(s.BoundPort()) + "/slow");
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.error().code(), ErrorCode::kTimeout);
}

}  // namespace
}  // namespace gmpki::net
