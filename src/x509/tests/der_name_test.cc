#include <gtest/gtest.h>

#include "x509/der.h"
#include "x509/name.h"
#include "x509/tests/test_util.h"

namespace gmpki::x509 {
namespace {

using testing::Must;

// req: CA-04
TEST(Der, OidEncodingMatchesPublishedBytes) {
  // STANDARDS-NOTES section 1.1 (Kinsec MySMObjID.h): SM3WithSM2 = 06 08 2A 81 1C CF 55 01 83 75.
  EXPECT_EQ(HexEncode(Must(der::Oid("1.2.156.10197.1.501"))), "06082a811ccf55018375");
  EXPECT_EQ(HexEncode(Must(der::Oid("1.2.156.10197.1.301.1"))), "06092a811ccf5501822d01");
  EXPECT_EQ(Must(der::OidToString(ByteView(Must(der::Oid("2.5.29.19"))).subspan(2))),
            "2.5.29.19");
  EXPECT_FALSE(der::Oid("1..2").ok());
  EXPECT_FALSE(der::Oid("3.1").ok());
  EXPECT_FALSE(der::Oid("1.40").ok());
  EXPECT_FALSE(der::Oid("1.2.03").ok());
}

TEST(Der, IntegersAreMinimalAndPositive) {
  EXPECT_EQ(HexEncode(der::IntegerFromUnsigned(Bytes{0x00, 0x00, 0x7f})), "02017f");
  EXPECT_EQ(HexEncode(der::IntegerFromUnsigned(Bytes{0x80})), "02020080");
  EXPECT_EQ(HexEncode(der::IntegerFromUnsigned(Bytes{})), "020100");
  EXPECT_EQ(HexEncode(der::Integer(-129)), "0202ff7f");
  EXPECT_EQ(HexEncode(der::Integer(256)), "02020100");
  const Bytes minus_one = der::Integer(-1);  // the Element borrows from it
  der::Element e = Must(der::ParseSingle(minus_one));
  EXPECT_EQ(Must(der::ParseSmallInteger(e)), -1);
  EXPECT_FALSE(der::ParseUnsignedInteger(e).ok());  // negative
  EXPECT_FALSE(der::ParseSmallInteger(Must(der::ParseSingle(Bytes{0x02, 0x02, 0x00, 0x01}))).ok());
}

TEST(Der, NamedBitStringDropsTrailingZeros) {
  // keyUsage digitalSignature|nonRepudiation = bits 0,1 -> 03 02 06 c0 (X.690 section 11.2.2).
  EXPECT_EQ(HexEncode(der::NamedBitString(kDigitalSignature | kNonRepudiation)), "030206c0");
  // keyCertSign|cRLSign = bits 5,6 -> 03 02 01 06.
  EXPECT_EQ(HexEncode(der::NamedBitString(kKeyCertSign | kCrlSign)), "03020106");
  // decipherOnly = bit 8 -> two octets, 7 unused bits.
  EXPECT_EQ(HexEncode(der::NamedBitString(kDecipherOnly)), "0303070080");
  EXPECT_EQ(Must(der::ParseNamedBitString(Must(der::ParseSingle(der::NamedBitString(0x161))))),
            0x161u);
}

// req: CA-04
TEST(Der, TimeUsesUtcTimeThrough2049AndGeneralizedTimeFrom2050) {
  TimePoint end2049 = FromUnixSeconds(2524607999);  // 2049-12-31T23:59:59Z
  TimePoint start2050 = FromUnixSeconds(2524608000);
  EXPECT_EQ(ToString(Must(der::Time(end2049))), std::string("\x17\x0d") + "491231235959Z");
  EXPECT_EQ(ToString(Must(der::Time(start2050))), std::string("\x18\x0f") + "20500101000000Z");
  EXPECT_EQ(Must(der::ParseTime(Must(der::ParseSingle(Must(der::Time(end2049)))))), end2049);
  EXPECT_EQ(Must(der::ParseTime(Must(der::ParseSingle(Must(der::Time(start2050)))))), start2050);
  // 1950..1999 through UTCTime's century rule.
  TimePoint y1999 = FromUnixSeconds(946684799);
  EXPECT_EQ(Must(der::ParseTime(Must(der::ParseSingle(Must(der::Time(y1999)))))), y1999);
  EXPECT_FALSE(der::Time(FromUnixSeconds(-700000000)).ok());  // 1947
}

// RFC 5280 §4.1.2.5: 99991231235959Z ("no well-defined expiration") and other years outside
// what a TimePoint holds saturate instead of overflowing (UBSan found the overflow).
TEST(Der, TimesBeyondTimePointRangeSaturate) {
  auto parse = [](const std::string& content, std::uint8_t tag) {
    Bytes der{tag, static_cast<std::uint8_t>(content.size())};
    der.insert(der.end(), content.begin(), content.end());
    return der::ParseTime(Must(der::ParseSingle(der)));
  };
  EXPECT_EQ(Must(parse("99991231235959Z", 0x18)), TimePoint::max());
  EXPECT_EQ(Must(parse("22620101000000Z", 0x18)), TimePoint::max());
  EXPECT_EQ(Must(parse("00010101000000Z", 0x18)), TimePoint::min());
  EXPECT_EQ(Must(parse("22611231235959Z", 0x18)), FromUnixSeconds(9214646399));
}

TEST(Der, ReaderRejectsNonDerAndTruncation) {
  EXPECT_FALSE(der::ParseSingle(Bytes{0x30, 0x81, 0x01, 0x00}).ok());  // non-minimal length
  EXPECT_FALSE(der::ParseSingle(Bytes{0x30, 0x80, 0x00, 0x00}).ok());  // indefinite
  EXPECT_FALSE(der::ParseSingle(Bytes{0x30, 0x03, 0x01}).ok());        // truncated
  EXPECT_FALSE(der::ParseSingle(Bytes{0x05, 0x00, 0x00}).ok());        // trailing data
  EXPECT_FALSE(der::ParseSingle(Bytes{0x1f, 0x01, 0x00}).ok());        // high tag number
  EXPECT_TRUE(der::ParseSingle(Bytes{0x05, 0x00}).ok());
  EXPECT_FALSE(der::ParseBoolean(Must(der::ParseSingle(Bytes{0x01, 0x01, 0x01}))).ok());
}

TEST(Der, SetOfIsSorted) {
  Bytes s = der::SetOf({der::Integer(5), der::Integer(1), der::Integer(3)});
  EXPECT_EQ(HexEncode(s), "3109020101020103020105");
}

// req: CA-04
TEST(Name, ParseBuildsUtf8AndPrintableCountry) {
  Name n = Must(Name::Parse("C=CN,O=MOHRSS,CN=Zhang San"));
  ASSERT_EQ(n.attributes().size(), 3u);
  EXPECT_EQ(n.ToString(), "C=CN,O=MOHRSS,CN=Zhang San");
  EXPECT_EQ(n.ToRfc4514(), "CN=Zhang San,O=MOHRSS,C=CN");
  // C is PrintableString (0x13), O and CN are UTF8String (0x0c).
  const std::string hex = HexEncode(n.der());
  EXPECT_NE(hex.find("0603550406" "1302" "434e"), std::string::npos);
  EXPECT_NE(hex.find("060355040a" "0c06" "4d4f48525353"), std::string::npos);
  EXPECT_EQ(n.Get("CN"), "Zhang San");
  EXPECT_EQ(n.Get("2.5.4.10"), "MOHRSS");
  EXPECT_FALSE(n.Get("OU").has_value());
}

TEST(Name, DerRoundTripAndChinese) {
  Name n = Must(Name::FromAttributes({{"C", "CN"},
                                      {"ST", "北京"},
                                      {"L", "海淀区"},
                                      {"O", "人力资源和社会保障部"},
                                      {"OU", "信息中心"},
                                      {"CN", "张三"}}));
  Name back = Must(Name::FromDer(n.der()));
  EXPECT_EQ(back, n);
  EXPECT_EQ(back.attributes(), n.attributes());
  Name reparsed = Must(Name::Parse(n.ToString()));
  EXPECT_EQ(reparsed.der(), n.der());
}

TEST(Name, EscapingRoundTrips) {
  Name n = Must(Name::FromAttributes({{"O", "Acme, Inc. + Sons"}, {"CN", "a=b\\c"}}));
  EXPECT_EQ(n.ToString(), "O=Acme\\, Inc. \\+ Sons,CN=a\\=b\\\\c");
  EXPECT_EQ(Must(Name::Parse(n.ToString())).der(), n.der());
}

TEST(Name, RejectsBadInput) {
  EXPECT_EQ(Name::Parse("C=China").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Name::Parse("XX=1").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Name::Parse("CN=").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Name::Parse("CN").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Name::Parse("CN=a+OU=b").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Name::FromAttributes({{"SERIALNUMBER", "a*b"}}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Name::FromDer(Bytes{0x30, 0x02, 0x31, 0x00}).error().code(),
            ErrorCode::kMalformedInput);
  EXPECT_TRUE(Must(Name::Parse("")).empty());
  EXPECT_EQ(HexEncode(Name().der()), "3000");
}

TEST(Name, UnknownTypesByOid) {
  Name n = Must(Name::Parse("1.2.3.4=x, CN = y"));
  EXPECT_EQ(n.ToString(), "1.2.3.4=x,CN=y");
}

}  // namespace
}  // namespace gmpki::x509
