// The PERSISTENT encodings: record canonical bytes and the tree head's to-be-signed bytes.
#include <gtest/gtest.h>

#include "services/evidence/record.h"
#include "services/evidence/tree_head.h"

namespace gmpki::evidence {
namespace {

EvidenceRecord Sample() {
  EvidenceRecord r;
  r.kind = Kind::kTimestamp;
  r.actor = "client-7";
  r.application = "tsa";
  r.object = "sm3:00ff";
  r.decision = "granted";
  r.outcome = Outcome::kSuccess;
  r.details = "{\"serial\":42}";
  r.time = FromMillis(1767225600123);
  return r;
}

// req: AS-06
TEST(EvidenceRecord, CanonicalBytesAreTheDocumentedLayoutAndRoundTrip) {
  const EvidenceRecord r = Sample();
  const Bytes enc = EncodeRecord(r);
  std::string expected = "gmpki-evidence-record-v1";
  expected += '\x06';                                            // kind timestamp
  expected += std::string("\x00\x00\x01\x9b\x76\xda\xa8\x7b", 8);  // 1767225600123 ms
  expected += '\x01';                                            // outcome success
  for (const std::string& f : {r.actor, r.application, r.object, r.decision, r.details}) {
    expected += std::string("\x00\x00\x00", 3) + static_cast<char>(f.size()) + f;
  }
  EXPECT_EQ(HexEncode(enc), HexEncode(AsBytes(expected)));
  auto back = DecodeRecord(enc);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(*back, r);
}

// req: AS-06
TEST(EvidenceRecord, DecodeRejectsAnythingButOneExactEncoding) {
  Bytes enc = EncodeRecord(Sample());
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_EQ(DecodeRecord(trailing).error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(DecodeRecord(ByteView(enc).first(enc.size() - 1)).error().code(),
            ErrorCode::kMalformedInput);
  Bytes bad_kind = enc;
  bad_kind[24] = 99;
  EXPECT_EQ(DecodeRecord(bad_kind).error().code(), ErrorCode::kMalformedInput);
  Bytes bad_domain = enc;
  bad_domain[0] = 'G';
  EXPECT_EQ(DecodeRecord(bad_domain).error().code(), ErrorCode::kMalformedInput);
}

// req: AS-06
TEST(EvidenceRecord, ValidationNamesTheField) {
  EvidenceRecord r = Sample();
  EXPECT_TRUE(ValidateRecord(r));
  r.actor.clear();
  EXPECT_EQ(ValidateRecord(r).error().code(), ErrorCode::kInvalidArgument);
  r = Sample();
  r.decision.clear();
  EXPECT_EQ(ValidateRecord(r).error().code(), ErrorCode::kInvalidArgument);
  r = Sample();
  r.details = "{not json";
  EXPECT_EQ(ValidateRecord(r).error().code(), ErrorCode::kInvalidArgument);
  r = Sample();
  r.object.assign(kMaxObjectField + 1, 'x');
  EXPECT_EQ(ValidateRecord(r).error().code(), ErrorCode::kTooLarge);
  r = Sample();
  r.kind = static_cast<Kind>(0);
  EXPECT_EQ(ValidateRecord(r).error().code(), ErrorCode::kInvalidArgument);
  for (Kind k : {Kind::kSign, Kind::kVerify, Kind::kSeal, Kind::kAuth, Kind::kKeyUse,
                 Kind::kTimestamp}) {
    EXPECT_EQ(ParseKind(KindName(k)), k);
  }
  EXPECT_EQ(KindName(Kind::kKeyUse), "key-use");
  EXPECT_FALSE(ParseKind("keyuse"));
}

// req: CC-FCO
TEST(EvidenceTreeHead, ToBeSignedBytesAreRfc9162TreeHeadDataV2) {
  SignedTreeHead sth;
  sth.timestamp_ms = 0x0102030405060708;
  sth.tree_size = 0x1112131415161718;
  for (std::size_t i = 0; i < kNodeHashSize; ++i) sth.root_hash[i] = static_cast<std::uint8_t>(i);
  const Bytes tbs = TreeHeadTbs(sth);
  ASSERT_EQ(tbs.size(), 51u);
  EXPECT_EQ(HexEncode(tbs),
            "0102030405060708"
            "1112131415161718"
            "20"
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            "0000");
  auto back = TreeHeadFromJson(TreeHeadToJson(sth));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, sth);
  EXPECT_EQ(TreeHeadFromJson("{\"tree_size\":-1}").error().code(), ErrorCode::kMalformedInput);
}

// req: CC-FCO
TEST(EvidenceBundle, ParseRejectsWhatIsNotABundle) {
  EXPECT_EQ(ParseBundle("[]").error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(ParseBundle("{\"format\":\"other\"}").error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(ParseBundle("not json").error().code(), ErrorCode::kMalformedInput);
}

}  // namespace
}  // namespace gmpki::evidence
