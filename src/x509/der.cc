#include "x509/der.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>

namespace gmpki::x509::der {
namespace {

void AppendLength(Bytes& out, std::size_t n) {
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
    return;
  }
  std::uint8_t tmp[sizeof(std::size_t)];
  int k = 0;
  while (n > 0) {
    tmp[k++] = static_cast<std::uint8_t>(n & 0xff);
    n >>= 8;
  }
  out.push_back(static_cast<std::uint8_t>(0x80 | k));
  while (k > 0) out.push_back(tmp[--k]);
}

Error Malformed(std::string what) { return Error(ErrorCode::kMalformedInput, "DER: " + what); }

// Civil-from-days and days-from-civil (proleptic Gregorian), so times never depend on the
// process time zone.
std::int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  int year;
  unsigned month, day, hour, minute, second;
};

Civil ToCivil(TimePoint t) {
  std::int64_t secs = ToUnixSeconds(t);
  std::int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  std::int64_t rem = secs - days * 86400;
  std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  Civil c;
  c.day = doy - (153 * mp + 2) / 5 + 1;
  c.month = mp < 10 ? mp + 3 : mp - 9;
  c.year = static_cast<int>(yoe + era * 400 + (c.month <= 2));
  c.hour = static_cast<unsigned>(rem / 3600);
  c.minute = static_cast<unsigned>(rem % 3600 / 60);
  c.second = static_cast<unsigned>(rem % 60);
  return c;
}

Result<Bytes> EncodeTime(TimePoint t, bool generalized) {
  Civil c = ToCivil(t);
  if (c.year < 1950 || c.year > 9999) {
    return Error(ErrorCode::kInvalidArgument, "time outside 1950..9999");
  }
  char buf[32];
  if (generalized) {
    std::snprintf(buf, sizeof buf, "%04d%02u%02u%02u%02u%02uZ", c.year, c.month, c.day, c.hour,
                  c.minute, c.second);
  } else {
    std::snprintf(buf, sizeof buf, "%02d%02u%02u%02u%02u%02uZ", c.year % 100, c.month, c.day,
                  c.hour, c.minute, c.second);
  }
  return Tlv(generalized ? kGeneralizedTime : kUtcTime, AsBytes(buf));
}

void AppendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

}  // namespace

