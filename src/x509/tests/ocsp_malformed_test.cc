// Bad OCSP input: every truncation, random bit flips, wrong tags, trailing
// bytes, bounds, and the request rules (empty list, versions, nonce sizes,
// critical extensions). Each gets a clear error code and never a crash (the
// debug preset runs this under ASan/UBSan).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "x509/der.h"
#include "x509/ocsp.h"
#include "x509/tests/ocsp_test_util.h"

namespace gmpki::x509 {
namespace {

using testing::Days;
using testing::HandmadeRequest;
using testing::Must;
using testing::OcspPki;
using testing::T0;

OcspCertId SampleId() {
  return OcspCertId{std::string(oid::kSha1), Bytes(20, 0xaa), Bytes(20, 0xbb), Bytes{0x01, 0x23}};
}

Bytes CertIdDer(const OcspCertId& id) {
  return der::Sequence({der::Sequence({der::OidLiteral(id.hash_oid), der::Null()}),
                        der::OctetString(id.issuer_name_hash), der::OctetString(id.issuer_key_hash),
                        der::IntegerFromUnsigned(id.serial)});
}

Bytes Ext(std::string_view oid, bool critical, ByteView value) {
  std::vector<Bytes> items{der::OidLiteral(oid)};
  if (critical) items.push_back(der::Boolean(true));
  items.push_back(der::OctetString(value));
  return der::Sequence(items);
}

// OCSPRequest { TBSRequest { [prefix...] requestList [exts] } [suffix...] }
Bytes Request(std::vector<Bytes> tbs_prefix, std::vector<Bytes> ids,
              std::vector<Bytes> extensions = {}, std::vector<Bytes> outer_suffix = {}) {
  std::vector<Bytes> tbs = std::move(tbs_prefix);
  std::vector<Bytes> list;
  for (auto& id : ids) list.push_back(der::Sequence({id}));
  tbs.push_back(der::Sequence(list));
  if (!extensions.empty()) tbs.push_back(der::Explicit(2, der::Sequence(extensions)));
  std::vector<Bytes> outer{der::Sequence(tbs)};
  for (auto& s : outer_suffix) outer.push_back(s);
  return der::Sequence(outer);
}

ErrorCode CodeOf(ByteView der) {
  auto r = ParseOcspRequest(der);
  return r.ok() ? ErrorCode::kOk : r.error().code();
}

std::string MessageOf(ByteView der) {
  auto r = ParseOcspRequest(der);
  return r.ok() ? "" : r.error().message();
}

// req: VA-02
TEST(OcspRequestMalformed, EveryTruncationAndTrailingByteIsMalformed) {
  const Bytes good = HandmadeRequest(SampleId(), Bytes(16, 0x5a));
  ASSERT_TRUE(ParseOcspRequest(good).ok());
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = ParseOcspRequest(ByteView(good).first(n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code(), ErrorCode::kMalformedInput) << n;
    EXPECT_EQ(r.error().message().rfind("OCSP request: ", 0), 0u) << r.error().message();
  }
  Bytes trailing = good;
  trailing.push_back(0x00);
  EXPECT_EQ(CodeOf(trailing), ErrorCode::kMalformedInput);
  Bytes wrong_tag = good;
  wrong_tag[0] = der::kSet;
  EXPECT_EQ(CodeOf(wrong_tag), ErrorCode::kMalformedInput);
  EXPECT_NE(MessageOf(wrong_tag).find("not a SEQUENCE"), std::string::npos);
}

// req: VA-02
TEST(OcspRequestMalformed, RandomBitFlipsNeverCrash) {
  const Bytes good = HandmadeRequest(SampleId(), Bytes(16, 0x5a));
  std::mt19937 rng(20260101);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b = good;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f)
      b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    auto r = ParseOcspRequest(b);
    if (r.ok()) {
      ++accepted;  // e.g. a flip inside a hash or the nonce: still a well-formed
                   // request
      EXPECT_FALSE(r->ids.empty());
      if (r->nonce) {
        EXPECT_LE(r->nonce->size(), kMaxOcspNonceSize);
      }
    } else {
      EXPECT_EQ(r.error().code(), ErrorCode::kMalformedInput) << r.error().message();
    }
  }
  // Flips in the hashes, serial and nonce keep the request valid; flips in tags
  // and lengths do not. Both kinds must occur for the test to mean anything.
  EXPECT_GT(accepted, 1000);
  EXPECT_LT(accepted, 19000);
}

