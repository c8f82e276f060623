// SM3 hash (GB/T 32905-2016 / GM/T 0004-2012), HMAC-SM3 (RFC 2104 with SM3) and the
// GB/T 32918.4 key derivation function.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "base/bytes.h"

namespace gmpki::crypto {

inline constexpr std::size_t kSm3DigestSize = 32;
using Sm3Digest = std::array<std::uint8_t, kSm3DigestSize>;

Sm3Digest Sm3(ByteView data);

// Incremental SM3. Not thread-safe; one instance per stream.
class Sm3Hasher {
 public:
  Sm3Hasher();
  ~Sm3Hasher();
  Sm3Hasher(Sm3Hasher&&) noexcept;
  Sm3Hasher& operator=(Sm3Hasher&&) noexcept;
  void Update(ByteView data);
  // Returns the digest and resets the hasher for reuse.
  Sm3Digest Final();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

Sm3Digest HmacSm3(ByteView key, ByteView data);

// KDF of GB/T 32918.4-2016 section 5.4.3: K = Hash(Z || ct1) || Hash(Z || ct2) || ...,
// truncated to `length` bytes, with a 32-bit big-endian counter starting at 1.
SecretBytes Sm3Kdf(ByteView z, std::size_t length);

}  // namespace gmpki::crypto
