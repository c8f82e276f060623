// Debian's python3-cryptography-vectors 38.0.4
// (cryptography_vectors/x509/ocsp/): every request goes to ParseOcspRequest and
// every response to ParseOcspResponse, each with the answer written below. The
// expected values were read with `openssl ocsp -reqin/-respin
// -req_text/-resp_text` and agree with pyca/cryptography's
// tests/x509/test_ocsp.py, except where noted (we accept several CertIDs per
// request; cryptography 38 does not).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "x509/ocsp.h"
#include "x509/tests/test_util.h"

namespace gmpki::x509 {
namespace {

using testing::Must;

const std::filesystem::path kDir = "/usr/lib/python3/dist-packages/cryptography_vectors/x509/ocsp";

Bytes ReadVector(const std::string& name) {
  std::ifstream f(kDir / name, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ToBytes(ss.str());
}

Bytes Hex(std::string_view h) { return Must(HexDecode(h)); }

// 2018-09-01T13:45:20Z etc. as unix seconds.
TimePoint At(std::int64_t unix_seconds) { return FromUnixSeconds(unix_seconds); }

using RequestCheck = std::function<void(const Result<OcspRequest>&)>;
using ResponseCheck = std::function<void(const Result<OcspResponse>&)>;

void ExpectError(ErrorCode code, const Error& e, std::string_view contains) {
  EXPECT_EQ(e.code(), code) << e.ToString();
  EXPECT_NE(e.message().find(contains), std::string::npos) << e.ToString();
}

const std::map<std::string, RequestCheck>& RequestExpectations() {
  static const auto* m = new std::map<std::string, RequestCheck>{
      {"ocsp-army.inapplicable-req.der",
       [](const Result<OcspRequest>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         ASSERT_EQ(r->ids.size(), 1u);
         EXPECT_EQ(r->ids[0].hash_oid, oid::kSha1);
         EXPECT_EQ(r->ids[0].issuer_name_hash, Hex("4A8942494B2D003BDCBD0F9B1FBC015C203AA9A0"));
         EXPECT_EQ(r->ids[0].issuer_key_hash, Hex("A29DB425921FDDC23BBE18D578C019CCFFBA14B7"));
         EXPECT_EQ(r->ids[0].serial, Hex("01"));
         EXPECT_FALSE(r->nonce.has_value());
       }},
      {"ocsp-army.revoked-req.der",
       [](const Result<OcspRequest>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         ASSERT_EQ(r->ids.size(), 1u);
         EXPECT_EQ(r->ids[0].issuer_key_hash, Hex("8EC5B9CCFCCE8E53B42ACEE8112ACF9B296C67CA"));
         EXPECT_EQ(r->ids[0].serial, Hex("0391AE"));
       }},
      {"ocsp-army.valid-req.der",
       [](const Result<OcspRequest>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         ASSERT_EQ(r->ids.size(), 1u);
         EXPECT_EQ(r->ids[0].issuer_name_hash, Hex("992FC4E3C5EA9E8EA05DE4B9A6CA3A773B8432C1"));
         EXPECT_EQ(r->ids[0].serial, Hex("0391AD"));
       }},
      // Two nonce extensions: RFC 5280 section 4.2 forbids duplicates
      // (cryptography: error).
      {"req-duplicate-ext.der",
       [](const Result<OcspRequest>& r) {
         ASSERT_FALSE(r.ok());
         ExpectError(ErrorCode::kMalformedInput, r.error(), "duplicate extension");
       }},
      {"req-ext-nonce.der",
       [](const Result<OcspRequest>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         EXPECT_EQ(r->nonce, Hex("7B805A1D3726B8B84F48D2F8BFD72DFD"));
         EXPECT_EQ(r->ids[0].serial, Hex("01AF1EFBDD5EAE0952320B24FE6B5568"));
       }},
      // A non-critical extension 1.3.6.1.5.5.7.48.1.2213: ignored; no nonce.
      {"req-ext-unknown-oid.der",
       [](const Result<OcspRequest>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         EXPECT_FALSE(r->nonce.has_value());
       }},
      // An unknown hash OID with 16-octet hashes parses; a responder cannot
      // match it.
      {"req-invalid-hash-alg.der",
       [](const Result<OcspRequest>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         EXPECT_EQ(r->ids[0].hash_oid, "1.3.6.1.4.1.37476.3.2.1.99.1");
         EXPECT_EQ(r->ids[0].issuer_name_hash, Hex("38CA468C07448DF48196C76D6D4C7051"));
       }},
      // cryptography 38 raises NotImplementedError for several requests; RFC
      // 6960 allows it.
      {"req-multi-sha1.der",
       [](const Result<OcspRequest>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         ASSERT_EQ(r->ids.size(), 2u);
         EXPECT_EQ(r->ids[0].serial, Hex("98D9E5C0B4C373552DF77C5D0F1EB5128E4945F9"));
         EXPECT_EQ(r->ids[1].serial, Hex("98D9E5C0B4C373552DF77C5D0F1EB5128E4945F0"));
       }},
      {"req-sha1.der",
       [](const Result<OcspRequest>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         ASSERT_EQ(r->ids.size(), 1u);
         EXPECT_EQ(r->ids[0].hash_oid, oid::kSha1);
         EXPECT_EQ(r->ids[0].issuer_name_hash, Hex("38CA468C07448DF48196C76D6D4C70519E60A7BD"));
         EXPECT_EQ(r->ids[0].issuer_key_hash, Hex("7975BB843ACB2CDE7A09BE311B43BC1C2A4D5358"));
         EXPECT_EQ(r->ids[0].serial, Hex("98D9E5C0B4C373552DF77C5D0F1EB5128E4945F9"));
         EXPECT_FALSE(r->signed_request);
       }},
  };
  return *m;
}

constexpr const char* kSha256WithRsa = "1.2.840.113549.1.1.11";

void ExpectSingle(const OcspSingleResponse& s, std::string_view serial, OcspCertStatus status,
                  std::int64_t this_update, std::optional<std::int64_t> next_update) {
  EXPECT_EQ(s.id.serial, Hex(serial));
  EXPECT_EQ(s.status, status);
  EXPECT_EQ(s.this_update, At(this_update));
  if (next_update) {
    EXPECT_EQ(s.next_update, At(*next_update));
  } else {
    EXPECT_FALSE(s.next_update.has_value());
  }
}

const std::map<std::string, ResponseCheck>& ResponseExpectations() {
  static const auto* m = new std::map<std::string, ResponseCheck>{
      {"ocsp-army.deps.mil-resp.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         EXPECT_EQ(r->responder_key_hash, Hex("EB85741201571C8E51820BC0A2CF7FD04FFCD0B7"));
         EXPECT_EQ(r->produced_at, At(1582371491));  // 2020-02-22 11:38:11
         ASSERT_EQ(r->responses.size(), 20u);
         int good = 0, revoked = 0, with_reason = 0;
         for (const auto& s : r->responses) {
           good += s.status == OcspCertStatus::kGood;
           revoked += s.status == OcspCertStatus::kRevoked;
           if (s.reason) {
             ++with_reason;
             EXPECT_EQ(*s.reason, RevocationReason::kCessationOfOperation);
           }
         }
         EXPECT_EQ(good, 16);
         EXPECT_EQ(revoked, 4);
         EXPECT_EQ(with_reason, 1);
         ExpectSingle(r->responses[0], "03919F", OcspCertStatus::kRevoked, 1582329600, 1582938000);
         EXPECT_EQ(r->responses[0].revocation_time,
                   At(1527711798));  // 2018-05-30 20:23:18
         EXPECT_EQ(r->certs.size(), 1u);
       }},
      {"resp-delegate-unknown-cert.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         EXPECT_EQ(r->responder_key_hash, Hex("6FFF3E73A6F3EC466A420DD897F9AD2FE09AE8A4"));
         ASSERT_EQ(r->responses.size(), 1u);
         ExpectSingle(r->responses[0], "6372742E73683FADCFCBAEAD410F72BEE1FD3223",
                      OcspCertStatus::kUnknown, 1535806930, 1535893329);
         EXPECT_EQ(r->certs.size(), 1u);
         EXPECT_EQ(r->signature_algorithm, kSha256WithRsa);
       }},
      // md2WithRSA: parses; our verifier refuses anything but SM2-with-SM3.
      {"resp-invalid-signature-oid.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         EXPECT_EQ(r->signature_algorithm, "1.2.840.113549.1.1.2");
         ASSERT_TRUE(r->responder_name_der.has_value());
         EXPECT_EQ(Must(Name::FromDer(*r->responder_name_der)).ToString(),
                   "C=US,O=Let's Encrypt,CN=Let's Encrypt Authority X3");
       }},
      {"resp-responder-key-hash.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         EXPECT_EQ(r->responder_key_hash, Hex("0F80611C823161D52F28E78D4638B42CE1C6D9E2"));
         EXPECT_FALSE(r->responder_name_der.has_value());
         ExpectSingle(r->responses[0], "0FA0A21E15C20BBE1D68EA8FE7706635", OcspCertStatus::kRevoked,
                      1535809520, 1536411620);
         EXPECT_EQ(r->responses[0].revocation_time, At(1535775114));
         EXPECT_FALSE(r->responses[0].reason.has_value());
       }},
      {"resp-response-type-unknown-oid.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_FALSE(r.ok());
         ExpectError(ErrorCode::kUnsupported, r.error(), "1.3.6.1.5.5.7.48.1.50000");
       }},
      {"resp-revoked-no-next-update.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         ExpectSingle(r->responses[0], "3F20", OcspCertStatus::kRevoked, 1540254534, std::nullopt);
         EXPECT_EQ(r->responses[0].revocation_time, At(1514334534));
         EXPECT_EQ(r->signature_algorithm, "1.2.840.10045.4.3.2");
         EXPECT_TRUE(r->certs.empty());
       }},
      {"resp-revoked-reason.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         ExpectSingle(r->responses[0], "081D8B989E92FAE68956DCE62A893209A1BC24D3",
                      OcspCertStatus::kRevoked, 1535831297, 1536004097);
         EXPECT_EQ(r->responses[0].revocation_time, At(1530102601));
         EXPECT_EQ(r->responses[0].reason, RevocationReason::kSuperseded);
         EXPECT_EQ(r->nonce, Hex("3595379F610383878972578FAE99F722"));
         EXPECT_EQ(r->produced_at, At(1535831297));
       }},
      {"resp-revoked.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         ExpectSingle(r->responses[0], "01AF1EFBDD5EAE0952320B24FE6B5568", OcspCertStatus::kRevoked,
                      1535737759, 1536339859);
         EXPECT_EQ(r->responses[0].revocation_time, At(1472851728));
         EXPECT_FALSE(r->nonce.has_value());
       }},
      // A non-critical SCT list in singleExtensions: accepted.
      {"resp-sct-extension.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         ExpectSingle(r->responses[0], "23BF9A6C2BF9A2F0DB5ECB4143CAAB63AD3871D3",
                      OcspCertStatus::kGood, 1573871449, 1574130649);
       }},
      {"resp-sha256.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         EXPECT_EQ(r->signature_algorithm, kSha256WithRsa);
         ExpectSingle(r->responses[0], "031C787A7DC90295007BC5F2220B3B527AF0",
                      OcspCertStatus::kGood, 1535626800, 1536231600);
         EXPECT_EQ(r->produced_at, At(1535627700));
       }},
      {"resp-single-extension-reason.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         EXPECT_EQ(r->responder_key_hash, Hex("8C6194E09438ED89D8D44E897009D6F95E5FEC7D"));
         ExpectSingle(r->responses[0], "3F20", OcspCertStatus::kGood, 1573360069, 1573964869);
       }},
      // Status successful without responseBytes (cryptography: ValueError).
      {"resp-successful-no-response-bytes.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_FALSE(r.ok());
         ExpectError(ErrorCode::kMalformedInput, r.error(), "without responseBytes");
       }},
      {"resp-unauthorized.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         EXPECT_EQ(r->status, static_cast<int>(OcspResponseStatus::kUnauthorized));
         EXPECT_TRUE(r->responses.empty());
       }},
      // A non-critical unknown response extension in place of the nonce:
      // accepted, no nonce.
      {"resp-unknown-extension.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         EXPECT_FALSE(r->nonce.has_value());
         ASSERT_EQ(r->extensions.size(), 1u);
         EXPECT_EQ(r->extensions[0].oid, "1.3.6.1.5.5.7.48.1.2.200");
       }},
      {"resp-unknown-hash-alg.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_TRUE(r.ok()) << r.error().ToString();
         EXPECT_EQ(r->responses[0].id.hash_oid, "1.3.14.3.2.26.17");
       }},
      // Status 7 is not defined by RFC 6960 (cryptography: ValueError).
      {"resp-unknown-response-status.der",
       [](const Result<OcspResponse>& r) {
         ASSERT_FALSE(r.ok());
         ExpectError(ErrorCode::kMalformedInput, r.error(), "unknown value 7");
       }},
  };
  return *m;
}