Bytes Tlv(std::uint8_t tag, ByteView content) {
  Bytes out;
  out.reserve(content.size() + 6);
  out.push_back(tag);
  AppendLength(out, content.size());
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

Bytes Sequence(const std::vector<Bytes>& items) {
  Bytes content;
  for (const auto& i : items) content.insert(content.end(), i.begin(), i.end());
  return Tlv(kSequence, content);
}

Bytes SetOf(std::vector<Bytes> items) {
  std::sort(items.begin(), items.end());
  Bytes content;
  for (const auto& i : items) content.insert(content.end(), i.begin(), i.end());
  return Tlv(kSet, content);
}

Bytes IntegerFromUnsigned(ByteView magnitude) {
  std::size_t i = 0;
  while (i < magnitude.size() && magnitude[i] == 0) ++i;
  Bytes content;
  if (i == magnitude.size() || (magnitude[i] & 0x80)) content.push_back(0);
  content.insert(content.end(), magnitude.begin() + static_cast<std::ptrdiff_t>(i),
                 magnitude.end());
  return Tlv(kInteger, content);
}

static Bytes SignedIntegerContent(std::int64_t v) {
  Bytes b;
  for (int i = 7; i >= 0; --i) b.push_back(static_cast<std::uint8_t>((v >> (8 * i)) & 0xff));
  // Minimal two's complement: drop a leading byte while it only repeats the sign.
  std::size_t s = 0;
  while (s + 1 < b.size() && ((b[s] == 0x00 && !(b[s + 1] & 0x80)) ||
                              (b[s] == 0xff && (b[s + 1] & 0x80)))) {
    ++s;
  }
  return Bytes(b.begin() + static_cast<std::ptrdiff_t>(s), b.end());
}

Bytes Integer(std::int64_t value) { return Tlv(kInteger, SignedIntegerContent(value)); }
Bytes Enumerated(std::int64_t value) { return Tlv(kEnumerated, SignedIntegerContent(value)); }

Result<Bytes> Oid(std::string_view dotted) {
  std::vector<std::uint64_t> arcs;
  std::size_t pos = 0;
  while (true) {
    std::size_t dot = dotted.find('.', pos);
    std::string_view part = dotted.substr(pos, dot == std::string_view::npos ? dotted.npos
                                                                             : dot - pos);
    if (part.empty() || part.size() > 18 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        (part.size() > 1 && part[0] == '0')) {
      return Error(ErrorCode::kInvalidArgument, "malformed OID: " + std::string(dotted));
    }
    arcs.push_back(std::strtoull(std::string(part).c_str(), nullptr, 10));
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  if (arcs.size() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39)) {
    return Error(ErrorCode::kInvalidArgument, "malformed OID: " + std::string(dotted));
  }
  Bytes content;
  auto put = [&content](std::uint64_t v) {
    std::uint8_t tmp[10];
    int k = 0;
    do {
      tmp[k++] = static_cast<std::uint8_t>(v & 0x7f);
      v >>= 7;
    } while (v > 0);
    while (k > 1) content.push_back(static_cast<std::uint8_t>(tmp[--k] | 0x80));
    content.push_back(tmp[0]);
  };
  put(arcs[0] * 40 + arcs[1]);
  for (std::size_t i = 2; i < arcs.size(); ++i) put(arcs[i]);
  return Tlv(kOid, content);
}

Bytes OidLiteral(std::string_view dotted) {
  auto r = Oid(dotted);
  if (!r) std::abort();  // a malformed OID literal in our own code
  return std::move(r).value();
}

Bytes BitString(ByteView bits, std::uint8_t unused_bits) {
  Bytes content;
  content.push_back(unused_bits);
  content.insert(content.end(), bits.begin(), bits.end());
  return Tlv(kBitString, content);
}

Bytes NamedBitString(std::uint32_t bits) {
  if (bits == 0) return BitString({}, 0);
  int highest = 31;
  while (!(bits & (1u << highest))) --highest;
  const std::size_t nbytes = static_cast<std::size_t>(highest / 8 + 1);
  Bytes b(nbytes, 0);
  for (int i = 0; i <= highest; ++i) {
    if (bits & (1u << i)) {
      b[static_cast<std::size_t>(i / 8)] |= static_cast<std::uint8_t>(0x80 >> (i % 8));
    }
  }
  return BitString(b, static_cast<std::uint8_t>(7 - highest % 8));
}

Bytes OctetString(ByteView content) { return Tlv(kOctetString, content); }
Bytes Null() { return Bytes{kNull, 0x00}; }
Bytes Boolean(bool v) { return Bytes{kBoolean, 0x01, static_cast<std::uint8_t>(v ? 0xff : 0x00)}; }

Result<Bytes> Time(TimePoint t) {
  // RFC 5280 section 4.1.2.5: "CAs conforming to this profile MUST always encode certificate
  // validity dates through the year 2049 as UTCTime; certificate validity dates in 2050 or
  // later MUST be encoded as GeneralizedTime."
  return EncodeTime(t, ToCivil(t).year >= 2050);
}
Result<Bytes> GeneralizedTime(TimePoint t) { return EncodeTime(t, true); }

Bytes Utf8String(std::string_view s) { return Tlv(kUtf8String, AsBytes(s)); }

bool IsPrintableString(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view(" '()+,-./:=?").find(c) != std::string_view::npos;
  });
}

Result<Bytes> PrintableString(std::string_view s) {
  if (!IsPrintableString(s)) {
    return Error(ErrorCode::kInvalidArgument, "not a PrintableString: " + std::string(s));
  }
  return Tlv(kPrintableString, AsBytes(s));
}

Result<Bytes> Ia5String(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) > 0x7f) {
      return Error(ErrorCode::kInvalidArgument, "not an IA5String");
    }
  }
  return Tlv(kIa5String, AsBytes(s));
}

Bytes Explicit(int n, ByteView inner_tlv) { return Tlv(ContextConstructed(n), inner_tlv); }

Bytes Implicit(int n, ByteView inner_tlv) {
  Bytes out(inner_tlv.begin(), inner_tlv.end());
  if (!out.empty()) out[0] = static_cast<std::uint8_t>((out[0] & 0x20) | 0x80 | n);
  return out;
}

