#include "crypto/der_internal.h"

namespace gmpki::crypto::internal {

void AppendTlv(Bytes& out, std::uint8_t tag, ByteView content) {
  out.push_back(tag);
  const std::size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else {
    std::uint8_t len_bytes[sizeof(std::size_t)];
    int count = 0;
    for (std::size_t v = n; v != 0; v >>= 8) len_bytes[count++] = static_cast<std::uint8_t>(v);
    out.push_back(static_cast<std::uint8_t>(0x80 | count));
    while (count > 0) out.push_back(len_bytes[--count]);
  }
  out.insert(out.end(), content.begin(), content.end());
}

void AppendUnsignedInteger(Bytes& out, ByteView magnitude) {
  std::size_t skip = 0;
  while (skip < magnitude.size() && magnitude[skip] == 0) ++skip;
  Bytes content;
  content.reserve(magnitude.size() - skip + 1);
  // X.690 8.3.2: the encoding of zero is one 00 octet; a set high bit needs a 00 sign octet.
  if (skip == magnitude.size() || (magnitude[skip] & 0x80) != 0) content.push_back(0);
  content.insert(content.end(), magnitude.begin() + static_cast<std::ptrdiff_t>(skip),
                 magnitude.end());
  AppendTlv(out, kTagInteger, content);
}

Result<ByteView> DerReader::Read(std::uint8_t tag) {
  const std::size_t avail = data_.size() - pos_;
  if (avail < 2) return Error(ErrorCode::kMalformedInput, "DER: truncated element");
  if (data_[pos_] != tag) return Error(ErrorCode::kMalformedInput, "DER: unexpected tag");
  std::size_t p = pos_ + 1;
  std::size_t len = data_[p++];
  if (len & 0x80) {
    const std::size_t count = len & 0x7f;
    // Indefinite length (0x80) is BER only; more than 4 length octets is never needed here.
    if (count == 0 || count > 4) return Error(ErrorCode::kMalformedInput, "DER: bad length");
    if (data_.size() - p < count) return Error(ErrorCode::kMalformedInput, "DER: truncated length");
    if (data_[p] == 0) return Error(ErrorCode::kMalformedInput, "DER: non-minimal length");
    len = 0;
    for (std::size_t i = 0; i < count; ++i) len = (len << 8) | data_[p++];
    // X.690 10.1: the short form must be used for lengths below 128.
    if (len < 0x80) return Error(ErrorCode::kMalformedInput, "DER: non-minimal length");
  }
  if (data_.size() - p < len) return Error(ErrorCode::kMalformedInput, "DER: truncated contents");
  pos_ = p + len;
  return data_.subspan(p, len);
}

Result<ByteView> DerReader::ReadUnsignedInteger() {
  GMPKI_ASSIGN_OR_RETURN(ByteView v, Read(kTagInteger));
  if (v.empty()) return Error(ErrorCode::kMalformedInput, "DER: empty INTEGER");
  if (v[0] & 0x80) return Error(ErrorCode::kMalformedInput, "DER: negative INTEGER");
  if (v.size() > 1 && v[0] == 0 && (v[1] & 0x80) == 0) {
    return Error(ErrorCode::kMalformedInput, "DER: non-minimal INTEGER");
  }
  if (v.size() > 1 && v[0] == 0) v = v.subspan(1);
  return v;
}

}  // namespace gmpki::crypto::internal
