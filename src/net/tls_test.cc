// TLS tests: the TLS PKI helper, HTTPS, mutual TLS (CC-FTP, CC-FIA), SM2-signed client chains,
// and independent clients (curl, openssl s_client) against our server.
#include <sys/wait.h>

#include <array>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/client.h"
#include "net/server.h"
#include "net/tls_identity.h"
#include "net/tls_pki.h"

namespace gmpki::net {
namespace {

namespace fs = std::filesystem;

// Runs a shell command; returns stdout+stderr and sets *rc to the exit status.
std::string Shell(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  if (rc != nullptr) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("gmpki_net_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, std::string_view data) const {
    std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }
  std::string Write(const std::string& name, const SecretBytes& data) const {
    return Write(name, std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string Str(const SecretBytes& s) { return std::string(s.data(), s.data() + s.size()); }

TlsCertSpec Spec(std::string dn) {
  TlsCertSpec s;
  s.subject_dn = std::move(dn);
  return s;
}

// The TLS CA, a server certificate for localhost/127.0.0.1 and a client certificate for alice.
struct Pki {
  TlsIssuer ca;
  TlsCredentials server;
  TlsCredentials alice;
};

Pki MakePki(const std::string& ca_name = "CN=gmpki TLS CA,O=gmpki") {
  Pki p;
  auto ca = CreateTlsCa(ca_name);
  EXPECT_TRUE(ca.ok()) << ca.error().ToString();
  p.ca = std::move(ca).value();
  TlsCertSpec s = Spec("CN=localhost,O=gmpki");
  s.dns_names = {"localhost"};
  s.ip_addresses = {"127.0.0.1", "::1"};
  auto server = IssueTlsServerCredentials(p.ca, s);
  EXPECT_TRUE(server.ok()) << server.error().ToString();
  p.server = std::move(server).value();
  auto alice = IssueTlsClientCredentials(p.ca, Spec("CN=alice,OU=security-admin,O=gmpki"));
  EXPECT_TRUE(alice.ok()) << alice.error().ToString();
  p.alice = std::move(alice).value();
  return p;
}

Router WhoAmIRouter() {
  Router r;
  EXPECT_TRUE(r.Add("GET", "/whoami",
                    [](const HttpRequest& req, const PathParams&) {
                      nlohmann::json j = {{"tls", req.tls}, {"peer", nullptr}};
                      if (req.peer) {
                        j["peer"] = {{"subject", req.peer->subject},
                                     {"issuer", req.peer->issuer},
                                     {"serial", req.peer->serial_hex},
                                     {"sha256", req.peer->sha256_fingerprint},
                                     {"sm3", req.peer->sm3_fingerprint},
                                     {"der_size", req.peer->der.size()}};
                      }
                      return JsonResponse(200, j);
                    })
                  .ok());
  return r;
}

std::unique_ptr<HttpServer> StartTlsServer(const Pki& pki, ClientCertMode mode,
                                           const std::string& client_ca_pem) {
  ServerConfig cfg;
  cfg.threads = 2;
  TlsServerConfig tls;
  tls.cert_chain_pem = pki.server.cert_pem;
  tls.key_pem = pki.server.key_pem.Clone();
  tls.client_ca_pem = client_ca_pem;
  tls.client_cert_mode = mode;
  cfg.tls = std::move(tls);
  auto s = std::make_unique<HttpServer>(std::move(cfg), WhoAmIRouter());
  Status st = s->Start();
  EXPECT_TRUE(st.ok()) << st.error().ToString();
  return s;
}

HttpClient MakeClient(const std::string& ca_pem, const TlsCredentials* cred = nullptr) {
  ClientConfig cfg;
  cfg.ca_bundle_pem = ca_pem;
  if (cred != nullptr) {
    cfg.client_cert_pem = cred->cert_pem;
    cfg.client_key_pem = cred->key_pem.Clone();
  }
  auto c = HttpClient::Create(std::move(cfg));
  EXPECT_TRUE(c.ok()) << c.error().ToString();
  return std::move(c).value();
}

std::string Url(const HttpServer& s, const std::string& host = "127.0.0.1") {
  return "https://" + host + ":" + std::to_string(s.BoundPort()) + "/whoami";
}

// ---- TLS PKI helper ----

// req: CC-FTP
TEST(TlsPkiTest, KeysArePkcs8P256AndEncryptedWithPbes2Aes256) {
  TempDir dir;
  auto plain = GenerateTlsKey();
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(Str(*plain).rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  std::string text = Shell("openssl pkey -noout -text -in " + dir.Write("k.pem", *plain));
  EXPECT_NE(text.find("NIST CURVE: P-256"), std::string::npos) << text;

  std::string pass = "correct horse";
  auto enc = GenerateTlsKey(AsBytes(pass));
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(Str(*enc).rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----", 0), 0u);
  std::string asn1 = Shell("openssl asn1parse -in " + dir.Write("e.pem", *enc));
  EXPECT_NE(asn1.find("PBES2"), std::string::npos) << asn1;
  EXPECT_NE(asn1.find("aes-256-cbc"), std::string::npos) << asn1;
  EXPECT_TRUE(TlsPublicKeyPem(*enc, AsBytes(pass)).ok());
  auto wrong = TlsPublicKeyPem(*enc, AsBytes(std::string("wrong")));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), ErrorCode::kConfigInvalid);
}

// req: CC-FTP
TEST(TlsPkiTest, CertificatesHaveTheExpectedProfile) {
  TempDir dir;
  Pki pki = MakePki();
  std::string ca = dir.Write("ca.pem", pki.ca.cert_pem);
  std::string ca_text = Shell("openssl x509 -noout -text -nameopt RFC2253 -in " + ca);
  EXPECT_NE(ca_text.find("ecdsa-with-SHA256"), std::string::npos);
  EXPECT_NE(ca_text.find("CA:TRUE"), std::string::npos);
  EXPECT_NE(ca_text.find("Certificate Sign, CRL Sign"), std::string::npos);
  EXPECT_NE(ca_text.find("Subject: CN=gmpki TLS CA,O=gmpki"), std::string::npos) << ca_text;
  // 10 years: valid in 9 years, not in 11.
  int rc = 0;
  Shell("openssl x509 -noout -checkend " + std::to_string(9LL * 366 * 86400) + " -in " + ca, &rc);
  EXPECT_EQ(rc, 0);
  Shell("openssl x509 -noout -checkend " + std::to_string(11LL * 366 * 86400) + " -in " + ca, &rc);
  EXPECT_NE(rc, 0);

  std::string server = dir.Write("server.pem", pki.server.cert_pem);
  std::string s_text = Shell("openssl x509 -noout -text -in " + server);
  EXPECT_NE(s_text.find("TLS Web Server Authentication"), std::string::npos);
  EXPECT_NE(s_text.find("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"),
            std::string::npos)
      << s_text;
  EXPECT_NE(s_text.find("CA:FALSE"), std::string::npos);
  std::string verify = Shell("openssl verify -purpose sslserver -CAfile " + ca + " " + server, &rc);
  EXPECT_EQ(rc, 0) << verify;

  std::string alice = dir.Write("alice.pem", pki.alice.cert_pem);
  std::string a_subject = Shell("openssl x509 -noout -subject -nameopt RFC2253 -in " + alice);
  EXPECT_EQ(a_subject, "subject=CN=alice,OU=security-admin,O=gmpki\n");
  EXPECT_NE(Shell("openssl x509 -noout -text -in " + alice).find("TLS Web Client Authentication"),
            std::string::npos);
  verify = Shell("openssl verify -purpose sslclient -CAfile " + ca + " " + alice, &rc);
  EXPECT_EQ(rc, 0) << verify;
  // A client certificate is not a server certificate.
  Shell("openssl verify -purpose sslserver -CAfile " + ca + " " + alice, &rc);
  EXPECT_NE(rc, 0);

  // Random serials of at least 64 bits.
  std::string serial = Shell("openssl x509 -noout -serial -in " + alice);
  EXPECT_GE(serial.size(), std::string("serial=\n").size() + 16) << serial;
  EXPECT_NE(serial, Shell("openssl x509 -noout -serial -in " + server));
}

TEST(TlsPkiTest, RejectsBadInput) {
  auto ca = CreateTlsCa("CN=ca");
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(CreateTlsCa("no equals sign").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(IssueTlsServerCredentials(*ca, Spec("CN=no-san")).error().code(),
            ErrorCode::kInvalidArgument);
  TlsCertSpec bad_ip = Spec("CN=x");
  bad_ip.ip_addresses = {"999.1.1.1"};
  EXPECT_FALSE(IssueTlsServerCredentials(*ca, bad_ip).ok());
  EXPECT_EQ(IssueTlsClientCertificate(*ca, "not a key", Spec("CN=x")).error().code(),
            ErrorCode::kInvalidArgument);
}

// req: CC-FIA
TEST(TlsPkiTest, KeyMatchesCertificateCheck) {
  Pki pki = MakePki();
  std::string pass = "pw";
  EXPECT_TRUE(CheckKeyMatchesCertificate(pki.alice.cert_pem, pki.alice.key_pem, {}).ok());
  EXPECT_EQ(CheckKeyMatchesCertificate(pki.alice.cert_pem, pki.server.key_pem, {}).error().code(),
            ErrorCode::kBadSignature);
  EXPECT_TRUE(CheckKeyMatchesCertificate(pki.ca.cert_pem, pki.ca.key_pem, {}).ok());
  auto enc = GenerateTlsKey(AsBytes(pass));
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(CheckKeyMatchesCertificate(pki.alice.cert_pem, *enc, AsBytes(std::string("x")))
                .error()
                .code(),
            ErrorCode::kInvalidArgument);
}

// ---- HTTPS ----

// req: CC-FTP
TEST(HttpsTest, RoundTripWithClientTrustingTheTlsCa) {
  Pki pki = MakePki();
  auto server = StartTlsServer(pki, ClientCertMode::kNone, "");
  HttpClient client = MakeClient(pki.ca.cert_pem);
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    auto r = client.Get(Url(*server, host));
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->status, 200);
    auto j = nlohmann::json::parse(r->body);
    EXPECT_EQ(j["tls"], true);
    EXPECT_TRUE(j["peer"].is_null());
  }
  // A client trusting another CA refuses the server.
  Pki other = MakePki("CN=other CA");
  auto r = MakeClient(other.ca.cert_pem).Get(Url(*server));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  // Plain HTTP to a TLS port does not get a response.
  auto plain = MakeClient("").Get("http://127.0.0.1:" + std::to_string(server->BoundPort()) +
                                  "/whoami");
  EXPECT_FALSE(plain.ok());
}

// req: CC-FTP
TEST(HttpsTest, HostnameIsChecked) {
  Pki pki = MakePki();
  TlsCertSpec s = Spec("CN=ca.example");
  s.dns_names = {"ca.example"};
  auto cred = IssueTlsServerCredentials(pki.ca, s);
  ASSERT_TRUE(cred.ok());
  pki.server = std::move(cred).value();
  auto server = StartTlsServer(pki, ClientCertMode::kNone, "");
  auto r = MakeClient(pki.ca.cert_pem).Get(Url(*server));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("IP address mismatch"), std::string::npos)
      << r.error().message();
  r = MakeClient(pki.ca.cert_pem).Get(Url(*server, "localhost"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("hostname mismatch"), std::string::npos)
      << r.error().message();
  ClientConfig cfg;
  cfg.ca_bundle_pem = pki.ca.cert_pem;
  cfg.verify_hostname = false;
  auto lax = HttpClient::Create(std::move(cfg));
  ASSERT_TRUE(lax.ok());
  EXPECT_TRUE(lax->Get(Url(*server)).ok());
}

// req: CC-FTP
TEST(HttpsTest, EncryptedServerKeyWithPassphrase) {
  Pki pki = MakePki();
  std::string pass = "s3cret";
  auto key = GenerateTlsKey(AsBytes(pass));
  ASSERT_TRUE(key.ok());
  auto pub = TlsPublicKeyPem(*key, AsBytes(pass));
  ASSERT_TRUE(pub.ok());
  TlsCertSpec s = Spec("CN=localhost");
  s.ip_addresses = {"127.0.0.1"};
  auto cert = IssueTlsServerCertificate(pki.ca, *pub, s);
  ASSERT_TRUE(cert.ok());

  auto make = [&](std::string_view passphrase) {
    ServerConfig cfg;
    TlsServerConfig tls;
    tls.cert_chain_pem = *cert;
    tls.key_pem = key->Clone();
    tls.key_passphrase = SecretBytes(AsBytes(passphrase));
    cfg.tls = std::move(tls);
    return std::make_unique<HttpServer>(std::move(cfg), WhoAmIRouter());
  };
  auto wrong = make("nope");
  Status st = wrong->Start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kConfigInvalid);
  auto right = make(pass);
  ASSERT_TRUE(right->Start().ok());
  EXPECT_TRUE(MakeClient(pki.ca.cert_pem).Get(Url(*right)).ok());
}

// ---- mutual TLS ----

// req: CC-FIA
TEST(MutualTlsTest, RequiredModeRefusesMissingOrForeignCertificates) {
  Pki pki = MakePki();
  auto server = StartTlsServer(pki, ClientCertMode::kRequired, pki.ca.cert_pem);

  auto none = MakeClient(pki.ca.cert_pem).Get(Url(*server));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), ErrorCode::kUnavailable);