// ---- Reader ----

std::optional<std::uint8_t> Reader::PeekTag() const {
  if (empty()) return std::nullopt;
  return in_[pos_];
}

Result<Element> Reader::Next() {
  const std::size_t start = pos_;
  const std::size_t avail = in_.size() - pos_;
  if (avail < 2) return Malformed("truncated element");
  std::uint8_t tag = in_[pos_];
  if ((tag & 0x1f) == 0x1f) return Malformed("high tag numbers are not supported");
  std::size_t p = pos_ + 1;
  std::size_t len = in_[p++];
  if (len & 0x80) {
    std::size_t n = len & 0x7f;
    if (n == 0) return Malformed("indefinite length");
    if (n > 4) return Malformed("length too large");
    if (in_.size() - p < n) return Malformed("truncated length");
    if (in_[p] == 0) return Malformed("non-minimal length");
    len = 0;
    for (std::size_t i = 0; i < n; ++i) len = (len << 8) | in_[p++];
    if (len < 0x80) return Malformed("non-minimal length");
  }
  if (in_.size() - p < len) return Malformed("truncated content");
  Element e;
  e.tag = tag;
  e.content = in_.subspan(p, len);
  e.whole = in_.subspan(start, p + len - start);
  pos_ = p + len;
  return e;
}

Result<Element> Reader::Expect(std::uint8_t tag) {
  if (empty()) return Malformed("missing element");
  if (in_[pos_] != tag) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "expected tag 0x%02x, found 0x%02x", tag, in_[pos_]);
    return Malformed(buf);
  }
  return Next();
}

Result<std::optional<Element>> Reader::Optional(std::uint8_t tag) {
  if (empty() || in_[pos_] != tag) return std::optional<Element>();
  GMPKI_ASSIGN_OR_RETURN(Element e, Next());
  return std::optional<Element>(e);
}

Status Reader::ExpectEnd() const {
  if (!empty()) return Malformed("unexpected trailing data");
  return OkStatus();
}

Result<Element> ParseSingle(ByteView input) {
  Reader r(input);
  GMPKI_ASSIGN_OR_RETURN(Element e, r.Next());
  GMPKI_RETURN_IF_ERROR(r.ExpectEnd());
  return e;
}

Result<std::string> OidToString(ByteView c) {
  if (c.empty() || (c.back() & 0x80)) return Malformed("bad OID");
  std::string out;
  std::uint64_t v = 0;
  bool first = true;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (v == 0 && c[i] == 0x80) return Malformed("non-minimal OID arc");
    if (v > (UINT64_MAX >> 7)) return Malformed("OID arc too large");
    v = (v << 7) | (c[i] & 0x7f);
    if (c[i] & 0x80) continue;
    if (first) {
      std::uint64_t a = v < 80 ? v / 40 : 2;
      out = std::to_string(a) + "." + std::to_string(v - a * 40);
      first = false;
    } else {
      out += "." + std::to_string(v);
    }
    v = 0;
  }
  return out;
}

Result<Bytes> ParseUnsignedInteger(const Element& e) {
  if (e.tag != kInteger && e.tag != kEnumerated) return Malformed("expected INTEGER");
  ByteView c = e.content;
  if (c.empty()) return Malformed("empty INTEGER");
  if (c.size() > 1 && ((c[0] == 0 && !(c[1] & 0x80)) || (c[0] == 0xff && (c[1] & 0x80)))) {
    return Malformed("non-minimal INTEGER");
  }
  if (c[0] & 0x80) return Malformed("negative INTEGER");
  if (c.size() > 1 && c[0] == 0) c = c.subspan(1);
  return Bytes(c.begin(), c.end());
}

Result<std::int64_t> ParseSmallInteger(const Element& e) {
  if (e.tag != kInteger && e.tag != kEnumerated) return Malformed("expected INTEGER");
  ByteView c = e.content;
  if (c.empty() || c.size() > 8) return Malformed("INTEGER out of range");
  if (c.size() > 1 && ((c[0] == 0 && !(c[1] & 0x80)) || (c[0] == 0xff && (c[1] & 0x80)))) {
    return Malformed("non-minimal INTEGER");
  }
  std::uint64_t v = (c[0] & 0x80) ? ~std::uint64_t{0} : 0;
  for (std::uint8_t b : c) v = (v << 8) | b;
  return static_cast<std::int64_t>(v);
}

