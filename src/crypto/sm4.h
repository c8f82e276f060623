// SM4 block cipher (GB/T 32907-2016) and its modes: ECB, CBC, CTR, GCM.
// All functions validate sizes and return kInvalidArgument on a wrong key/IV length.
#pragma once

#include <array>
#include <cstdint>

#include "base/bytes.h"

namespace gmpki::crypto {

inline constexpr std::size_t kSm4KeySize = 16;
inline constexpr std::size_t kSm4BlockSize = 16;
inline constexpr std::size_t kSm4GcmTagSize = 16;
inline constexpr std::size_t kSm4GcmIvSize = 12;

// ECB without padding: `data.size()` must be a multiple of 16.
Result<Bytes> Sm4EcbEncrypt(ByteView key, ByteView data);
Result<Bytes> Sm4EcbDecrypt(ByteView key, ByteView data);

// CBC; with `pad` the PKCS#7 padding is added/removed, without it the data must be a
// multiple of 16. A bad padding on decrypt returns kBadSignature-free kMalformedInput.
Result<Bytes> Sm4CbcEncrypt(ByteView key, ByteView iv, ByteView data, bool pad = true);
Result<Bytes> Sm4CbcDecrypt(ByteView key, ByteView iv, ByteView data, bool pad = true);

// CTR with a 128-bit big-endian counter block `iv` (as in OpenSSL's sm4-ctr).
Result<Bytes> Sm4Ctr(ByteView key, ByteView iv, ByteView data);

// GCM (NIST SP 800-38D over the SM4 block; RFC 8998 section 3.1). Seal returns
// ciphertext || 16-byte tag. Open verifies the tag in constant time before releasing any
// plaintext and returns kBadSignature when it does not match. Any IV length >= 1 is accepted;
// 12 bytes is the recommended size.
Result<Bytes> Sm4GcmSeal(ByteView key, ByteView iv, ByteView aad, ByteView plaintext);
Result<Bytes> Sm4GcmOpen(ByteView key, ByteView iv, ByteView aad, ByteView ciphertext_and_tag);

}  // namespace gmpki::crypto
