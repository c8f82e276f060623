// Byte strings: Bytes (plain), ByteView (borrowed), SecretBytes (move-only, zeroised, unprintable).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace gmpki {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string ToString(ByteView b) { return std::string(b.begin(), b.end()); }

// Zeroises memory in a way the optimiser must not remove.
void SecureZero(void* p, std::size_t n);

// Constant-time equality for MACs, PINs, tokens. Returns false when sizes differ
// (sizes are not secret).
bool ConstantTimeEqual(ByteView a, ByteView b);

std::string HexEncode(ByteView b, bool upper = false);
// Accepts upper or lower case; rejects odd length and non-hex characters.
Result<Bytes> HexDecode(std::string_view hex);

std::string Base64Encode(ByteView b);
// Accepts standard alphabet with padding; ignores ASCII whitespace.
Result<Bytes> Base64Decode(std::string_view text);

// Key material and other secrets. Move-only; the buffer is zeroised on destruction and on
// move-from. It has no operator<< and no formatter, so it cannot reach a log by accident.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t n) : data_(n, 0) {}
  explicit SecretBytes(ByteView b) : data_(b.begin(), b.end()) {}
  // Takes ownership and zeroises the source vector.
  static SecretBytes Adopt(Bytes& b);
  ~SecretBytes() { Wipe(); }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& o) noexcept : data_(std::move(o.data_)) { o.data_.clear(); }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      Wipe();
      data_ = std::move(o.data_);
      o.data_.clear();
    }
    return *this;
  }
  // An explicit copy, for the rare places that must keep two.
  SecretBytes Clone() const { return SecretBytes(view()); }

  std::uint8_t* data() { return data_.data(); }
  const std::uint8_t* data() const { return data_.data(); }
  std::size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  ByteView view() const { return ByteView(data_.data(), data_.size()); }
  std::uint8_t& operator[](std::size_t i) { return data_[i]; }
  std::uint8_t operator[](std::size_t i) const { return data_[i]; }
  void Wipe() {
    if (!data_.empty()) SecureZero(data_.data(), data_.size());
  }

 private:
  std::vector<std::uint8_t> data_;
};

}  // namespace gmpki
