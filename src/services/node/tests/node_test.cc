// A deployment home: init, open with k shares, the start-up self-tests, tampering and the
// operator credentials (issue #2 items 2, 3, 7, 8).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "crypto/random.h"
#include "crypto/self_test.h"
#include "services/node/node.h"
#include "x509/csr.h"
#include "x509/extensions.h"
#include "x509/name.h"
#include "x509/signer.h"

namespace gmpki::node {
namespace {
namespace fs = std::filesystem;
using services::Actor;
using services::Role;

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gmpki-node-" + HexEncode(*crypto::RandomBytes(6)));
    opts_.home = dir_ / "home";
    opts_.secrets_out = dir_ / "handover";
    opts_.listen = "127.0.0.1:0";
    opts_.http_listen = "127.0.0.1:0";
  }
  void TearDown() override {
    crypto::InjectSelfTestFailureForTesting(false);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::vector<fs::path> Shares(std::initializer_list<int> which) {
    std::vector<fs::path> out;
    for (int i : which) out.push_back(dir_ / "handover" / "custodians" / ("share-" + std::to_string(i) + ".txt"));
    return out;
  }
  fs::path dir_;
  InitOptions opts_;
  SystemClock clock_;
};

// req: CC-FCS, AS-01
TEST_F(NodeTest, ProductionHomeOpensWithAnyKSharesOnly) {
  auto r = InitHome(opts_, clock_);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->share_files.size(), 5u);
  EXPECT_FALSE(fs::exists(opts_.home / "demo"));  // nothing secret stays in a production home
  auto no_shares = Node::Open(opts_.home);
  ASSERT_FALSE(no_shares.ok());
  EXPECT_EQ(no_shares.error().code(), ErrorCode::kConfigInvalid);
  auto two = Node::Open(opts_.home, Shares({1, 2}));
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().code(), ErrorCode::kInvalidArgument);
  auto three = Node::Open(opts_.home, Shares({2, 4, 5}));
  ASSERT_TRUE(three.ok()) << three.error().ToString();
  // A home is created once.
  EXPECT_EQ(InitHome(opts_, clock_).error().code(), ErrorCode::kAlreadyExists);
}

// req: CC-FPT
TEST_F(NodeTest, CorruptedShareOrDeviceFileStopsTheStart) {
  ASSERT_TRUE(InitHome(opts_, clock_).ok());
  auto shares = Shares({1, 2, 3});
  {
    std::ifstream in(shares[1]);
    std::string text;
    std::getline(in, text);
    auto pos = text.rfind(':') - 3;  // a digit inside the share value or KCV
    text[pos] = text[pos] == 'a' ? 'b' : 'a';
    std::ofstream(shares[1]) << text << "\n";
  }
  auto bad = Node::Open(opts_.home, shares);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kIntegrityFailure);
  // A changed byte in the sealed key file is detected by its GCM tag.
  fs::path dev = opts_.home / "device" / "keys.sealed";
  std::string bytes;
  {
    std::ifstream in(dev, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() / 2] ^= 1;
  std::ofstream(dev, std::ios::binary | std::ios::trunc) << bytes;
  auto tampered = Node::Open(opts_.home, Shares({1, 3, 4}));
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.error().code(), ErrorCode::kIntegrityFailure);
}

// req: CC-FPT
TEST_F(NodeTest, FailingSelfTestStopsTheStart) {
  ASSERT_TRUE(InitHome(opts_, clock_).ok());
  crypto::InjectSelfTestFailureForTesting(true);
  auto n = Node::Open(opts_.home, Shares({1, 2, 3}));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code(), ErrorCode::kSelfTestFailure);
}