// req: VA-02
TEST(OcspCryptographyVectors, EveryFileGetsItsDocumentedAnswer) {
  ASSERT_TRUE(std::filesystem::is_directory(kDir))
      << kDir
      << " missing: install python3-cryptography-vectors "
         "(tools/install-deps.sh)";
  int requests = 0, responses = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kDir)) {
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    const Bytes der = ReadVector(name);
    if (name.find("req") != std::string::npos && name.rfind("resp", 0) != 0 &&
        name.find("-resp.") == std::string::npos) {
      auto it = RequestExpectations().find(name);
      ASSERT_NE(it, RequestExpectations().end()) << "no expectation written for " << name;
      it->second(ParseOcspRequest(der));
      ++requests;
    } else {
      auto it = ResponseExpectations().find(name);
      ASSERT_NE(it, ResponseExpectations().end()) << "no expectation written for " << name;
      auto parsed = ParseOcspResponse(der);
      it->second(parsed);
      if (parsed.ok() && parsed->status == 0) {
        // None of these is SM2-signed: our verifier must say so, not crash or
        // accept.
        crypto::Sm2KeyPair kp = Must(crypto::Sm2GenerateKeyPair());
        auto v = VerifyOcspResponseSignature(*parsed, kp.public_key);
        ASSERT_FALSE(v.ok());
        EXPECT_EQ(v.error().code(), ErrorCode::kUnsupported);
      }
      ++responses;
    }
    // Each file is also fed to the other parser: an answer, never a crash.
    (void)ParseOcspRequest(der);
    (void)ParseOcspResponse(der);
  }
  EXPECT_EQ(requests, static_cast<int>(RequestExpectations().size()));
  EXPECT_EQ(responses, static_cast<int>(ResponseExpectations().size()));
}

}  // namespace
}  // namespace gmpki::x509