// req: VA-02
TEST(OcspRequestMalformed, StructuralRules) {
  const Bytes id = CertIdDer(SampleId());
  EXPECT_EQ(CodeOf(Request({}, {id})), ErrorCode::kOk);
  // RFC 6960 section 4.1.1: requestList must name at least one certificate.
  EXPECT_EQ(CodeOf(Request({}, {})), ErrorCode::kMalformedInput);
  EXPECT_NE(MessageOf(Request({}, {})).find("requestList: empty"), std::string::npos);
  // version [0] EXPLICIT: v1 (0) accepted, anything else refused.
  EXPECT_EQ(CodeOf(Request({der::Explicit(0, der::Integer(0))}, {id})), ErrorCode::kOk);
  EXPECT_EQ(CodeOf(Request({der::Explicit(0, der::Integer(1))}, {id})), ErrorCode::kMalformedInput);
  EXPECT_EQ(CodeOf(Request({der::Explicit(0, der::Null())}, {id})), ErrorCode::kMalformedInput);
  // requestorName [1] and optionalSignature [0] are noted, not verified.
  Bytes name = der::Explicit(1, der::Tlv(der::ContextPrimitive(1), AsBytes("a@b.cn")));
  Bytes sig = der::Explicit(0, der::Sequence({der::Sequence({der::OidLiteral(kSm3WithSm2Oid)}),
                                              der::BitString(Bytes{1, 2, 3})}));
  OcspRequest signed_req = Must(ParseOcspRequest(Request({name}, {id}, {}, {sig})));
  EXPECT_TRUE(signed_req.signed_request);
  EXPECT_TRUE(signed_req.has_requestor_name);
  Bytes bad_sig = der::Explicit(0, der::Sequence({der::OctetString(Bytes{1})}));
  EXPECT_EQ(CodeOf(Request({}, {id}, {}, {bad_sig})), ErrorCode::kMalformedInput);
  // An element where requestList should be.
  EXPECT_EQ(CodeOf(der::Sequence({der::Sequence({der::Integer(5)})})), ErrorCode::kMalformedInput);
  // CertID: negative serial, wrong hash length for sha1, trailing element.
  OcspCertId neg = SampleId();
  Bytes neg_id = der::Sequence({der::Sequence({der::OidLiteral(oid::kSha1), der::Null()}),
                                der::OctetString(neg.issuer_name_hash),
                                der::OctetString(neg.issuer_key_hash), Bytes{0x02, 0x01, 0x80}});
  EXPECT_EQ(CodeOf(Request({}, {neg_id})), ErrorCode::kMalformedInput);
  OcspCertId short_hash = SampleId();
  short_hash.issuer_key_hash.resize(19);
  EXPECT_EQ(CodeOf(Request({}, {CertIdDer(short_hash)})), ErrorCode::kMalformedInput);
  EXPECT_NE(MessageOf(Request({}, {CertIdDer(short_hash)})).find("hash length"), std::string::npos);
  // An unknown hash algorithm parses (the responder answers unknown for it).
  OcspCertId other = SampleId();
  other.hash_oid = "1.3.6.1.4.1.37476.3.2.1.99.1";
  other.issuer_name_hash.resize(16);
  EXPECT_EQ(Must(ParseOcspRequest(Request({}, {CertIdDer(other)}))).ids[0].hash_oid,
            other.hash_oid);
}

// req: VA-02
TEST(OcspRequestMalformed, ExtensionsAndNonce) {
  const Bytes id = CertIdDer(SampleId());
  auto nonce_ext = [](ByteView n, bool critical = false) {
    return Ext(oid::kOcspNonce, critical, der::OctetString(n));
  };
  EXPECT_EQ(Must(ParseOcspRequest(Request({}, {id}, {nonce_ext(Bytes(32, 7))}))).nonce,
            Bytes(32, 7));
  EXPECT_EQ(Must(ParseOcspRequest(Request({}, {id}, {nonce_ext(Bytes{9}, true)}))).nonce, Bytes{9});
  // RFC 8954 section 2.1: 0 or more than 32 octets is malformedRequest.
  EXPECT_EQ(CodeOf(Request({}, {id}, {nonce_ext(Bytes{})})), ErrorCode::kMalformedInput);
  EXPECT_EQ(CodeOf(Request({}, {id}, {nonce_ext(Bytes(33, 7))})), ErrorCode::kMalformedInput);
  EXPECT_NE(MessageOf(Request({}, {id}, {nonce_ext(Bytes(33, 7))})).find("RFC 8954"),
            std::string::npos);
  // Nonce ::= OCTET STRING; raw octets (pre-RFC 8954 clients) are refused.
  EXPECT_EQ(CodeOf(Request({}, {id}, {Ext(oid::kOcspNonce, false, Bytes(16, 7))})),
            ErrorCode::kMalformedInput);
  // Unknown extensions: ignored when non-critical, refused when critical.
  EXPECT_EQ(CodeOf(Request({}, {id}, {Ext("1.2.3.4", false, der::Null())})), ErrorCode::kOk);
  EXPECT_EQ(CodeOf(Request({}, {id}, {Ext("1.2.3.4", true, der::Null())})),
            ErrorCode::kMalformedInput);
  EXPECT_NE(MessageOf(Request({}, {id}, {Ext("1.2.3.4", true, der::Null())}))
                .find("unsupported critical extension 1.2.3.4"),
            std::string::npos);
  // RFC 5280 section 4.2: no extension twice.
  EXPECT_EQ(CodeOf(Request({}, {id}, {nonce_ext(Bytes{1}), nonce_ext(Bytes{1})})),
            ErrorCode::kMalformedInput);
  // singleRequestExtensions [0]: critical unknown refused, non-critical
  // ignored.
  auto with_single = [&](bool critical) {
    Bytes single = der::Sequence(
        {id, der::Explicit(0, der::Sequence({Ext("1.2.3.5", critical, der::Null())}))});
    return der::Sequence({der::Sequence({der::Sequence({single})})});
  };
  EXPECT_EQ(CodeOf(with_single(false)), ErrorCode::kOk);
  EXPECT_EQ(CodeOf(with_single(true)), ErrorCode::kMalformedInput);
}

