// The OCSP routes through a real HttpServer on 127.0.0.1, with OpenSSL's `openssl ocsp` (POST,
// with and without nonce) and curl (GET, RFC 5019 section 5 and 6 headers) as independent
// clients. OpenSSL 3.0 cannot verify SM2 signatures made with the GM/T ID (STANDARDS-NOTES
// section 8.1), so it runs with -noverify and the signature is checked with
// x509::VerifyOcspResponseSignature.
#include <cstdio>
#include <fstream>
#include <map>

#include "net/server.h"
#include "services/va/tests/va_test_util.h"
#include "services/va/va_routes.h"
#include "x509/pem.h"

namespace gmpki::va {
namespace {

namespace fs = std::filesystem;
using testing::BuildRequest;
using testing::kOp;

struct Command {
  int rc = -1;
  std::string out;
};

Command Shell(const std::string& cmd) {
  Command c;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return c;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) c.out.append(buf, n);
  c.rc = pclose(p);
  return c;
}

void WriteFile(const fs::path& p, std::string_view data) {
  std::ofstream f(p, std::ios::binary);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Header fields of a `curl -D` dump (the last response), names lower-cased.
std::map<std::string, std::string> Headers(const std::string& dump) {
  std::map<std::string, std::string> h;
  std::size_t pos = 0;
  while (pos < dump.size()) {
    std::size_t end = dump.find("\r\n", pos);
    if (end == std::string::npos) end = dump.size();
    std::string line = dump.substr(pos, end - pos);
    pos = end + 2;
    if (line.rfind("HTTP/", 0) == 0) {
      h.clear();
      h[":status"] = line.substr(9, 3);
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    h[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  return h;
}

class VaHttpTest : public testing::VaFixture {
 protected:
  void StartServer() {
    StartResponder();
    net::Router router;
    ASSERT_TRUE(AddOcspRoutes(router, *responder_, clock_).ok());
    net::ServerConfig cfg;
    cfg.port = 0;
    server_ = std::make_unique<net::HttpServer>(std::move(cfg), std::move(router));
    ASSERT_TRUE(server_->Start().ok());
    url_ = "http://127.0.0.1:" + std::to_string(server_->BoundPort()) + "/ocsp";
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    VaFixture::TearDown();
  }
  std::unique_ptr<net::HttpServer> server_;
  std::string url_;
};

// req: VA-02
TEST_F(VaHttpTest, OpenSslOcspClientPostWithAndWithoutNonce) {
  auto good = IssueEe("biz", "Good");
  auto revoked = IssueEe("biz", "Revoked");
  StartServer();
  ASSERT_TRUE(
      ca_->Revoke(kOp, "biz", revoked.record.serial_hex, x509::RevocationReason::kKeyCompromise)
          .ok());
  ASSERT_TRUE(source_->Poll().ok());
  WriteFile(dir_ / "ca.pem", CaCert("biz").ToPem());
  WriteFile(dir_ / "good.pem", good.pem);
  WriteFile(dir_ / "revoked.pem", revoked.pem);
  std::string base = "openssl ocsp -url " + url_ + " -issuer " + (dir_ / "ca.pem").string() +
                     " -resp_text -noverify -respout " + (dir_ / "resp.der").string();

  // With OpenSSL's default nonce: signed live, nonce echoed (no "WARNING: no nonce").
  auto r = Shell(base + " -cert " + (dir_ / "good.pem").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("OCSP Response Status: successful (0x0)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Cert Status: good"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("OCSP Nonce"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("WARNING: no nonce"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("nonce verify error"), std::string::npos) << r.out;
  auto parsed = x509::ParseOcspResponse(AsBytes(ReadFile(dir_ / "resp.der")));
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(parsed->nonce);
  auto signer = *x509::Certificate::FromDer(parsed->certs.at(0));
  EXPECT_TRUE(x509::VerifyOcspResponseSignature(*parsed, signer.public_key()).ok());

  // -no_nonce: the pre-signed path.
  r = Shell(base + " -no_nonce -cert " + (dir_ / "revoked.pem").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("Cert Status: revoked"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Revocation Reason: keyCompromise (0x1)"), std::string::npos) << r.out;
  // ResponderID byKey (RFC 6960 section 4.2.1): OpenSSL prints the key hash.
  EXPECT_NE(r.out.find("Responder Id: " +
                       HexEncode(x509::OcspResponderKeyHash(
                                     x509::Certificate::FromDer(parsed->certs.at(0))->public_key()),
                                 true)),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("OCSP No Check"), std::string::npos) << r.out;  // the signer cert
  parsed = x509::ParseOcspResponse(AsBytes(ReadFile(dir_ / "resp.der")));
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->nonce);
  EXPECT_TRUE(x509::VerifyOcspResponseSignature(*parsed, signer.public_key()).ok());
  EXPECT_EQ(responder_->Stats().signed_live, 1u);
  EXPECT_EQ(responder_->Stats().signed_cached, 1u);
}

// req: VA-02
TEST_F(VaHttpTest, GetFormWithCachingHeaders) {
  auto ee = IssueEe("biz2", "Getter");
  StartServer();
  Bytes req = BuildRequest({IdFor("biz2", ee.record.serial_hex)});
  std::string b64 = Base64Encode(req);
  // RFC 5019 section 5: URL-encoded base64 ('+', '/', '=' percent-encoded).
  std::string encoded;
  for (char c : b64) {
    if (c == '+')
      encoded += "%2B";
    else if (c == '/')
      encoded += "%2F";
    else if (c == '=')
      encoded += "%3D";
    else
      encoded += c;
  }
  fs::path body = dir_ / "get.der", hdr = dir_ / "get.hdr";
  auto r = Shell("curl -s -o " + body.string() + " -D " + hdr.string() + " '" + url_ + "/" +
                 encoded + "'");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto h = Headers(ReadFile(hdr));
  EXPECT_EQ(h[":status"], "200");
  EXPECT_EQ(h["content-type"], "application/ocsp-response");
  EXPECT_EQ(h["last-modified"], HttpDate(clock_.Now()));
  EXPECT_EQ(h["expires"], HttpDate(clock_.Now() + std::chrono::hours(1)));
  ASSERT_FALSE(h["etag"].empty());
  auto parsed = x509::ParseOcspResponse(AsBytes(ReadFile(body)));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->responses.at(0).status, x509::OcspCertStatus::kGood);

  // The same request with literal '/', '+' and '=' (clients differ) when the base64 has no
  // "//": routed over several segments, answered from the cache, same bytes.
  if (b64.find("//") == std::string::npos) {
    r = Shell("curl -s -o " + (dir_ / "get2.der").string() + " '" + url_ + "/" + b64 + "'");
    ASSERT_EQ(r.rc, 0);
    EXPECT_EQ(ReadFile(dir_ / "get2.der"), ReadFile(body));
  }
  // If-None-Match with the entity tag: 304 (RFC 9110 section 13.1.2).
  r = Shell("curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: " + h["etag"] + "' '" +
            url_ + "/" + encoded + "'");
  EXPECT_EQ(r.out, "304");
  // Malformed GET: an OCSP malformedRequest answer, not cacheable.
  r = Shell("curl -s -o " + (dir_ / "bad.der").string() + " -D " + hdr.string() + " '" + url_ +
            "/AAAA'");
  h = Headers(ReadFile(hdr));
  EXPECT_EQ(h[":status"], "200");
  EXPECT_EQ(x509::ParseOcspResponse(AsBytes(ReadFile(dir_ / "bad.der")))->status, 1);

  // Cache-Control (RFC 5019 section 6.2), checked in the server's own pipeline: HttpServer's
  // socket writer still replaces every Cache-Control with no-store (src/net/server.cc).
  net::HttpRequest get;
  get.method = "GET";
  get.target = get.path = "/ocsp/" + encoded;
  clock_.Advance(std::chrono::seconds(100));
  auto resp = server_->Handle(get);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.headers["Cache-Control"], "max-age=3500, public, no-transform, must-revalidate");
  get.target = get.path = "/ocsp/AAAA";
  EXPECT_EQ(server_->Handle(get).headers["Cache-Control"], "no-cache");
}

// req: VA-02
TEST_F(VaHttpTest, WrongMethodAndContentTypeAreProblems) {
  StartServer();
  auto r = Shell(
      "curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/plain' "
      "--data-binary 'x' " +
      url_);
  EXPECT_EQ(r.out, "415");
  r = Shell("curl -s -o /dev/null -w '%{http_code}' -X PUT " + url_);
  EXPECT_EQ(r.out, "405");
  // The right type with a garbage body: an OCSP answer (malformedRequest), HTTP 200.
  net::HttpRequest req;
  req.method = "POST";
  req.target = req.path = "/ocsp";
  req.headers["Content-Type"] = "Application/OCSP-Request; charset=binary";
  req.body = "garbage";
  auto resp = server_->Handle(req);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.content_type, "application/ocsp-response");
  EXPECT_EQ(x509::ParseOcspResponse(AsBytes(resp.body))->status, 1);
  // Over the OCSP request bound: 413 problem.
  req.body.assign(x509::kMaxOcspRequestSize + 1, 'x');
  EXPECT_EQ(server_->Handle(req).status, 413);
}

// Bouncy Castle 1.72 (the checker of src/x509/tests/OcspBcCheck.java) accepts a response of
// the running responder: the CA-issued delegated certificate (id-kp-OCSPSigning, ocsp-nocheck)
// verifies under the CA, the response under the signer (GM/T ID), statuses as the CA says.
// req: VA-02
TEST_F(VaHttpTest, BouncyCastleAcceptsResponderOutput) {
  ASSERT_EQ(Shell("java -version").rc, 0) << "needs java 17 and Bouncy Castle";
  auto good = IssueEe("biz", "BC Good");
  auto gone = IssueEe("biz", "BC Gone");
  StartResponder();
  ASSERT_TRUE(ca_->Revoke(kOp, "biz", gone.record.serial_hex,
                          x509::RevocationReason::kCessationOfOperation)
                  .ok());
  ASSERT_TRUE(source_->Poll().ok());
  Bytes nonce{9, 8, 7, 6, 5, 4, 3, 2};
  OcspAnswer a = responder_->Respond(
      BuildRequest({IdFor("biz", good.record.serial_hex), IdFor("biz", gone.record.serial_hex)},
                   nonce),
      clock_.Now());
  WriteFile(dir_ / "resp.der", ToString(a.body->der));
  WriteFile(dir_ / "ca.der", ToString(CaCert("biz").der()));
  const fs::path checker =
      fs::path(__FILE__).parent_path() / "../../../x509/tests/OcspBcCheck.java";
  auto r = Shell(
      "java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp /usr/share/java/bcprov.jar:"
      "/usr/share/java/bcutil.jar:/usr/share/java/bcpkix.jar " +
      checker.string() + " " + (dir_ / "resp.der").string() + " " + (dir_ / "ca.der").string());
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("\"ok\":true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"ocspSigning\":true,\"noCheck\":true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"nonce\":\"0908070605040302\""), std::string::npos) << r.out;
  std::string lower = good.record.serial_hex;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(r.out.find("\"good:" + lower + "\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(":5:"), std::string::npos) << r.out;  // cessationOfOperation
}

}  // namespace
}  // namespace gmpki::va
