// RFC 3161 / GM/T 0033 wire format: requests from `openssl ts -query` (an independent client),
// tokens and responses built by gmpki and read back by gmpki, by `openssl ts -reply -text` and
// by Bouncy Castle 1.72 (TspBcCheck.java), every rejection path, and verification failures.
#include <gtest/gtest.h>

#include "x509/der.h"
#include "x509/tests/tsp_test_util.h"

namespace gmpki::x509 {
namespace {

using testing::Must;
using testing::RunCommand;
using testing::TempDir;
using testing::TsaPki;

const Bytes kSerial = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

struct Issued {
  Bytes token;
  Bytes response;
};

Issued Issue(const TsaPki& pki, const TimeStampReq& req,
             TimePoint when = testing::T0() + std::chrono::milliseconds(123),
             CmsFlavor flavor = CmsFlavor::kRfc5652) {
  const Bytes imprint = Must(BuildTimeStampReq(req));
  TimeStampReq parsed = Must(ParseTimeStampReq(imprint));
  TstInfoSpec info;
  info.policy_oid = std::string(testing::kTestPolicy);
  info.message_imprint_der = parsed.message_imprint_der;
  info.serial = kSerial;
  info.gen_time = when;
  info.accuracy = TspAccuracy::From(std::chrono::milliseconds(500));
  if (parsed.nonce) info.nonce = ByteView(*parsed.nonce);
  info.tsa_name_der = pki.tsa.subject().der();
  TokenSignerSpec s;
  s.tsa_certificate = &pki.tsa;
  s.signer = &pki.tsa_key.signer;
  s.include_certificates = parsed.cert_req;
  s.chain = {&pki.ca};
  s.flavor = flavor;
  Issued out;
  out.token = Must(BuildTimeStampToken(info, s));
  out.response = BuildGrantedTimeStampResp(out.token);
  return out;
}

bool Has(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// req: AS-05
TEST(TspRequest, ParsesOpenSslQueries) {
  TempDir dir;
  dir.Write("data.txt", "document to stamp\n");
  const std::string base = "openssl ts -query -data " + dir.Path("data.txt");
  ASSERT_EQ(RunCommand(base + " -sm3 -cert -out " + dir.Path("a.tsq")).status, 0);
  ASSERT_EQ(RunCommand(base + " -sm3 -no_nonce -out " + dir.Path("b.tsq")).status, 0);
  ASSERT_EQ(RunCommand(base + " -sha256 -tspolicy 1.2.3.4 -out " + dir.Path("c.tsq")).status, 0);
  const crypto::Sm3Digest sm3 = crypto::Sm3(AsBytes("document to stamp\n"));

  TimeStampReq a = Must(ParseTimeStampReq(dir.Read("a.tsq")));
  EXPECT_EQ(a.hash_oid, oid::kSm3);
  EXPECT_EQ(a.hashed_message, Bytes(sm3.begin(), sm3.end()));
  EXPECT_TRUE(a.cert_req);
  ASSERT_TRUE(a.nonce);  // openssl sends a 64-bit nonce by default
  EXPECT_LE(a.nonce->size(), 9u);
  EXPECT_FALSE(a.policy);

  TimeStampReq b = Must(ParseTimeStampReq(dir.Read("b.tsq")));
  EXPECT_FALSE(b.nonce);
  EXPECT_FALSE(b.cert_req);

  TimeStampReq c = Must(ParseTimeStampReq(dir.Read("c.tsq")));
  EXPECT_EQ(c.hash_oid, oid::kSha256);
  EXPECT_EQ(c.hashed_message.size(), 32u);
  EXPECT_EQ(c.policy, "1.2.3.4");

  // Our own request encoder is read by OpenSSL.
  dir.Write("ours.tsq", Must(BuildTimeStampReq(testing::Sm3Request("x", Bytes{0x01, 0x02}))));
  auto text = RunCommand("openssl ts -query -in " + dir.Path("ours.tsq") + " -text");
  ASSERT_EQ(text.status, 0) << text.output;
  EXPECT_TRUE(Has(text.output, "Hash Algorithm: sm3")) << text.output;
  EXPECT_TRUE(Has(text.output, "Nonce: 0x0102")) << text.output;
  EXPECT_TRUE(Has(text.output, "Certificate required: yes")) << text.output;
}

// req: AS-05
TEST(TspRequest, RejectionsCarryTheirFailureInfo) {
  auto expect = [](ByteView der, TspFailure want, ErrorCode code, const char* what) {
    TspFailure got = TspFailure::kSystemFailure;
    auto r = ParseTimeStampReq(der, &got);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(got, want) << what << ": " << r.error().ToString();
    EXPECT_EQ(r.error().code(), code) << what;
  };
  auto req = [](std::string_view version, std::string_view alg, std::string_view hash,
                std::string_view tail = "") {
    const Bytes alg_der = Must(HexDecode(alg));
    const Bytes imprint = der::Sequence({der::Sequence({alg_der}), Must(HexDecode(hash))});
    std::vector<Bytes> items{Must(HexDecode(version)), imprint};
    if (!tail.empty()) items.push_back(Must(HexDecode(tail)));
    return der::Sequence(items);
  };
  const std::string sm3 = "06082a811ccf55018311";
  const std::string h32 = "0420" + std::string(64, 'a');
  EXPECT_TRUE(ParseTimeStampReq(req("020101", sm3, h32)).ok());
  // Unknown hash (MD5) -> badAlg.
  expect(req("020101", "06082a864886f70d0205", "0410" + std::string(32, 'a')),
         TspFailure::kBadAlg, ErrorCode::kUnsupported, "md5");
  // Wrong imprint length for SM3 -> badDataFormat.
  expect(req("020101", sm3, "0414" + std::string(40, 'a')), TspFailure::kBadDataFormat,
         ErrorCode::kMalformedInput, "length");
  expect(req("020102", sm3, h32), TspFailure::kBadDataFormat, ErrorCode::kMalformedInput,
         "version 2");
  // Unknown critical extension -> unacceptedExtension; a non-critical one is ignored.
  const std::string critical_ext = "a00d300b06032a03040101ff040100";
  expect(req("020101", sm3, h32, critical_ext), TspFailure::kUnacceptedExtension,
         ErrorCode::kUnsupported, "critical extension");
  TimeStampReq ok = Must(ParseTimeStampReq(req("020101", sm3, h32, "a00a300806032a0304040100")));
  ASSERT_EQ(ok.extensions.size(), 1u);
  EXPECT_FALSE(ok.extensions[0].critical);
  // A 33-octet nonce, a non-minimal nonce, trailing data, not DER, too large.
  expect(req("020101", sm3, h32, "0221" + std::string(66, '1')), TspFailure::kBadDataFormat,
         ErrorCode::kMalformedInput, "nonce length");
  expect(req("020101", sm3, h32, "0202007f"), TspFailure::kBadDataFormat,
         ErrorCode::kMalformedInput, "nonce minimal");
  Bytes trailing = req("020101", sm3, h32);
  trailing.push_back(0);
  expect(trailing, TspFailure::kBadDataFormat, ErrorCode::kMalformedInput, "trailing");
  expect(ToBytes("not DER"), TspFailure::kBadDataFormat, ErrorCode::kMalformedInput, "text");
  expect(Bytes(kMaxTimeStampReqSize + 1, 0x30), TspFailure::kBadDataFormat, ErrorCode::kTooLarge,
         "size");
}

// req: AS-05
TEST(TspRequest, TruncationsAndBitFlipsNeverCrash) {
  Bytes der = Must(BuildTimeStampReq(testing::Sm3Request("abc", Bytes{0x55, 0x66})));
  for (std::size_t n = 0; n < der.size(); ++n) {
    TspFailure why = TspFailure::kSystemFailure;
    auto r = ParseTimeStampReq(ByteView(der).first(n), &why);
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(why, TspFailure::kBadDataFormat);
  }
  for (std::size_t i = 0; i < der.size() * 8; ++i) {
    Bytes m = der;
    m[i / 8] ^= static_cast<std::uint8_t>(0x80 >> (i % 8));
    auto r = ParseTimeStampReq(m);
    if (r.ok()) {
      EXPECT_EQ(r->hashed_message.size(), *TspHashLength(r->hash_oid));
    } else {
      const ErrorCode c = r.error().code();
      EXPECT_TRUE(c == ErrorCode::kMalformedInput || c == ErrorCode::kUnsupported) << i;
    }
  }
}

// req: AS-05
TEST(TspToken, RoundTripVerifies) {
  TsaPki pki;
  const Bytes nonce = {0x00, 0x9f, 0x11, 0x22};
  TimeStampReq req = testing::Sm3Request("the data", nonce);
  Issued t = Issue(pki, req);
  TimeStampResp resp = Must(ParseTimeStampResp(t.response));
  EXPECT_EQ(resp.status, PkiStatus::kGranted);
  EXPECT_EQ(resp.token, t.token);

  TokenCheck check;
  const Bytes data = ToBytes("the data");
  check.data = data;
  check.nonce = nonce;
  check.policy = std::string(testing::kTestPolicy);
  VerifiedToken v = Must(VerifyTimeStampToken(t.token, check));
  EXPECT_EQ(v.tsa_certificate.der(), pki.tsa.der());
  EXPECT_EQ(v.info.serial, kSerial);
  EXPECT_EQ(v.info.gen_time_text, "20260101000000.123Z");
  EXPECT_EQ(v.info.gen_time, testing::T0() + std::chrono::milliseconds(123));
  ASSERT_TRUE(v.info.accuracy);
  EXPECT_EQ(v.info.accuracy->millis, 500);
  EXPECT_EQ(v.info.accuracy->seconds, 0);
  EXPECT_EQ(v.info.nonce, nonce);
  EXPECT_EQ(v.info.hash_oid, oid::kSm3);
  EXPECT_FALSE(v.info.ordering);
  EXPECT_EQ(v.info.tsa_name_der, der::Explicit(4, pki.tsa.subject().der()));

  // By imprint instead of data.
  TokenCheck by_hash;
  by_hash.hash_oid = std::string(oid::kSm3);
  by_hash.hashed_message = req.hashed_message;
  EXPECT_TRUE(VerifyTimeStampToken(t.token, by_hash).ok());

  // The CMS layer: id-ct-TSTInfo, signingCertificateV2 with the SM3 cert hash.
  SignedData sd = Must(ParseSignedData(t.token));
  EXPECT_EQ(sd.content_type, oid::kTstInfo);
  EXPECT_EQ(sd.version, 3);
  EXPECT_EQ(sd.certificates.size(), 2u);  // certReq: TSA certificate and its CA
  const CmsAttribute* ess = sd.signers[0].FindSignedAttribute(oid::kAttrSigningCertificateV2);
  ASSERT_NE(ess, nullptr);
  EXPECT_EQ(ess->values[0], SigningCertificateV2Value(pki.tsa, pki.tsa.fingerprint()));
}

// RFC 3161 section 2.4.2: genTime without trailing zeros; no '.' for a whole second.
// req: AS-05
TEST(TspToken, GenTimeFractionsAreMinimal) {
  auto text = [](TimePoint t, int digits) {
    TstInfoSpec s;
    s.policy_oid = "1.2.3";
    const Bytes imprint = der::Sequence({der::Sequence({der::OidLiteral(oid::kSm3)}),
                                         der::OctetString(Bytes(32, 7))});
    s.message_imprint_der = imprint;
    s.serial = kSerial;
    s.gen_time = t;
    s.fraction_digits = digits;
    return Must(ParseTstInfo(Must(BuildTstInfo(s)))).gen_time_text;
  };
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  EXPECT_EQ(text(testing::T0(), 3), "20260101000000Z");
  EXPECT_EQ(text(testing::T0() + milliseconds(120), 3), "20260101000000.12Z");
  EXPECT_EQ(text(testing::T0() + microseconds(1999), 3), "20260101000000.001Z");
  EXPECT_EQ(text(testing::T0() + microseconds(1999), 6), "20260101000000.001999Z");
  EXPECT_EQ(text(testing::T0() + milliseconds(999), 0), "20260101000000Z");
  EXPECT_EQ(text(FromUnixSeconds(4102444799), 0), "20991231235959Z");
}

// req: AS-05
TEST(TspToken, VerificationFailures) {
  TsaPki pki;
  const Bytes nonce = {0x42};
  Issued t = Issue(pki, testing::Sm3Request("original", nonce));
  const Bytes original = ToBytes("original");
  const Bytes other = ToBytes("forged");
  TokenCheck check;
  check.data = other;
  EXPECT_EQ(VerifyTimeStampToken(t.token, check).error().code(), ErrorCode::kPolicyViolation);
  check.data = original;
  const Bytes wrong_nonce = {0x43};
  check.nonce = wrong_nonce;
  EXPECT_EQ(VerifyTimeStampToken(t.token, check).error().code(), ErrorCode::kPolicyViolation);
  check.nonce.reset();
  check.policy = "1.2.3.4";
  EXPECT_EQ(VerifyTimeStampToken(t.token, check).error().code(), ErrorCode::kPolicyViolation);
  check.policy.reset();
  EXPECT_EQ(VerifyTimeStampToken(t.token, TokenCheck{}).error().code(),
            ErrorCode::kInvalidArgument);

  // A flipped bit in the signature.
  Bytes bad = t.token;
  bad[bad.size() - 5] ^= 1;
  EXPECT_FALSE(VerifyTimeStampToken(bad, check).ok());

  // Without certReq the token carries no certificate: the caller must supply it.
  Issued bare = Issue(pki, testing::Sm3Request("original", nonce, false));
  EXPECT_EQ(VerifyTimeStampToken(bare.token, check).error().code(), ErrorCode::kNotFound);
  TokenCheck with_cert = check;
  with_cert.tsa_certificate = &pki.tsa;
  EXPECT_TRUE(VerifyTimeStampToken(bare.token, with_cert).ok());

  // ESS binding: a signingCertificateV2 hash that is not the TSA certificate's.
  TimeStampReq req = testing::Sm3Request("original", nonce);
  const Bytes req_der = Must(BuildTimeStampReq(req));
  TimeStampReq parsed = Must(ParseTimeStampReq(req_der));
  TstInfoSpec info;
  info.policy_oid = "1.2.3";
  info.message_imprint_der = parsed.message_imprint_der;
  info.serial = kSerial;
  info.gen_time = testing::T0();
  TokenSignerSpec s;
  s.tsa_certificate = &pki.tsa;
  s.signer = &pki.tsa_key.signer;
  s.include_certificates = true;
  s.cert_hash = pki.ca.fingerprint();
  Bytes unbound = Must(BuildTimeStampToken(info, s));
  EXPECT_EQ(VerifyTimeStampToken(unbound, check).error().code(), ErrorCode::kBadSignature);

  // RFC 3161 section 2.3: a certificate whose EKU is not critical timeStamping is refused.
  testing::TestKey k = testing::NewKey();
  Certificate loose = Must(Certificate::FromDer(testing::IssueTestCert(
      testing::N("C=CN,CN=loose TSA"), k.pub, pki.ca_name, pki.ca_key.signer, false,
      std::nullopt, testing::Days(-1), testing::Days(30),
      {Must(ext::ExtKeyUsage({std::string(oid::kKpTimeStamping)}, false))})));
  s.tsa_certificate = &loose;
  s.signer = &k.signer;
  s.cert_hash.reset();
  Bytes loose_token = Must(BuildTimeStampToken(info, s));
  EXPECT_EQ(VerifyTimeStampToken(loose_token, check).error().code(), ErrorCode::kPolicyViolation);
}

// The GM/T 0010 outer OIDs (the Kinsec vendor TSA's form) verify as well.
// req: AS-05
TEST(TspToken, GmFlavorVerifies) {
  TsaPki pki;
  Issued t = Issue(pki, testing::Sm3Request("gm", std::nullopt), testing::T0(),
                   CmsFlavor::kGmt0010);
  TokenCheck check;
  const Bytes data = ToBytes("gm");
  check.data = data;
  VerifiedToken v = Must(VerifyTimeStampToken(t.token, check));
  EXPECT_EQ(v.info.gen_time_text, "20260101000000Z");
  EXPECT_EQ(Must(ParseSignedData(t.token)).outer_content_type, oid::kGmSignedData);
}

// req: AS-05
TEST(TspResponse, RejectionRoundTrip) {
  Bytes der = BuildRejectedTimeStampResp(TspFailure::kBadAlg, "unsupported hash");
  TimeStampResp r = Must(ParseTimeStampResp(der));
  EXPECT_EQ(r.status, PkiStatus::kRejection);
  EXPECT_EQ(r.fail_info, 1u << 0);
  ASSERT_EQ(r.status_strings.size(), 1u);
  EXPECT_EQ(r.status_strings[0], "unsupported hash");
  EXPECT_TRUE(r.token.empty());
  TimeStampResp tna =
      Must(ParseTimeStampResp(BuildRejectedTimeStampResp(TspFailure::kTimeNotAvailable, "")));
  EXPECT_EQ(tna.fail_info, 1u << 14);
  // A granted status without a token is malformed (RFC 3161 section 2.4.2).
  EXPECT_FALSE(ParseTimeStampResp(Must(HexDecode("30053003020100"))).ok());
}

// OpenSSL (independent parser) prints our granted and rejected responses.
// req: AS-05
TEST(TspInterop, OpenSslPrintsOurResponses) {
  TsaPki pki;
  TempDir dir;
  Issued t = Issue(pki, testing::Sm3Request("print me", Bytes{0x0a, 0xbc, 0xde}));
  dir.Write("resp.tsr", t.response);
  auto r = RunCommand("openssl ts -reply -in " + dir.Path("resp.tsr") + " -text");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(Has(r.output, "Status: Granted.")) << r.output;
  EXPECT_TRUE(Has(r.output, "Policy OID: 1.2.156.112233.1.7.1")) << r.output;
  EXPECT_TRUE(Has(r.output, "Hash Algorithm: sm3")) << r.output;
  EXPECT_TRUE(Has(r.output, "Serial number: 0x0123456789ABCDEF")) << r.output;
  EXPECT_TRUE(Has(r.output, "Time stamp: Jan  1 00:00:00.123 2026 GMT")) << r.output;
  EXPECT_TRUE(Has(r.output, "Accuracy: unspecified seconds, 0x01F4 millis, unspecified micros"))
      << r.output;
  EXPECT_TRUE(Has(r.output, "Nonce: 0x0ABCDE")) << r.output;
  EXPECT_TRUE(Has(r.output, "TSA: DirName:/C=CN/O=MOHRSS/CN=gmpki TSA")) << r.output;

  dir.Write("rej.tsr", BuildRejectedTimeStampResp(TspFailure::kBadAlg, "unsupported hash"));
  auto rej = RunCommand("openssl ts -reply -in " + dir.Path("rej.tsr") + " -text");
  ASSERT_EQ(rej.status, 0) << rej.output;
  EXPECT_TRUE(Has(rej.output, "Status: Rejected.")) << rej.output;
  EXPECT_TRUE(Has(rej.output, "unsupported hash")) << rej.output;
  EXPECT_TRUE(Has(rej.output, "unrecognized or unsupported algorithm")) << rej.output;
}

// Bouncy Castle 1.72 validates the response against the openssl-made request and the token's
// signature, ESS binding and EKU with an SM2 verifier (TspBcCheck.java).
// req: AS-05
TEST(TspInterop, BouncyCastleValidatesOurToken) {
  const std::string jars =
      "/usr/share/java/bcprov.jar:/usr/share/java/bcutil.jar:/usr/share/java/bcpkix.jar";
  ASSERT_EQ(RunCommand("java -version").status, 0)
      << "needs java 17 and Bouncy Castle (tools/install-deps.sh)";
  TsaPki pki;
  TempDir dir;
  dir.Write("data.txt", "stamp this for Bouncy Castle\n");
  ASSERT_EQ(RunCommand("openssl ts -query -sm3 -cert -data " + dir.Path("data.txt") + " -out " +
                       dir.Path("req.tsq"))
                .status,
            0);
  TimeStampReq req = Must(ParseTimeStampReq(dir.Read("req.tsq")));
  Issued t = Issue(pki, req);
  dir.Write("resp.tsr", t.response);
  dir.Write("tsa.der", pki.tsa.der());
  const std::string cmd = "java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp " + jars + " " +
                          GMPKI_SOURCE_DIR "/src/x509/tests/TspBcCheck.java ";
  auto ok = RunCommand(cmd + dir.Path("resp.tsr") + " " + dir.Path("tsa.der") + " " +
                       dir.Path("req.tsq"));
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_TRUE(Has(ok.output, "\"ok\":true")) << ok.output;
  EXPECT_TRUE(Has(ok.output, "\"serial\":\"123456789abcdef\"")) << ok.output;
  EXPECT_TRUE(Has(ok.output, "\"hashAlg\":\"1.2.156.10197.1.401\"")) << ok.output;
  EXPECT_TRUE(Has(ok.output, "\"accuracy\":\"0:500:0\"")) << ok.output;
  EXPECT_TRUE(Has(ok.output, "\"genTimeMs\":" +
                                 std::to_string(ToUnixSeconds(testing::T0()) * 1000 + 123)))
      << ok.output;

  // The same token checked against another "TSA" certificate must fail in BC too.
  dir.Write("ca.der", pki.ca.der());
  auto bad = RunCommand(cmd + dir.Path("resp.tsr") + " " + dir.Path("ca.der"));
  EXPECT_EQ(bad.status, 1) << bad.output;
}

}  // namespace
}  // namespace gmpki::x509