Result<bool> ParseBoolean(const Element& e) {
  if (e.tag != kBoolean || e.content.size() != 1) return Malformed("bad BOOLEAN");
  if (e.content[0] == 0xff) return true;
  if (e.content[0] == 0x00) return false;
  return Malformed("BOOLEAN not DER");
}

Result<TimePoint> ParseTime(const Element& e) {
  std::string s(e.content.begin(), e.content.end());
  std::size_t ylen;
  if (e.tag == kUtcTime) {
    ylen = 2;
  } else if (e.tag == kGeneralizedTime) {
    ylen = 4;
  } else {
    return Malformed("expected UTCTime or GeneralizedTime");
  }
  if (s.size() != ylen + 11 || s.back() != 'Z' ||
      !std::all_of(s.begin(), s.end() - 1, [](char c) { return c >= '0' && c <= '9'; })) {
    return Malformed("time not in YY(YY)MMDDHHMMSSZ form: " + s);
  }
  auto num = [&s](std::size_t off, std::size_t n) { return std::stoi(s.substr(off, n)); };
  int year = num(0, ylen);
  if (ylen == 2) year += year >= 50 ? 1900 : 2000;  // RFC 5280 section 4.1.2.5.1
  int mon = num(ylen, 2), day = num(ylen + 2, 2), hour = num(ylen + 4, 2),
      min = num(ylen + 6, 2), sec = num(ylen + 8, 2);
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59) {
    return Malformed("time field out of range: " + s);
  }
  // TimePoint counts nanoseconds in 64 bits: years 1678..2261 only. A later time (RFC 5280
  // §4.1.2.5: 99991231235959Z means "no well-defined expiration") saturates to the latest
  // representable instant, an earlier one to the earliest, instead of overflowing.
  if (year > 2261) return TimePoint::max();
  if (year < 1678) return TimePoint::min();
  std::int64_t days = DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day));
  return FromUnixSeconds(days * 86400 + hour * 3600 + min * 60 + sec);
}

Result<ByteView> ParseBitString(const Element& e, std::uint8_t* unused) {
  if (e.tag != kBitString || e.content.empty() || e.content[0] > 7 ||
      (e.content.size() == 1 && e.content[0] != 0)) {
    return Malformed("bad BIT STRING");
  }
  if (unused) *unused = e.content[0];
  return e.content.subspan(1);
}

Result<std::uint32_t> ParseNamedBitString(const Element& e) {
  GMPKI_ASSIGN_OR_RETURN(ByteView b, ParseBitString(e));
  if (b.size() > 4) return Malformed("named BIT STRING too long");
  std::uint32_t bits = 0;
  for (std::size_t i = 0; i < b.size() * 8; ++i) {
    if (b[i / 8] & (0x80 >> (i % 8))) bits |= 1u << i;
  }
  return bits;
}

Result<std::string> ParseString(const Element& e) {
  switch (e.tag) {
    case kUtf8String:
    case kPrintableString:
    case kIa5String:
    case kTeletexString:
      return std::string(e.content.begin(), e.content.end());
    case kBmpString: {
      if (e.content.size() % 2) return Malformed("odd BMPString");
      std::string out;
      for (std::size_t i = 0; i < e.content.size(); i += 2) {
        AppendUtf8(out, static_cast<std::uint32_t>(e.content[i] << 8 | e.content[i + 1]));
      }
      return out;
    }
    case kUniversalString: {
      if (e.content.size() % 4) return Malformed("bad UniversalString");
      std::string out;
      for (std::size_t i = 0; i < e.content.size(); i += 4) {
        std::uint32_t cp = static_cast<std::uint32_t>(e.content[i]) << 24 |
                           static_cast<std::uint32_t>(e.content[i + 1]) << 16 |
                           static_cast<std::uint32_t>(e.content[i + 2]) << 8 | e.content[i + 3];
        if (cp > 0x10ffff) return Malformed("bad UniversalString");
        AppendUtf8(out, cp);
      }
      return out;
    }
    default:
      return Malformed("expected a string type");
  }
}

}  // namespace gmpki::x509::der