// req: CC-FIA, CC-FMT
TEST_F(NodeTest, OperatorCredentialsAuthenticateAndEnrolment) {
  ASSERT_TRUE(InitHome(opts_, clock_).ok());
  auto n = Node::Open(opts_.home, Shares({1, 2, 3}));
  ASSERT_TRUE(n.ok());
  auto ops = opts_.secrets_out / "operators";
  auto cred = LoadCredential(ops / InitialOperatorName(Role::kSystemAdmin));
  ASSERT_TRUE(cred.ok());
  auto fp = VerifyCredential(*cred);
  ASSERT_TRUE(fp.ok());
  auto actor = (*n)->operators().Authenticate(*fp, "test");
  ASSERT_TRUE(actor.ok());
  EXPECT_EQ(actor->role, Role::kSystemAdmin);
  // A wrong passphrase is refused.
  auto wrong = LoadCredential(ops / InitialOperatorName(Role::kSystemAdmin), std::string("nope"));
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(VerifyCredential(*wrong).error().code(), ErrorCode::kUnauthenticated);
  // The system administrator enrols a second CA operator, whose credential then works.
  auto rec = (*n)->EnrolOperator(*actor, "bob", Role::kCaOperator, "bob", dir_ / "new");
  ASSERT_TRUE(rec.ok()) << rec.error().ToString();
  auto bob = LoadCredential(dir_ / "new" / "bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ((*n)->operators().Authenticate(*VerifyCredential(*bob), "test")->name, "bob");
  // Separation of duties: the system administrator's person may not also be audit admin.
  auto dup = (*n)->EnrolOperator(*actor, "sys-aud", Role::kAuditAdmin,
                                 InitialOperatorName(Role::kSystemAdmin), dir_ / "new");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), ErrorCode::kPolicyViolation);
  EXPECT_FALSE(fs::exists(dir_ / "new" / "sys-aud"));
  // Only a system administrator enrols.
  Actor op{"op", Role::kCaOperator};
  EXPECT_EQ((*n)->EnrolOperator(op, "eve", Role::kCaOperator, "eve", dir_ / "new").error().code(),
            ErrorCode::kPermissionDenied);
  auto report = (*n)->VerifyAudit();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->message;
}

// req: CC-FTP
TEST_F(NodeTest, TlsKeysOnDiskAreEncryptedUnderTheDevice) {
  opts_.demo = true;
  opts_.secrets_out.clear();
  ASSERT_TRUE(InitHome(opts_, clock_).ok());
  std::ifstream in(opts_.home / "tls" / "server.key");
  std::string key((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(key.find("ENCRYPTED PRIVATE KEY"), std::string::npos);
  auto n = Node::Open(opts_.home);  // a demo home keeps k shares in its configuration
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  auto tls = (*n)->LoadServerTls();
  ASSERT_TRUE(tls.ok());
  EXPECT_FALSE(tls->passphrase.empty());
  auto cas = (*n)->ca().ListCas(Actor{"x", Role::kCaOperator});
  ASSERT_TRUE(cas.ok());
  EXPECT_EQ(cas->size(), 3u);
}

// [ca] crl_partition_size reaches the CA: certificates name their partition's CRL, and that CRL
// carries the same URI in its issuingDistributionPoint (issue #6 item 2).
// req: CA-03
TEST_F(NodeTest, CrlPartitionSizeFromTheConfigurationPartitionsCertificates) {
  opts_.demo = true;
  ASSERT_TRUE(InitHome(opts_, clock_).ok());
  {
    std::ifstream in(opts_.home / "gmpki.toml");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string toml = ss.str();
    auto pos = toml.find("crl_partition_size = 0");
    ASSERT_NE(pos, std::string::npos) << toml;
    toml.replace(pos, std::string("crl_partition_size = 0").size(), "crl_partition_size = 1000");
    std::ofstream(opts_.home / "gmpki.toml") << toml;
  }
  auto n = Node::Open(opts_.home);
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  EXPECT_EQ((*n)->config().crl_partition_size, 1000);
  auto kp = crypto::Sm2GenerateKeyPair();
  ASSERT_TRUE(kp.ok());
  auto key = std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key));
  ca::IssueRequest req;
  req.ca = "ministry-ca";
  req.profile = "personal-sign";
  req.csr = *x509::BuildCsr(*x509::Name::Parse("C=CN,CN=Partitioned"), x509::MakeSoftwareSigner(key, kp->public_key));
  Actor op{InitialOperatorName(Role::kCaOperator), Role::kCaOperator};
  auto issued = (*n)->ca().Issue(op, req);
  ASSERT_TRUE(issued.ok()) << issued.error().ToString();
  auto cert = x509::Certificate::FromDer(issued->record.der);
  ASSERT_TRUE(cert.ok());
  const auto* cdp = cert->FindExtension(x509::oid::kCrlDistributionPoints);
  ASSERT_NE(cdp, nullptr);
  auto uris = x509::ParseCrlDistributionPoints(cdp->value);
  ASSERT_TRUE(uris.ok());
  ASSERT_EQ(uris->size(), 1u);
  EXPECT_NE((*uris)[0].find("/crl/ministry-ca-p"), std::string::npos) << (*uris)[0];
  auto crls = (*n)->ca().IssueChangedPartitionCrls(op, "ministry-ca");
  ASSERT_TRUE(crls.ok()) << crls.error().ToString();
  ASSERT_FALSE(crls->empty());
  auto crl = x509::Crl::FromDer(crls->front().der);
  ASSERT_TRUE(crl.ok());
  ASSERT_TRUE(crl->issuing_distribution_point().has_value());
  EXPECT_EQ(crl->issuing_distribution_point()->full_name_uris, *uris);
}

}  // namespace
}  // namespace gmpki::node
