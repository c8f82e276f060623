// A small DER writer and a bounded DER reader (ITU-T X.690 section 10), enough for the X.509,
// CRL, CSR, CTL and PKCS#7 structures this component builds. Only low tag numbers (< 31) and
// definite lengths are supported; anything else is rejected as kMalformedInput by the reader.
//
// Writer functions return complete TLVs and never fail except where noted (bad OID text,
// characters outside a string type's alphabet). The reader never reads outside its input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/result.h"

namespace gmpki::x509::der {

// Universal tags (X.690 / X.680 section 8.4).
inline constexpr std::uint8_t kBoolean = 0x01;
inline constexpr std::uint8_t kInteger = 0x02;
inline constexpr std::uint8_t kBitString = 0x03;
inline constexpr std::uint8_t kOctetString = 0x04;
inline constexpr std::uint8_t kNull = 0x05;
inline constexpr std::uint8_t kOid = 0x06;
inline constexpr std::uint8_t kEnumerated = 0x0a;
inline constexpr std::uint8_t kUtf8String = 0x0c;
inline constexpr std::uint8_t kPrintableString = 0x13;
inline constexpr std::uint8_t kTeletexString = 0x14;
inline constexpr std::uint8_t kIa5String = 0x16;
inline constexpr std::uint8_t kUtcTime = 0x17;
inline constexpr std::uint8_t kGeneralizedTime = 0x18;
inline constexpr std::uint8_t kUniversalString = 0x1c;
inline constexpr std::uint8_t kBmpString = 0x1e;
inline constexpr std::uint8_t kSequence = 0x30;
inline constexpr std::uint8_t kSet = 0x31;

// [n] tags: context-specific, primitive or constructed.
inline constexpr std::uint8_t ContextPrimitive(int n) {
  return static_cast<std::uint8_t>(0x80 | n);
}
inline constexpr std::uint8_t ContextConstructed(int n) {
  return static_cast<std::uint8_t>(0xa0 | n);
}

// ---- Writer ----
Bytes Tlv(std::uint8_t tag, ByteView content);
// SEQUENCE { items... } with items already DER-encoded.
Bytes Sequence(const std::vector<Bytes>& items);
// SET OF: X.690 section 11.6 requires the encodings sorted; this sorts them.
Bytes SetOf(std::vector<Bytes> items);
// INTEGER from an unsigned big-endian magnitude: strips redundant leading zeros and adds a
// 0x00 when the top bit is set, so the value is always non-negative. Empty input encodes 0.
Bytes IntegerFromUnsigned(ByteView magnitude);
Bytes Integer(std::int64_t value);
Bytes Enumerated(std::int64_t value);
// OBJECT IDENTIFIER from dotted text ("1.2.156.10197.1.501"); kInvalidArgument if malformed.
Result<Bytes> Oid(std::string_view dotted);
// For OIDs fixed in code; aborts on a malformed literal (a programming error).
Bytes OidLiteral(std::string_view dotted);
Bytes BitString(ByteView bits, std::uint8_t unused_bits = 0);
// A named-bit BIT STRING (X.690 section 11.2.2: trailing zero bits removed). Bit i of `bits`
// is the ASN.1 bit number i (bit 0 = digitalSignature in KeyUsage).
Bytes NamedBitString(std::uint32_t bits);
Bytes OctetString(ByteView content);
Bytes Null();
Bytes Boolean(bool v);
// RFC 5280 section 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; seconds
// precision, "Z". kInvalidArgument before year 1950 or after 9999.
Result<Bytes> Time(TimePoint t);
Result<Bytes> GeneralizedTime(TimePoint t);
Bytes Utf8String(std::string_view s);
// kInvalidArgument if `s` has characters outside the PrintableString / IA5String alphabet.
Result<Bytes> PrintableString(std::string_view s);
Result<Bytes> Ia5String(std::string_view s);
bool IsPrintableString(std::string_view s);
// [n] EXPLICIT: wraps a complete TLV.
Bytes Explicit(int n, ByteView inner_tlv);
// [n] IMPLICIT: replaces the tag of `inner_tlv` by [n], keeping the constructed bit.
Bytes Implicit(int n, ByteView inner_tlv);

// ---- Reader ----
struct Element {
  std::uint8_t tag = 0;
  ByteView content;  // the value octets
  ByteView whole;    // tag, length and value as they appeared in the input
};

// Reads consecutive TLVs from a buffer. Lengths must be minimal (DER) and within the input.
class Reader {
 public:
  explicit Reader(ByteView input) : in_(input) {}
  bool empty() const { return pos_ >= in_.size(); }
  // Tag of the next element without consuming it; nullopt at the end.
  std::optional<std::uint8_t> PeekTag() const;
  Result<Element> Next();
  // Next element, which must have `tag`.
  Result<Element> Expect(std::uint8_t tag);
  // Consumes the next element only if it has `tag`.
  Result<std::optional<Element>> Optional(std::uint8_t tag);
  // kMalformedInput unless everything has been consumed.
  Status ExpectEnd() const;

 private:
  ByteView in_;
  std::size_t pos_ = 0;
};

// Parses one element that must span all of `input` (no trailing data).
Result<Element> ParseSingle(ByteView input);
// Dotted text of OID content octets.
Result<std::string> OidToString(ByteView content);
// Unsigned magnitude of a non-negative INTEGER (leading 0x00 removed; zero gives {0x00});
// kMalformedInput for negative or non-minimal encodings.
Result<Bytes> ParseUnsignedInteger(const Element& e);
// INTEGER that fits int64.
Result<std::int64_t> ParseSmallInteger(const Element& e);
Result<bool> ParseBoolean(const Element& e);
// UTCTime or GeneralizedTime in the RFC 5280 form YYMMDDHHMMSSZ / YYYYMMDDHHMMSSZ.
Result<TimePoint> ParseTime(const Element& e);
// BIT STRING contents without the unused-bits octet; `unused` receives that count.
Result<ByteView> ParseBitString(const Element& e, std::uint8_t* unused = nullptr);
// Bits of a named-bit BIT STRING as a mask (bit i = ASN.1 bit i); at most 32 bits.
Result<std::uint32_t> ParseNamedBitString(const Element& e);
// Text of UTF8String, PrintableString, IA5String, TeletexString (as Latin-1 bytes),
// BMPString and UniversalString (converted to UTF-8).
Result<std::string> ParseString(const Element& e);

}  // namespace gmpki::x509::der
