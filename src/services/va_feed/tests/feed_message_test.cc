// The feed wire format: round trip, compactness, and each refusal (tampered, wrong key,
// malformed, oversized) with its specific error (HI-02).
#include "services/va_feed/feed_message.h"

#include <gtest/gtest.h>

#include "services/va_feed/tests/feed_test_util.h"
#include "x509/pem.h"

namespace gmpki::va_feed {
namespace {

using testutil::Good;
using testutil::Revoked;
using testutil::SameRecord;
using testutil::Sign;
using testutil::SoftSigner;

FeedMessage Sample() {
  FeedMessage m = testutil::Delta(7, 12);
  m.issuers.push_back(va::IssuerRecord{"biz", Bytes{0x30, 0x03, 0x02, 0x01, 0x01}});
  m.statuses.push_back(Good("biz", "ABC"));  // odd number of hex digits
  m.statuses.push_back(
      Revoked("biz", "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", 6, 1700000123));  // 20 octets
  va::StatusRecord hold = Good("other-ca", "1");
  hold.state = va::CertState::kHold;
  hold.reason = 6;
  hold.revoked_unix = 1;
  m.statuses.push_back(hold);
  m.crls.push_back(CrlRecord{"biz", -1, false, 4, 0, Bytes{1, 2, 3}});
  m.crls.push_back(CrlRecord{"biz", 3, true, 9, 4, Bytes{4, 5}});
  return m;
}

// req: HI-02
TEST(FeedMessage, RoundTripsEveryField) {
  FeedSigner signer = SoftSigner();
  signer.chain = {Bytes{0x30, 0x00}};
  FeedMessage m = Sample();
  std::string wire = Sign(m, signer);
  auto back = DecodeVerified(wire, signer.public_key);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->header.kind, MessageKind::kDelta);
  EXPECT_EQ(back->header.source, "biz-node");
  EXPECT_EQ(back->header.base, 7);
  EXPECT_EQ(back->header.seq, 12);
  EXPECT_EQ(back->header.created_ms, 1700000000000);
  EXPECT_EQ(back->header.key_id, KeyId(signer.public_key));
  ASSERT_EQ(back->header.signer_chain.size(), 1u);
  ASSERT_EQ(back->issuers.size(), 1u);
  EXPECT_EQ(back->issuers[0].cert_der, m.issuers[0].cert_der);
  ASSERT_EQ(back->statuses.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_TRUE(SameRecord(back->statuses[i], m.statuses[i])) << i;
  ASSERT_EQ(back->crls.size(), 2u);
  EXPECT_EQ(back->crls[0].partition, -1);
  EXPECT_FALSE(back->crls[0].delta);
  EXPECT_EQ(back->crls[1].partition, 3);
  EXPECT_TRUE(back->crls[1].delta);
  EXPECT_EQ(back->crls[1].number, 9u);
  EXPECT_EQ(back->crls[1].delta_base, 4u);
  EXPECT_EQ(back->crls[1].der, (Bytes{4, 5}));
}

// req: HI-02
TEST(FeedMessage, AboutTwentyFiveBytesPerRecord) {
  FeedMessage m = testutil::SnapshotPart(1, 1, 0, true);
  for (int i = 0; i < 10000; ++i) {
    // 16-octet random-looking serials, as the CA issues them.
    char buf[40];
    std::snprintf(buf, sizeof buf, "5A%030X", i * 2654435761u);
    m.statuses.push_back(i % 10 ? Good("biz", buf) : Revoked("biz", buf));
  }
  std::string wire = Sign(m, SoftSigner());
  double per_record = static_cast<double>(wire.size()) / m.statuses.size();
  std::printf("[ feed ] %zu records in %zu bytes: %.1f bytes/record\n", m.statuses.size(),
              wire.size(), per_record);
  EXPECT_LT(per_record, 30.0);
}

// req: HI-02
TEST(FeedMessage, TamperedMessageIsBadSignature) {
  FeedSigner signer = SoftSigner();
  std::string wire = Sign(Sample(), signer);
  // A flipped bit in the body, in the header and in the signature.
  std::string body_tampered = testutil::TamperBody(wire);
  EXPECT_EQ(DecodeVerified(body_tampered, signer.public_key).error().code(),
            ErrorCode::kBadSignature);
  std::string header_tampered = wire;
  auto pos = header_tampered.find("biz-node");
  ASSERT_NE(pos, std::string::npos);
  header_tampered[pos] = 'B';
  EXPECT_EQ(DecodeVerified(header_tampered, signer.public_key).error().code(),
            ErrorCode::kBadSignature);
  std::string sig_tampered = wire;
  sig_tampered[wire.size() - 5] ^= 0x40;
  EXPECT_EQ(DecodeVerified(sig_tampered, signer.public_key).error().code(),
            ErrorCode::kBadSignature);
}

// req: HI-02
TEST(FeedMessage, AnotherKeyIsRefused) {
  FeedSigner trusted = SoftSigner();
  FeedSigner other = SoftSigner();
  std::string wire = Sign(Sample(), other);
  EXPECT_EQ(DecodeVerified(wire, trusted.public_key).error().code(), ErrorCode::kUnauthenticated);
  // Claiming the trusted key id while signing with another key: the signature fails.
  FeedSigner impostor = other;
  impostor.public_key = trusted.public_key;
  EXPECT_EQ(DecodeVerified(Sign(Sample(), impostor), trusted.public_key).error().code(),
            ErrorCode::kBadSignature);
}

// req: HI-02
TEST(FeedMessage, MalformedAndOversizedAreRefused) {
  FeedSigner signer = SoftSigner();
  std::string wire = Sign(Sample(), signer);
  EXPECT_EQ(DecodeVerified("", signer.public_key).error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(DecodeVerified("GMVX" + wire.substr(4), signer.public_key).error().code(),
            ErrorCode::kMalformedInput);
  EXPECT_EQ(DecodeVerified(wire.substr(0, wire.size() - 1), signer.public_key).error().code(),
            ErrorCode::kMalformedInput);
  EXPECT_EQ(DecodeVerified(wire + "x", signer.public_key).error().code(),
            ErrorCode::kMalformedInput);
  EXPECT_EQ(DecodeVerified(wire.substr(0, 40), signer.public_key).error().code(),
            ErrorCode::kMalformedInput);
  EXPECT_EQ(DecodeVerified(wire, signer.public_key, /*max_records=*/5).error().code(),
            ErrorCode::kTooLarge);
  EXPECT_TRUE(DecodeVerified(wire, signer.public_key, /*max_records=*/6).ok());
}

// req: HI-02
TEST(FeedMessage, EncoderRefusesWhatItCannotCarry) {
  FeedSigner signer = SoftSigner();
  for (const char* serial :
       {"0ABC", "abc", "", "XYZ", "123456789012345678901234567890123456789012"}) {
    FeedMessage m = testutil::Delta(0, 1, {Good("biz", serial)});
    EXPECT_EQ(EncodeSigned(m, signer).error().code(), ErrorCode::kInvalidArgument) << serial;
  }
  FeedMessage bad_reason = testutil::Delta(0, 1, {Revoked("biz", "1", 11)});
  EXPECT_EQ(EncodeSigned(bad_reason, signer).error().code(), ErrorCode::kInvalidArgument);
  FeedMessage no_ca = testutil::Delta(0, 1, {Good("", "1")});
  EXPECT_EQ(EncodeSigned(no_ca, signer).error().code(), ErrorCode::kInvalidArgument);
}

// req: HI-02
TEST(FeedMessage, TrustedKeyFromPublicKeyPem) {
  FeedSigner signer = SoftSigner();
  std::string pem = x509::PemEncode("PUBLIC KEY", signer.public_key.ToSpkiDer());
  auto key = ParseTrustedFeedKey(pem);
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_TRUE(*key == signer.public_key);
  EXPECT_EQ(ParseTrustedFeedKey("not pem").error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace gmpki::va_feed
