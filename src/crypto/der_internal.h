// Internal to src/crypto: the few DER (ITU-T X.690) shapes SM2 needs: SM2Signature, the GM/T 0009
// SM2Cipher and a SubjectPublicKeyInfo. Strict DER: definite, minimal lengths; INTEGERs minimal
// and non-negative; no trailing bytes. Bounded: every read checks the remaining input.
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "base/result.h"

namespace gmpki::crypto::internal {

inline constexpr std::uint8_t kTagInteger = 0x02;
inline constexpr std::uint8_t kTagBitString = 0x03;
inline constexpr std::uint8_t kTagOctetString = 0x04;
inline constexpr std::uint8_t kTagOid = 0x06;
inline constexpr std::uint8_t kTagSequence = 0x30;

void AppendTlv(Bytes& out, std::uint8_t tag, ByteView content);
// INTEGER from an unsigned big-endian magnitude (leading zeros stripped, 00 added if needed).
void AppendUnsignedInteger(Bytes& out, ByteView magnitude);

class DerReader {
 public:
  explicit DerReader(ByteView data) : data_(data) {}
  // Reads one element with exactly this (single-byte) tag and returns its contents.
  Result<ByteView> Read(std::uint8_t tag);
  // Reads an INTEGER and returns its magnitude without the sign byte; rejects negatives and
  // non-minimal encodings.
  Result<ByteView> ReadUnsignedInteger();
  bool empty() const { return pos_ == data_.size(); }

 private:
  ByteView data_;
  std::size_t pos_ = 0;
};

}  // namespace gmpki::crypto::internal