// req: VA-02
TEST(OcspRequestMalformed, Bounds) {
  const Bytes id = CertIdDer(SampleId());
  std::vector<Bytes> max_ids(kMaxOcspRequestIds, id);
  EXPECT_EQ(Must(ParseOcspRequest(Request({}, max_ids))).ids.size(), kMaxOcspRequestIds);
  max_ids.push_back(id);
  EXPECT_EQ(CodeOf(Request({}, max_ids)), ErrorCode::kTooLarge);
  Bytes big(kMaxOcspRequestSize + 1, 0x30);
  EXPECT_EQ(CodeOf(big), ErrorCode::kTooLarge);
  EXPECT_EQ(CodeOf(Bytes{}), ErrorCode::kMalformedInput);
  // Indefinite length (BER, not DER) and a high tag number.
  EXPECT_EQ(CodeOf(Bytes{0x30, 0x80, 0x00, 0x00}), ErrorCode::kMalformedInput);
  EXPECT_EQ(CodeOf(Bytes{0x3f, 0x01, 0x00}), ErrorCode::kMalformedInput);
}

Bytes SampleResponse(const OcspPki& pki) {
  OcspResponseSpec spec;
  spec.produced_at = T0();
  spec.responses = {{Must(MakeOcspCertId(pki.ca, pki.ee.serial())), OcspCertStatus::kRevoked,
                     Days(-1), RevocationReason::kKeyCompromise, T0(), Days(1)}};
  spec.nonce = Bytes(8, 3);
  spec.certs = {pki.signer.der()};
  return Must(BuildOcspResponse(spec, pki.signer_key.signer));
}

// req: VA-02
TEST(OcspResponseMalformed, TruncationsFlipsAndStatusRules) {
  OcspPki pki;
  const Bytes good = SampleResponse(pki);
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = ParseOcspResponse(ByteView(good).first(n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code(), ErrorCode::kMalformedInput) << n;
  }
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(ParseOcspResponse(trailing).error().code(), ErrorCode::kMalformedInput);
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    Bytes b = good;
    b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    auto r = ParseOcspResponse(b);
    if (r.ok()) {
      // Whatever still parses must not verify unless the flip hit only unsigned
      // parts.
      (void)VerifyOcspResponseSignature(*r, pki.signer_key.pub);
    } else {
      EXPECT_TRUE(r.error().code() == ErrorCode::kMalformedInput ||
                  r.error().code() == ErrorCode::kUnsupported)
          << r.error().ToString();
    }
  }
  // Regression (found by the bit-flip loop under UBSan): a GeneralizedTime year outside what
  // TimePoint holds overflowed in der::ParseTime; it is now refused before conversion.
  for (std::string_view year : {"0026", "6018", "1949"}) {
    Bytes far = good;
    std::string produced = "2026010100000";
    auto at = std::search(far.begin(), far.end(), produced.begin(), produced.end());
    ASSERT_NE(at, far.end());
    std::copy(year.begin(), year.end(), at);
    auto r = ParseOcspResponse(far);
    ASSERT_FALSE(r.ok()) << year;
    EXPECT_EQ(r.error().code(), ErrorCode::kMalformedInput);
    EXPECT_NE(r.error().message().find("year out of range"), std::string::npos);
  }
  // RFC 6960 section 4.2.1: status 4 is not used; 7 and above are undefined.
  EXPECT_EQ(ParseOcspResponse(Bytes{0x30, 0x03, 0x0a, 0x01, 0x04}).error().code(),
            ErrorCode::kMalformedInput);
  EXPECT_EQ(ParseOcspResponse(Bytes{0x30, 0x03, 0x0a, 0x01, 0x07}).error().code(),
            ErrorCode::kMalformedInput);
  EXPECT_EQ(ParseOcspResponse(Bytes{0x30, 0x03, 0x0a, 0x01, 0x00}).error().code(),
            ErrorCode::kMalformedInput);
  Bytes error_with_bytes = good;
  error_with_bytes[error_with_bytes[1] & 0x80 ? 2 + (error_with_bytes[1] & 0x7f) + 2 : 4] = 0x01;
  EXPECT_EQ(ParseOcspResponse(error_with_bytes).error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(ParseOcspResponse(Bytes(kMaxOcspResponseSize + 1, 0x30)).error().code(),
            ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace gmpki::x509
