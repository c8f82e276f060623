// OCSP wire format: requests from `openssl ocsp` (an independent client),
// responses read back by `openssl ocsp -resp_text` and by Bouncy Castle,
// signatures under the GM/T rule, and the OCSP signing certificate's
// extensions. Bad input is in ocsp_malformed_test.cc, Debian's cryptography
// vectors in ocsp_vectors_test.cc.
#include "x509/ocsp.h"

#include <gtest/gtest.h>

#include "crypto/sm3.h"
#include "x509/der.h"
#include "x509/tests/ocsp_test_util.h"

namespace gmpki::x509 {
namespace {

using testing::Days;
using testing::Must;
using testing::OcspPki;
using testing::RunCommand;
using testing::T0;
using testing::TempDir;

// Writes the PKI's certificates as PEM in `dir` and has `openssl ocsp` build a
// request.
Bytes OpensslRequest(const OcspPki& pki, const TempDir& dir, const std::string& options,
                     bool two_certs = false) {
  dir.Write("ca.pem", pki.ca.ToPem());
  dir.Write("ee.pem", pki.ee.ToPem());
  dir.Write("ee2.pem", pki.ee2.ToPem());
  std::string cmd = "openssl ocsp " + options + " -issuer " + dir.Path("ca.pem") + " -cert " +
                    dir.Path("ee.pem") + (two_certs ? " -cert " + dir.Path("ee2.pem") : "") +
                    " -reqout " + dir.Path("req.der");
  auto r = RunCommand(cmd);
  if (r.status != 0) throw std::runtime_error(cmd + ": " + r.output);
  return dir.Read("req.der");
}

// `openssl ocsp -respin` prints the response and, with -issuer/-cert, looks up
// each certificate's CertID in it (OCSP_resp_find_status), which checks our
// CertID echo. The fixed test times lie in the past or future of the real
// clock: -validity_period stops openssl from warning about that.
std::string OpensslResponseText(const OcspPki& pki, const TempDir& dir, ByteView resp) {
  dir.Write("resp.der", resp);
  auto r = RunCommand("openssl ocsp -respin " + dir.Path("resp.der") +
                      " -resp_text -noverify -no_nonce -validity_period 2000000000" + " -issuer " +
                      dir.Path("ca.pem") + " -cert " + dir.Path("ee.pem"));
  EXPECT_EQ(r.status, 0) << r.output;
  return r.output;
}

// req: VA-02
TEST(OcspRequest, ParsesOpensslSha1RequestWithNonce) {
  OcspPki pki;
  TempDir dir;
  OcspRequest req = Must(ParseOcspRequest(OpensslRequest(pki, dir, "")));
  ASSERT_EQ(req.ids.size(), 1u);
  // openssl's CertID: SHA-1 of the issuer's subject DER and of its public key
  // bits.
  EXPECT_EQ(req.ids[0], Must(MakeOcspCertId(pki.ca, pki.ee.serial(), oid::kSha1)));
  EXPECT_EQ(req.ids[0].serial, pki.ee.serial());
  ASSERT_TRUE(req.nonce.has_value());
  EXPECT_EQ(req.nonce->size(), 16u);  // openssl's default nonce length
  EXPECT_FALSE(req.signed_request);
  EXPECT_FALSE(req.has_requestor_name);
}

// req: VA-02
TEST(OcspRequest, ParsesOpensslSha256AndSm3RequestsWithoutNonce) {
  OcspPki pki;
  TempDir dir;
  OcspRequest req = Must(ParseOcspRequest(OpensslRequest(pki, dir, "-no_nonce -sha256", true)));
  ASSERT_EQ(req.ids.size(), 2u);
  EXPECT_FALSE(req.nonce.has_value());
  EXPECT_EQ(req.ids[0], Must(MakeOcspCertId(pki.ca, pki.ee.serial(), oid::kSha256)));
  EXPECT_EQ(req.ids[1], Must(MakeOcspCertId(pki.ca, pki.ee2.serial(), oid::kSha256)));

  OcspRequest sm3 = Must(ParseOcspRequest(OpensslRequest(pki, dir, "-no_nonce -sm3")));
  ASSERT_EQ(sm3.ids.size(), 1u);
  EXPECT_EQ(sm3.ids[0].hash_oid, oid::kSm3);
  crypto::Sm3Digest name = crypto::Sm3(pki.ca.subject().der());
  crypto::Sm3Digest key = crypto::Sm3(pki.ca.public_key().point());
  EXPECT_EQ(sm3.ids[0].issuer_name_hash, Bytes(name.begin(), name.end()));
  EXPECT_EQ(sm3.ids[0].issuer_key_hash, Bytes(key.begin(), key.end()));
}

// ComputeIssuerHashes gives, for each hash, exactly what openssl put in its
// CertIDs. req: VA-02
TEST(OcspRequest, IssuerHashesMatchOpensslForAllThreeHashes) {
  OcspPki pki;
  TempDir dir;
  std::vector<OcspIssuerHashes> hashes = ComputeIssuerHashes(pki.ca);
  ASSERT_EQ(hashes.size(), 3u);
  const char* options[] = {"-no_nonce -sha1", "-no_nonce -sha256", "-no_nonce -sm3"};
  for (int i = 0; i < 3; ++i) {
    OcspRequest req = Must(ParseOcspRequest(OpensslRequest(pki, dir, options[i])));
    EXPECT_EQ(req.ids[0].hash_oid, hashes[i].hash_oid) << options[i];
    EXPECT_EQ(req.ids[0].issuer_name_hash, hashes[i].name_hash) << options[i];
    EXPECT_EQ(req.ids[0].issuer_key_hash, hashes[i].key_hash) << options[i];
  }
  EXPECT_EQ(ComputeIssuerHashes(pki.ca.subject().der(), pki.ca.public_key())[2].key_hash,
            hashes[2].key_hash);
}

// RFC 6960 Appendix A.1: GET {url}/{url-encoding of base-64 encoding of the DER
// request}. req: VA-02
TEST(OcspRequest, GetPathFormDecodesPercentEncodedBase64) {
  OcspPki pki;
  TempDir dir;
  Bytes der = OpensslRequest(pki, dir, "");
  std::string b64 = Base64Encode(der);
  std::string encoded;
  for (char c : b64) {
    switch (c) {
      case '+':
        encoded += "%2B";
        break;
      case '/':
        encoded += "%2f";  // lower-case hex is valid percent-encoding too
        break;
      case '=':
        encoded += "%3D";
        break;
      default:
        encoded += c;
    }
  }
  OcspRequest from_der = Must(ParseOcspRequest(der));
  OcspRequest plain = Must(ParseOcspGetPath(b64));
  OcspRequest pct = Must(ParseOcspGetPath(encoded));
  EXPECT_EQ(plain.ids, from_der.ids);
  EXPECT_EQ(pct.ids, from_der.ids);
  EXPECT_EQ(pct.nonce, from_der.nonce);
  EXPECT_EQ(ParseOcspGetPath("").error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(ParseOcspGetPath("MEQw%2").error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(ParseOcspGetPath("MEQw%zz").error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(ParseOcspGetPath("ME Qw").error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(ParseOcspGetPath(b64.substr(0, b64.size() - 4)).error().code(),
            ErrorCode::kMalformedInput);
  EXPECT_EQ(ParseOcspGetPath(std::string(300000, 'A')).error().code(), ErrorCode::kTooLarge);
}

// A good, a revoked (time and reason) and an unknown answer to one openssl
// request, with its nonce echoed; openssl finds each of its CertIDs and prints
// the right status and times. req: VA-02
TEST(OcspResponse, OpensslReadsStatusesTimesAndNonce) {
  OcspPki pki;
  TempDir dir;
  OcspRequest req = Must(ParseOcspRequest(OpensslRequest(pki, dir, "")));
  struct Case {
    OcspCertStatus status;
    std::string expect;
  } cases[] = {
      {OcspCertStatus::kGood, "Cert Status: good"},
      {OcspCertStatus::kRevoked, "Cert Status: revoked"},
      {OcspCertStatus::kUnknown, "Cert Status: unknown"},
  };
  for (const Case& c : cases) {
    OcspSingleResponse single{req.ids[0], c.status, {}, std::nullopt, T0(), Days(1)};
    if (c.status == OcspCertStatus::kRevoked) {
      single.revocation_time = T0() - std::chrono::hours(5);
      single.reason = RevocationReason::kKeyCompromise;
    }
    OcspResponseSpec spec;
    spec.produced_at = T0() + std::chrono::seconds(30);
    spec.responses = {single};
    spec.nonce = req.nonce;
    spec.certs = {pki.signer.der()};
    Bytes resp = Must(BuildOcspResponse(spec, pki.signer_key.signer));
    std::string text = OpensslResponseText(pki, dir, resp);
    EXPECT_NE(text.find("OCSP Response Status: successful (0x0)"), std::string::npos) << text;
    EXPECT_NE(text.find("Response Type: Basic OCSP Response"), std::string::npos) << text;
    EXPECT_NE(text.find(c.expect), std::string::npos) << text;
    EXPECT_NE(text.find("Produced At: Jan  1 00:00:30 2026 GMT"), std::string::npos) << text;
    EXPECT_NE(text.find("This Update: Jan  1 00:00:00 2026 GMT"), std::string::npos) << text;
    EXPECT_NE(text.find("Next Update: Jan  2 00:00:00 2026 GMT"), std::string::npos) << text;
    EXPECT_NE(
        text.find("Responder Id: " + HexEncode(OcspResponderKeyHash(pki.signer_key.pub), true)),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("0410" + HexEncode(*req.nonce, true)), std::string::npos) << text;
    // The summary line comes from openssl matching its own CertID against ours.
    EXPECT_NE(text.find(dir.Path("ee.pem") + ": " + c.expect.substr(13)), std::string::npos)
        << text;
    if (c.status == OcspCertStatus::kRevoked) {
      EXPECT_NE(text.find("Revocation Time: Dec 31 19:00:00 2025 GMT"), std::string::npos) << text;
      EXPECT_NE(text.find("Revocation Reason: keyCompromise (0x1)"), std::string::npos) << text;
    }
    // Our parser and verifier on the same bytes.
    OcspResponse parsed = Must(ParseOcspResponse(resp));
    EXPECT_TRUE(VerifyOcspResponseSignature(parsed, pki.signer_key.pub).ok());
  }
}

// req: VA-02
TEST(OcspResponse, RoundTripsEveryField) {
  OcspPki pki;
  OcspCertId a = Must(MakeOcspCertId(pki.ca, pki.ee.serial(), oid::kSha1));
  OcspCertId b = Must(MakeOcspCertId(pki.ca, pki.ee2.serial(), oid::kSm3));
  OcspCertId c = Must(MakeOcspCertId(pki.ca, Bytes{0x00, 0x7f}, oid::kSha256));
  EXPECT_EQ(c.serial, Bytes{0x7f});
  OcspResponseSpec spec;
  spec.produced_at = Days(2);
  spec.responses = {
      {a, OcspCertStatus::kGood, {}, std::nullopt, Days(1), Days(2)},
      {b, OcspCertStatus::kRevoked, Days(-3), RevocationReason::kSuperseded, Days(1), std::nullopt},
      {c, OcspCertStatus::kRevoked, Days(-4), std::nullopt, Days(1), Days(8)},
  };
  spec.nonce = Bytes(32, 0xab);
  spec.certs = {pki.signer.der(), pki.ca.der()};
  Bytes resp = Must(BuildOcspResponse(spec, pki.signer_key.signer));
  OcspResponse r = Must(ParseOcspResponse(resp));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.response_type, oid::kOcspBasic);
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(r.responder_key_hash, OcspResponderKeyHash(pki.signer_key.pub));
  EXPECT_FALSE(r.responder_name_der.has_value());
  EXPECT_EQ(r.produced_at, Days(2));
  EXPECT_EQ(r.nonce, spec.nonce);
  EXPECT_EQ(r.signature_algorithm, kSm3WithSm2Oid);
  ASSERT_EQ(r.certs.size(), 2u);
  EXPECT_EQ(r.certs[0], pki.signer.der());
  EXPECT_EQ(r.certs[1], pki.ca.der());
  ASSERT_EQ(r.responses.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r.responses[i].id, spec.responses[i].id) << i;
    EXPECT_EQ(r.responses[i].status, spec.responses[i].status) << i;
    EXPECT_EQ(r.responses[i].reason, spec.responses[i].reason) << i;
    EXPECT_EQ(r.responses[i].this_update, spec.responses[i].this_update) << i;
    EXPECT_EQ(r.responses[i].next_update, spec.responses[i].next_update) << i;
  }
  EXPECT_EQ(r.responses[1].revocation_time, Days(-3));
  EXPECT_EQ(r.responses[2].revocation_time, Days(-4));
  EXPECT_TRUE(VerifyOcspResponseSignature(r, pki.signer_key.pub).ok());
  // Sub-second times are truncated to seconds on the wire.
  spec.produced_at = Days(2) + std::chrono::milliseconds(999);
  EXPECT_EQ(
      Must(ParseOcspResponse(Must(BuildOcspResponse(spec, pki.signer_key.signer)))).produced_at,
      Days(2));
  // An explicit responder key hash is used as given.
  spec.responder_key_hash = Bytes(20, 0x11);
  EXPECT_EQ(Must(ParseOcspResponse(Must(BuildOcspResponse(spec, pki.signer_key.signer))))
                .responder_key_hash,
            Bytes(20, 0x11));
}

// The signature is SM2-with-SM3 under the GM/T ID: the signer's key verifies
// it; another key, a changed byte in the signed data, or a signature made with
// OpenSSL 3.0's empty ID do not. req: VA-02
TEST(OcspResponse, SignatureVerifiesOnlyUnderGmtRuleWithSignerKey) {
  OcspPki pki;
  OcspResponseSpec spec;
  spec.produced_at = T0();
  spec.responses = {{Must(MakeOcspCertId(pki.ca, pki.ee.serial())),
                     OcspCertStatus::kGood,
                     {},
                     std::nullopt,
                     T0(),
                     std::nullopt}};
  Bytes resp = Must(BuildOcspResponse(spec, pki.signer_key.signer));
  OcspResponse r = Must(ParseOcspResponse(resp));
  EXPECT_TRUE(VerifyOcspResponseSignature(r, pki.signer_key.pub).ok());
  EXPECT_EQ(VerifyOcspResponseSignature(r, pki.ca_key.pub).error().code(),
            ErrorCode::kBadSignature);
  OcspResponse tampered = r;
  tampered.tbs_response_data.back() ^= 0x01;
  EXPECT_EQ(VerifyOcspResponseSignature(tampered, pki.signer_key.pub).error().code(),
            ErrorCode::kBadSignature);
  OcspResponse other_alg = r;
  other_alg.signature_algorithm = "1.2.840.10045.4.3.2";
  EXPECT_EQ(VerifyOcspResponseSignature(other_alg, pki.signer_key.pub).error().code(),
            ErrorCode::kUnsupported);
  Signer empty_id = MakeSoftwareSigner(pki.signer_key.priv, pki.signer_key.pub, "");
  OcspResponse wrong_id = Must(ParseOcspResponse(Must(BuildOcspResponse(spec, empty_id))));
  EXPECT_EQ(VerifyOcspResponseSignature(wrong_id, pki.signer_key.pub).error().code(),
            ErrorCode::kBadSignature);
  OcspResponse unsigned_error =
      Must(ParseOcspResponse(BuildOcspErrorResponse(OcspResponseStatus::kTryLater)));
  EXPECT_EQ(VerifyOcspResponseSignature(unsigned_error, pki.signer_key.pub).error().code(),
            ErrorCode::kFailedPrecondition);
}

// Bouncy Castle 1.72 parses our response, checks the signer certificate against
// the CA and the response signature with the signer's key (JCA SM3withSM2 and
// SM2Signer with the GM/T ID), and reads the statuses, reason and nonce. req:
// VA-02
TEST(OcspResponse, BouncyCastleVerifiesSm2Response) {
  const std::string jars =
      "/usr/share/java/bcprov.jar:/usr/share/java/bcutil.jar:"
      "/usr/share/java/bcpkix.jar";
  ASSERT_EQ(RunCommand("java -version").status, 0)
      << "needs java 17 and Bouncy Castle (Debian: openjdk-17-jdk-headless "
         "libbcprov-java "
         "libbcpkix-java; tools/install-deps.sh)";
  OcspPki pki;
  TempDir dir;
  OcspResponseSpec spec;
  spec.produced_at = T0();
  spec.responses = {
      {Must(MakeOcspCertId(pki.ca, pki.ee.serial())),
       OcspCertStatus::kGood,
       {},
       std::nullopt,
       T0(),
       Days(1)},
      {Must(MakeOcspCertId(pki.ca, pki.ee2.serial())), OcspCertStatus::kRevoked, Days(-2),
       RevocationReason::kCessationOfOperation, T0(), Days(1)},
      {Must(MakeOcspCertId(pki.ca, Bytes{0x42})),
       OcspCertStatus::kUnknown,
       {},
       std::nullopt,
       T0(),
       std::nullopt},
  };
  spec.nonce = Bytes{1, 2, 3, 4, 5, 6, 7, 8};
  spec.certs = {pki.signer.der()};
  dir.Write("resp.der", Must(BuildOcspResponse(spec, pki.signer_key.signer)));
  dir.Write("ca.der", pki.ca.der());
  const std::string cmd = "java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp " + jars + " " +
                          GMPKI_SOURCE_DIR "/src/x509/tests/OcspBcCheck.java ";
  auto ok = RunCommand(cmd + dir.Path("resp.der") + " " + dir.Path("ca.der"));
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_NE(ok.output.find("\"ok\":true"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("\"nonce\":\"0102030405060708\""), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("\"producedAt\":" + std::to_string(ToUnixSeconds(T0()))),
            std::string::npos)
      << ok.output;
  std::string ee_serial = HexEncode(pki.ee.serial());
  while (ee_serial.size() > 1 && ee_serial[0] == '0') ee_serial.erase(0, 1);
  EXPECT_NE(ok.output.find("\"good:" + ee_serial + "\""), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("\"revoked:" + std::to_string(ToUnixSeconds(Days(-2))) + ":5:"),
            std::string::npos)
      << ok.output;
  EXPECT_NE(ok.output.find("\"unknown:42\""), std::string::npos) << ok.output;

  // Signed by the CA key while carrying the delegated certificate: BC must
  // refuse it.
  dir.Write("bad.der", Must(BuildOcspResponse(spec, pki.ca_key.signer)));
  auto bad = RunCommand(cmd + dir.Path("bad.der") + " " + dir.Path("ca.der"));
  EXPECT_EQ(bad.status, 1) << bad.output;
  EXPECT_NE(bad.output.find("\"jcaValid\":false,\"explicitIdValid\":false"), std::string::npos)
      << bad.output;
}

// RFC 6960 section 4.2.1: error responses carry only the status and are not
// signed. req: VA-02
TEST(OcspResponse, ErrorResponsesAreBareStatuses) {
  OcspPki pki;
  TempDir dir;
  dir.Write("ca.pem", pki.ca.ToPem());
  dir.Write("ee.pem", pki.ee.ToPem());
  struct Case {
    OcspResponseStatus status;
    std::uint8_t value;
    std::string name;
  } cases[] = {{OcspResponseStatus::kMalformedRequest, 1, "malformedrequest"},
               {OcspResponseStatus::kInternalError, 2, "internalerror"},
               {OcspResponseStatus::kTryLater, 3, "trylater"},
               {OcspResponseStatus::kSigRequired, 5, "sigrequired"},
               {OcspResponseStatus::kUnauthorized, 6, "unauthorized"}};
  for (const Case& c : cases) {
    Bytes der = BuildOcspErrorResponse(c.status);
    EXPECT_EQ(der, (Bytes{0x30, 0x03, 0x0a, 0x01, c.value}));
    OcspResponse r = Must(ParseOcspResponse(der));
    EXPECT_EQ(r.status, c.value);
    EXPECT_TRUE(r.responses.empty());
    dir.Write("err.der", der);
    auto out = RunCommand("openssl ocsp -respin " + dir.Path("err.der") + " -resp_text");
    EXPECT_NE(out.output.find("Responder Error: " + c.name + " (" + std::to_string(c.value) + ")"),
              std::string::npos)
        << out.output;
  }
}

// req: VA-02
TEST(OcspResponse, BuilderRejectsBadSpecs) {
  OcspPki pki;
  OcspCertId id = Must(MakeOcspCertId(pki.ca, pki.ee.serial()));
  OcspResponseSpec ok;
  ok.produced_at = T0();
  ok.responses = {{id, OcspCertStatus::kGood, {}, std::nullopt, T0(), Days(1)}};
  ASSERT_TRUE(BuildOcspResponse(ok, pki.signer_key.signer).ok());
  auto code = [&](const OcspResponseSpec& s) {
    return BuildOcspResponse(s, pki.signer_key.signer).error().code();
  };
  OcspResponseSpec s = ok;
  s.responses.clear();
  EXPECT_EQ(code(s), ErrorCode::kInvalidArgument);
  s = ok;
  s.nonce = Bytes{};
  EXPECT_EQ(code(s), ErrorCode::kInvalidArgument);
  s.nonce = Bytes(33, 1);
  EXPECT_EQ(code(s), ErrorCode::kInvalidArgument);
  s = ok;
  s.responses[0].next_update = T0() - std::chrono::seconds(1);
  EXPECT_EQ(code(s), ErrorCode::kInvalidArgument);
  s = ok;
  s.responses[0].reason = RevocationReason::kKeyCompromise;  // on a good status
  EXPECT_EQ(code(s), ErrorCode::kInvalidArgument);
  s = ok;
  s.responses[0].id.issuer_key_hash.pop_back();
  EXPECT_EQ(code(s), ErrorCode::kInvalidArgument);
  s = ok;
  s.responses[0].id.serial = Bytes(21, 0x01);
  EXPECT_EQ(code(s), ErrorCode::kInvalidArgument);
  s = ok;
  s.certs = {Bytes{0x01, 0x02}};
  EXPECT_EQ(code(s), ErrorCode::kInvalidArgument);
  EXPECT_EQ(MakeOcspCertId(pki.ca, pki.ee.serial(), "1.2.3.4").error().code(),
            ErrorCode::kInvalidArgument);
  // A failing signer's error comes back unchanged.
  Signer broken = pki.signer_key.signer;
  broken.sign = [](ByteView) -> Result<Bytes> {
    return Error(ErrorCode::kDeviceFailure, "device unplugged");
  };
  EXPECT_EQ(BuildOcspResponse(ok, broken).error().code(), ErrorCode::kDeviceFailure);
}

// RFC 6960 section 4.2.2.2: the delegated signer certificate carries
// id-kp-OCSPSigning and id-pkix-ocsp-nocheck (NULL); openssl prints both. req:
// VA-02
TEST(OcspSigningCertificate, CarriesOcspSigningAndNoCheck) {
  OcspPki pki;
  ASSERT_EQ(pki.signer.ext_key_usage().size(), 1u);
  EXPECT_EQ(pki.signer.ext_key_usage()[0], oid::kKpOcspSigning);
  const Extension* nocheck = pki.signer.FindExtension(oid::kOcspNoCheck);
  ASSERT_NE(nocheck, nullptr);
  EXPECT_FALSE(nocheck->critical);
  EXPECT_EQ(nocheck->value, (Bytes{0x05, 0x00}));
  EXPECT_FALSE(pki.signer.FindExtension(oid::kExtKeyUsage)->critical);
  TempDir dir;
  dir.Write("signer.pem", pki.signer.ToPem());
  auto out = RunCommand("openssl x509 -noout -text -in " + dir.Path("signer.pem"));
  EXPECT_EQ(out.status, 0) << out.output;
  EXPECT_NE(out.output.find("OCSP Signing"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("OCSP No Check"), std::string::npos) << out.output;
}

}  // namespace
}  // namespace gmpki::x509