  Pki other = MakePki("CN=rogue CA");
  auto rogue = MakeClient(pki.ca.cert_pem, &other.alice).Get(Url(*server));
  ASSERT_FALSE(rogue.ok());
  EXPECT_EQ(rogue.error().code(), ErrorCode::kUnavailable);

  // The server still works for a proper client afterwards.
  auto ok = MakeClient(pki.ca.cert_pem, &pki.alice).Get(Url(*server));
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->status, 200);
}

// req: CC-FIA
TEST(MutualTlsTest, VerifiedPeerIdentityReachesTheHandler) {
  TempDir dir;
  Pki pki = MakePki();
  auto server = StartTlsServer(pki, ClientCertMode::kRequired, pki.ca.cert_pem);
  auto r = MakeClient(pki.ca.cert_pem, &pki.alice).Get(Url(*server));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  auto peer = nlohmann::json::parse(r->body)["peer"];
  ASSERT_FALSE(peer.is_null());
  EXPECT_EQ(peer["subject"], "CN=alice,OU=security-admin,O=gmpki");
  EXPECT_EQ(peer["issuer"], "CN=gmpki TLS CA,O=gmpki");

  // Cross-check serial and fingerprints with the OpenSSL CLI.
  std::string alice = dir.Write("alice.pem", pki.alice.cert_pem);
  std::string serial = Shell("openssl x509 -noout -serial -in " + alice);  // "serial=0A1B..\n"
  std::string expected_serial = serial.substr(7, serial.size() - 8);
  for (char& c : expected_serial) c = static_cast<char>(std::tolower(c));
  EXPECT_EQ(peer["serial"], expected_serial);
  std::string fp = Shell("openssl x509 -noout -fingerprint -sha256 -in " + alice);
  std::string expected_fp;
  for (char c : fp.substr(fp.find('=') + 1)) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      expected_fp += static_cast<char>(std::tolower(c));
    }
  }
  EXPECT_EQ(peer["sha256"], expected_fp);
  std::string sm3 = Shell("openssl x509 -outform DER -in " + alice + " | openssl dgst -sm3 -r");
  EXPECT_EQ(peer["sm3"], sm3.substr(0, 64));
  EXPECT_GT(peer["der_size"].get<int>(), 300);
}

