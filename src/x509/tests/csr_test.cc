#include <gtest/gtest.h>

#include "x509/csr.h"
#include "x509/pem.h"
#include "x509/tests/test_util.h"

namespace gmpki::x509 {
namespace {

using namespace testing;

// req: CA-02
TEST(Csr, BuildParseAndProofOfPossession) {
  TestKey k = NewKey();
  Name subject = N("C=CN,O=MOHRSS,CN=Li Si");
  auto san = Must(ext::SubjectAltName({{"lisi@example.cn"}, {}, {}}));
  Bytes der = Must(BuildCsr(subject, k.signer, {san}));
  CertificateRequest csr = Must(CertificateRequest::FromDer(der));
  EXPECT_EQ(csr.subject(), subject);
  EXPECT_EQ(csr.public_key(), k.pub);
  ASSERT_EQ(csr.requested_extensions().size(), 1u);
  EXPECT_EQ(csr.requested_extensions()[0], san);
  EXPECT_TRUE(csr.VerifyProofOfPossession().ok());
  // PEM form parses to the same request.
  auto pem = PemEncode(kPemCsr, der);
  EXPECT_EQ(Must(CertificateRequest::Parse(AsBytes(pem))).der(), der);
}

// req: CA-02
TEST(Csr, BadSignatureOversizeTrailingGarbage) {
  TestKey k = NewKey();
  Bytes der = Must(BuildCsr(N("C=CN,CN=Wang Wu"), k.signer));
  Bytes tampered = der;
  std::size_t pos = ToString(tampered).find("Wang Wu");
  ASSERT_NE(pos, std::string::npos);
  tampered[pos] = 'X';
  CertificateRequest t = Must(CertificateRequest::FromDer(tampered));
  EXPECT_EQ(t.VerifyProofOfPossession().error().code(), ErrorCode::kBadSignature);

  Bytes trailing = der;
  trailing.insert(trailing.end(), {0xde, 0xad});
  EXPECT_EQ(CertificateRequest::FromDer(trailing).error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(CertificateRequest::FromDer(Bytes(kMaxCsrSize + 1, 0x30)).error().code(),
            ErrorCode::kTooLarge);
  EXPECT_EQ(CertificateRequest::FromDer(ByteView(der).first(der.size() - 3)).error().code(),
            ErrorCode::kMalformedInput);
  EXPECT_EQ(CertificateRequest::FromPem("garbage").error().code(), ErrorCode::kMalformedInput);

  // Signed with the empty ID (OpenSSL 3.0's default) -> PoP fails: we require the GM/T ID.
  TestKey empty_id = NewKey("");
  Bytes wrong = Must(BuildCsr(N("CN=x"), empty_id.signer));
  EXPECT_EQ(Must(CertificateRequest::FromDer(wrong)).VerifyProofOfPossession().error().code(),
            ErrorCode::kBadSignature);
}

class CsrInterop : public ::testing::Test {
 protected:
  TempDir dir_;
  std::string Req(const std::string& extra) {
    return "openssl req -new -key " + dir_.Path("sm2.key") +
           " -sm3 -subj '/C=CN/O=MOHRSS/CN=Interop' " + extra;
  }
};

// req: CA-02
TEST_F(CsrInterop, OpenSslSm2CsrWithDistidVerifiesWithoutFails) {
  auto gen = RunCommand("openssl genpkey -algorithm SM2 -out " + dir_.Path("sm2.key"));
  ASSERT_EQ(gen.status, 0) << gen.output;
  auto a = RunCommand(Req("-sigopt distid:1234567812345678 -out " + dir_.Path("id.pem")));
  ASSERT_EQ(a.status, 0) << a.output;
  auto b = RunCommand(Req("-out " + dir_.Path("noid.pem")));
  ASSERT_EQ(b.status, 0) << b.output;

  CertificateRequest with_id = Must(CertificateRequest::Parse(dir_.Read("id.pem")));
  EXPECT_EQ(with_id.subject().ToString(), "C=CN,O=MOHRSS,CN=Interop");
  EXPECT_TRUE(with_id.VerifyProofOfPossession().ok());

  CertificateRequest no_id = Must(CertificateRequest::Parse(dir_.Read("noid.pem")));
  EXPECT_EQ(no_id.VerifyProofOfPossession().error().code(), ErrorCode::kBadSignature);
}

// req: CA-02
TEST_F(CsrInterop, OurCsrVerifiesInOpenSsl) {
  TestKey k = NewKey();
  dir_.Write("ours.pem", PemEncode(kPemCsr, Must(BuildCsr(N("C=CN,CN=Ours"), k.signer))));
  auto ok = RunCommand("openssl req -in " + dir_.Path("ours.pem") +
                       " -verify -noout -vfyopt distid:1234567812345678");
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_NE(ok.output.find("verify OK"), std::string::npos) << ok.output;
}

// req: CA-02
TEST_F(CsrInterop, EcP256CsrIsUnsupported) {
  auto r = RunCommand("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                      "-keyout " + dir_.Path("p256.key") + " -subj '/CN=p256' -out " +
                      dir_.Path("p256.pem"));
  ASSERT_EQ(r.status, 0) << r.output;
  auto parsed = CertificateRequest::Parse(dir_.Read("p256.pem"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), ErrorCode::kUnsupported) << parsed.error().ToString();
}

}  // namespace
}  // namespace gmpki::x509
