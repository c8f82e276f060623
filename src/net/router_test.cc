#include "net/router.h"

#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace gmpki::net {
namespace {

HttpRequest Req(std::string method, std::string target) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = target;
  EXPECT_TRUE(ParseTarget(target, &r.path, &r.query).ok());
  return r;
}

Handler Echo(std::string tag) {
  return [tag](const HttpRequest& req, const PathParams& params) {
    nlohmann::json j = {{"tag", tag}, {"params", params}, {"query", req.query}};
    return JsonResponse(200, j);
  };
}

nlohmann::json Body(const HttpResponse& r) { return nlohmann::json::parse(r.body); }

TEST(RouterTest, MatchesLiteralAndParameterSegments) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/api/v1/cas/{ca}/certificates/{serial}", Echo("cert")).ok());
  ASSERT_TRUE(router.Add("GET", "/api/v1/cas/{ca}", Echo("ca")).ok());
  ASSERT_TRUE(router.Add("GET", "/", Echo("root")).ok());
  std::string route;
  HttpResponse r =
      router.Dispatch(Req("GET", "/api/v1/cas/root%20ca/certificates/0aF1?x=1&y=a+b"), &route);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(route, "/api/v1/cas/{ca}/certificates/{serial}");
  nlohmann::json b = Body(r);
  EXPECT_EQ(b["tag"], "cert");
  EXPECT_EQ(b["params"]["ca"], "root ca");
  EXPECT_EQ(b["params"]["serial"], "0aF1");
  EXPECT_EQ(b["query"]["x"], "1");
  EXPECT_EQ(b["query"]["y"], "a b");
  EXPECT_EQ(Body(router.Dispatch(Req("GET", "/api/v1/cas/sub"))).at("tag"), "ca");
  EXPECT_EQ(Body(router.Dispatch(Req("GET", "/"))).at("tag"), "root");
}

// req: IF-01
TEST(RouterTest, TailParameterTakesTheRestOfThePath) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/ocsp/{request...}", Echo("tail")).ok());
  ASSERT_TRUE(router.Add("GET", "/ocsp/status", Echo("status")).ok());
  std::string route;
  HttpResponse r = router.Dispatch(Req("GET", "/ocsp/MEow//a%2Bb/c"), &route);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(route, "/ocsp/{request...}");
  EXPECT_EQ(Body(r)["params"]["request"], "MEow//a+b/c") << "empty segments and '/' included";
  EXPECT_EQ(Body(router.Dispatch(Req("GET", "/ocsp/x"))).at("params").at("request"), "x");
  EXPECT_EQ(Body(router.Dispatch(Req("GET", "/ocsp/status"))).at("tag"), "status");
  EXPECT_EQ(router.Dispatch(Req("GET", "/ocsp")).status, 404) << "a tail needs one segment";
  EXPECT_EQ(router.Dispatch(Req("POST", "/ocsp/a/b")).status, 405);
  EXPECT_FALSE(router.Add("GET", "/a/{rest...}/b", Echo("x")).ok()) << "a tail ends the pattern";
  EXPECT_FALSE(router.Add("GET", "/a/{...}", Echo("x")).ok());
}

TEST(RouterTest, LiteralSegmentWinsOverParameter) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/cas/{ca}", Echo("param")).ok());
  ASSERT_TRUE(router.Add("GET", "/cas/default", Echo("literal")).ok());
  EXPECT_EQ(Body(router.Dispatch(Req("GET", "/cas/default"))).at("tag"), "literal");
  EXPECT_EQ(Body(router.Dispatch(Req("GET", "/cas/other"))).at("tag"), "param");
}

TEST(RouterTest, EncodedSlashStaysInsideOneSegment) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/files/{name}", Echo("f")).ok());
  HttpResponse r = router.Dispatch(Req("GET", "/files/a%2Fb"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Body(r)["params"]["name"], "a/b");
  EXPECT_EQ(router.Dispatch(Req("GET", "/files/a/b")).status, 404);
  EXPECT_EQ(router.Dispatch(Req("GET", "/files/")).status, 404);  // empty segment
}