// req: CC-FIA
TEST(MutualTlsTest, OptionalModeAcceptsAnonymousAndVerifiesPresented) {
  Pki pki = MakePki();
  auto server = StartTlsServer(pki, ClientCertMode::kOptional, pki.ca.cert_pem);
  auto anon = MakeClient(pki.ca.cert_pem).Get(Url(*server));
  ASSERT_TRUE(anon.ok()) << anon.error().ToString();
  EXPECT_TRUE(nlohmann::json::parse(anon->body)["peer"].is_null());
  auto alice = MakeClient(pki.ca.cert_pem, &pki.alice).Get(Url(*server));
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(nlohmann::json::parse(alice->body)["peer"]["subject"],
            "CN=alice,OU=security-admin,O=gmpki");
  Pki other = MakePki("CN=rogue CA");
  EXPECT_FALSE(MakeClient(pki.ca.cert_pem, &other.alice).Get(Url(*server)).ok());
}

// req: CC-FIA
TEST(MutualTlsTest, Sm2SignedClientChainVerifiesWithTheDefaultId) {
  // An SM2 root (made by the OpenSSL CLI, signing with ID 1234567812345678 as GM/T 0009 asks)
  // issues a P-256 client certificate: the TLS handshake uses ECDSA, while the chain signature
  // is SM2 and only verifies with the ID set (STANDARDS-NOTES §8.1).
  TempDir dir;
  Pki pki = MakePki();
  std::string d = dir.Path("");
  int rc = 0;
  std::string out = Shell(
      "cd " + d + " && openssl genpkey -algorithm SM2 -out ca.key && "
      "openssl req -new -x509 -key ca.key -sm3 -sigopt distid:1234567812345678 "
      "-subj '/O=gmpki/CN=SM2 Root' -days 30 -out ca.pem "
      "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign && "
      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out leaf.key && "
      "openssl req -new -key leaf.key -subj '/O=gmpki/OU=ra/CN=ra-1' -out leaf.csr && "
      "printf 'extendedKeyUsage=clientAuth\\nbasicConstraints=CA:FALSE\\n' > ext.cnf && "
      "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 7 -sm3 "
      "-sigopt distid:1234567812345678 -days 30 -extfile ext.cnf -out leaf.pem && "
      "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 8 -sm3 "
      "-days 30 -extfile ext.cnf -out leaf_noid.pem",
      &rc);
  ASSERT_EQ(rc, 0) << out;
  auto read = [&](const std::string& name) {
    std::ifstream f(dir.Path(name));
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  auto server = StartTlsServer(pki, ClientCertMode::kRequired, read("ca.pem"));
  TlsCredentials good{read("leaf.pem"), SecretBytes(AsBytes(read("leaf.key")))};
  auto r = MakeClient(pki.ca.cert_pem, &good).Get(Url(*server));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  auto peer = nlohmann::json::parse(r->body)["peer"];
  EXPECT_EQ(peer["subject"], "CN=ra-1,OU=ra,O=gmpki");
  EXPECT_EQ(peer["serial"], "07");  // the same hex as `openssl x509 -serial`
  // Signed with the empty ID (OpenSSL 3.0's default): refused, which shows the ID is used.
  TlsCredentials noid{read("leaf_noid.pem"), SecretBytes(AsBytes(read("leaf.key")))};
  EXPECT_FALSE(MakeClient(pki.ca.cert_pem, &noid).Get(Url(*server)).ok());
}

// ---- independent clients ----

// req: CC-FIA
TEST(InteropTest, CurlWithClientCertificate) {
  int rc = 0;
  Shell("curl --version", &rc);
  if (rc != 0) GTEST_SKIP() << "curl not installed";
  TempDir dir;
  Pki pki = MakePki();
  auto server = StartTlsServer(pki, ClientCertMode::kRequired, pki.ca.cert_pem);
  std::string ca = dir.Write("ca.pem", pki.ca.cert_pem);
  std::string cert = dir.Write("alice.pem", pki.alice.cert_pem);
  std::string key = dir.Write("alice.key", pki.alice.key_pem);
  std::string url = "https://localhost:" + std::to_string(server->BoundPort()) + "/whoami";
  std::string out = Shell("curl -sS --max-time 10 --cacert " + ca + " --cert " + cert + " --key " +
                            key + " " + url,
                        &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["peer"]["subject"], "CN=alice,OU=security-admin,O=gmpki");
  // Without a client certificate curl gets no response.
  out = Shell("curl -sS --max-time 10 --cacert " + ca + " " + url, &rc);
  EXPECT_NE(rc, 0) << out;
  // Without trusting the TLS CA curl refuses the server.
  out = Shell("curl -sS --max-time 10 --cert " + cert + " --key " + key + " " + url, &rc);
  EXPECT_NE(rc, 0) << out;
}

// req: CC-FTP
TEST(InteropTest, OpenSslSClientNegotiatesTls13AndTls12) {
  TempDir dir;
  Pki pki = MakePki();
  auto server = StartTlsServer(pki, ClientCertMode::kRequired, pki.ca.cert_pem);
  std::string base = "openssl s_client -connect 127.0.0.1:" +
                     std::to_string(server->BoundPort()) + " -CAfile " +
                     dir.Write("ca.pem", pki.ca.cert_pem) + " -cert " +
                     dir.Write("alice.pem", pki.alice.cert_pem) + " -key " +
                     dir.Write("alice.key", pki.alice.key_pem) + " -verify_return_error";
  int rc = 0;
  std::string out = Shell("printf 'GET /whoami HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'"
                        " | " + base + " -ign_eof", &rc);
  EXPECT_NE(out.find("TLSv1.3"), std::string::npos) << out;
  EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;
  EXPECT_NE(out.find("CN=alice,OU=security-admin,O=gmpki"), std::string::npos) << out;
  out = Shell("printf 'GET /whoami HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'"
            " | " + base + " -tls1_2 -ign_eof", &rc);
  EXPECT_NE(out.find("Protocol  : TLSv1.2"), std::string::npos) << out;
  EXPECT_NE(out.find("ECDHE-ECDSA-AES256-GCM-SHA384"), std::string::npos) << out;
  EXPECT_NE(out.find("CN=alice,OU=security-admin,O=gmpki"), std::string::npos) << out;
}

// req: CC-FTP
TEST(HttpsTest, SixtyFourParallelMutualTlsRequests) {
  Pki pki = MakePki();
  auto server = StartTlsServer(pki, ClientCertMode::kRequired, pki.ca.cert_pem);
  HttpClient client = MakeClient(pki.ca.cert_pem, &pki.alice);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&] {
      auto r = client.Get(Url(*server));
      if (r.ok() && r->status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 64);
}

}  // namespace
}  // namespace gmpki::net