TEST(RouterTest, UnknownPathIsProblem404) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/a", Echo("a")).ok());
  std::string route;
  HttpResponse r = router.Dispatch(Req("GET", "/nope"), &route);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(route, "unmatched");
  EXPECT_EQ(r.content_type, "application/problem+json");
  nlohmann::json b = Body(r);
  EXPECT_EQ(b["type"], "https://gmpki.dev/problems/not-found");
  EXPECT_EQ(b["status"], 404);
  EXPECT_EQ(b["instance"], "/nope");
  EXPECT_TRUE(b.contains("title"));
}

TEST(RouterTest, WrongMethodIsProblem405WithAllow) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/items/{id}", Echo("get")).ok());
  ASSERT_TRUE(router.Add("DELETE", "/items/{id}", Echo("del")).ok());
  HttpResponse r = router.Dispatch(Req("POST", "/items/7"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["Allow"], "DELETE, GET");
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_EQ(Body(r)["type"], "https://gmpki.dev/problems/method-not-allowed");
  EXPECT_EQ(Body(r)["status"], 405);
}

TEST(RouterTest, HandlerExceptionBecomesProblem500) {
  Router router;
  ASSERT_TRUE(router
                  .Add("POST", "/boom",
                       [](const HttpRequest&, const PathParams&) -> HttpResponse {
                         throw std::runtime_error("secret internal detail");
                       })
                  .ok());
  ASSERT_TRUE(router
                  .Add("POST", "/boom2",
                       [](const HttpRequest&, const PathParams&) -> HttpResponse { throw 42; })
                  .ok());
  for (const char* path : {"/boom", "/boom2"}) {
    HttpResponse r = router.Dispatch(Req("POST", path));
    EXPECT_EQ(r.status, 500);
    nlohmann::json b = Body(r);
    EXPECT_EQ(b["type"], "https://gmpki.dev/problems/internal");
    EXPECT_EQ(r.body.find("secret internal detail"), std::string::npos);
  }
}

TEST(RouterTest, RejectsBadRegistrations) {
  Router router;
  Handler h = Echo("x");
  EXPECT_FALSE(router.Add("GET", "no-slash", h).ok());
  EXPECT_FALSE(router.Add("get", "/a", h).ok());
  EXPECT_FALSE(router.Add("GET", "/a/{x}/{x}", h).ok());
  EXPECT_FALSE(router.Add("GET", "/a/{x", h).ok());
  EXPECT_FALSE(router.Add("GET", "/a/pre{x}", h).ok());
  EXPECT_FALSE(router.Add("GET", "/a", Handler()).ok());
  ASSERT_TRUE(router.Add("GET", "/a/{x}", h).ok());
  Status dup = router.Add("GET", "/a/{x}", h);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
}

TEST(RouterTest, BadPercentEscapeInParameterIsProblem400) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/x/{id}", Echo("x")).ok());
  HttpRequest r;
  r.method = "GET";
  r.path = "/x/%zz";
  HttpResponse resp = router.Dispatch(r);
  EXPECT_EQ(resp.status, 400);
  EXPECT_EQ(Body(resp)["type"], "https://gmpki.dev/problems/malformed-input");
}

TEST(HttpTest, ProblemResponseUsesCatalogue) {
  HttpResponse r = ProblemResponse(Error(ErrorCode::kPermissionDenied, "role lacks ca:issue"),
                                   "/api/v1/cas/x");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.content_type, "application/problem+json");
  nlohmann::json b = Body(r);
  EXPECT_EQ(b["type"], "https://gmpki.dev/problems/permission-denied");
  EXPECT_EQ(b["title"], "Permission denied");
  EXPECT_EQ(b["status"], 403);
  EXPECT_EQ(b["detail"], "role lacks ca:issue");
  EXPECT_EQ(b["instance"], "/api/v1/cas/x");
}

TEST(HttpTest, HeadersAreCaseInsensitive) {
  HttpRequest r;
  r.headers["Content-Type"] = "application/json";
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.Header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(r.Header("x-missing", "dflt"), "dflt");
}

TEST(HttpTest, PercentDecodeRejectsBadEscapes) {
  EXPECT_EQ(PercentDecode("a%41b").value(), "aAb");
  EXPECT_EQ(PercentDecode("a+b", true).value(), "a b");
  EXPECT_EQ(PercentDecode("a+b", false).value(), "a+b");
  EXPECT_FALSE(PercentDecode("%4").ok());
  EXPECT_FALSE(PercentDecode("%").ok());
  EXPECT_FALSE(PercentDecode("%g0").ok());
}

}  // namespace
}  // namespace gmpki::net
