// SM4-GCM (NIST SP 800-38D; RFC 8998 section 3.1) over one of the constant-time SM4 paths
// (sm4_fast.h). The message is processed in chunks that stay in the L1 cache: each chunk is
// encrypted in CTR mode and then hashed, so the data is read from memory once.
#include <algorithm>
#include <cstring>

#include "crypto/sm4.h"
#include "crypto/sm4_fast.h"

namespace gmpki::crypto::internal {
namespace {

constexpr std::size_t kChunk = 4096;  // a multiple of 16

void StoreBe64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<std::uint8_t>(v);
    v >>= 8;
  }
}

// SP 800-38D 6.2: the increment is modulo 2^32 and leaves the left 96 bits alone. Without a
// branch: with an IV other than 96 bits, J0 = GHASH_H(IV ...) depends on H, which is secret.
void Inc32(std::uint8_t* block) {
  std::uint32_t c = (std::uint32_t{block[12]} << 24) | (std::uint32_t{block[13]} << 16) |
                    (std::uint32_t{block[14]} << 8) | block[15];
  ++c;
  block[12] = static_cast<std::uint8_t>(c >> 24);
  block[13] = static_cast<std::uint8_t>(c >> 16);
  block[14] = static_cast<std::uint8_t>(c >> 8);
  block[15] = static_cast<std::uint8_t>(c);
}

// The per-message state; everything in it is secret or derived from the key.
struct FastGcm {
  explicit FastGcm(const Sm4Ops& o) : ops(&o) {}
  const Sm4Ops* ops;
  Sm4RoundKeys rk;
  GhashKey hkey;
  std::uint8_t j0[16];
  std::uint8_t tag_mask[16];  // CIPH_K(J0)
  std::uint8_t y[16];         // the running GHASH value
  ~FastGcm() {
    SecureZero(&rk, sizeof(rk));
    SecureZero(&hkey, sizeof(hkey));
    SecureZero(j0, sizeof(j0));
    SecureZero(tag_mask, sizeof(tag_mask));
    SecureZero(y, sizeof(y));
  }
};

// Absorbs `data`, zero-padded to a whole number of blocks.
void GhashPadded(FastGcm& g, const std::uint8_t* data, std::size_t len) {
  g.ops->ghash_update(g.hkey, g.y, data, len / 16);
  const std::size_t rest = len % 16;
  if (rest != 0) {
    std::uint8_t last[16] = {0};
    std::memcpy(last, data + len - rest, rest);
    g.ops->ghash_update(g.hkey, g.y, last, 1);
    SecureZero(last, sizeof(last));
  }
}

void GhashLengths(FastGcm& g, std::uint64_t a_bytes, std::uint64_t c_bytes) {
  std::uint8_t block[16];
  StoreBe64(block, a_bytes * 8);
  StoreBe64(block + 8, c_bytes * 8);
  g.ops->ghash_update(g.hkey, g.y, block, 1);
}

void Setup(FastGcm& g, ByteView key, ByteView iv) {
  g.ops->expand_key(key.data(), &g.rk);
  std::memset(g.y, 0, sizeof(g.y));
  std::uint8_t blocks[32] = {0};  // 0^128 (for H) and, with a 96-bit IV, J0
  if (iv.size() == kSm4GcmIvSize) {
    // SP 800-38D 7.1 step 2: J0 = IV || 0^31 || 1; H and CIPH_K(J0) in one pass.
    std::memcpy(g.j0, iv.data(), 12);
    g.j0[12] = g.j0[13] = g.j0[14] = 0;
    g.j0[15] = 1;
    std::memcpy(blocks + 16, g.j0, 16);
    g.ops->encrypt_blocks(g.rk, blocks, blocks, 2);
    g.ops->ghash_init(blocks, &g.hkey);
    std::memcpy(g.tag_mask, blocks + 16, 16);
  } else {
    // Otherwise J0 = GHASH_H(IV || 0^(s+64) || [len(IV)]_64).
    g.ops->encrypt_blocks(g.rk, blocks, blocks, 1);
    g.ops->ghash_init(blocks, &g.hkey);
    GhashPadded(g, iv.data(), iv.size());
    GhashLengths(g, 0, iv.size());
    std::memcpy(g.j0, g.y, 16);
    std::memset(g.y, 0, sizeof(g.y));
    g.ops->encrypt_blocks(g.rk, g.j0, g.tag_mask, 1);
  }
  SecureZero(blocks, sizeof(blocks));
}

// T = GCTR_K(J0, S) = CIPH_K(J0) ^ S for a full 128-bit tag (SP 800-38D 7.1 steps 5-6).
void FinishTag(FastGcm& g, std::uint64_t aad_len, std::uint64_t ct_len, std::uint8_t tag[16]) {
  GhashLengths(g, aad_len, ct_len);
  for (int i = 0; i < 16; ++i) tag[i] = g.y[i] ^ g.tag_mask[i];
}

}  // namespace

Result<Bytes> Sm4GcmSealWith(const Sm4Ops& ops, ByteView key, ByteView iv, ByteView aad,
                             ByteView plaintext) {
  FastGcm g(ops);
  Setup(g, key, iv);
  GhashPadded(g, aad.data(), aad.size());
  Bytes out(plaintext.size() + kSm4GcmTagSize);
  std::uint8_t ctr[16];
  std::memcpy(ctr, g.j0, 16);
  Inc32(ctr);
  for (std::size_t done = 0; done < plaintext.size(); done += kChunk) {
    const std::size_t n = std::min(kChunk, plaintext.size() - done);
    g.ops->ctr32(g.rk, ctr, plaintext.data() + done, out.data() + done, n);
    GhashPadded(g, out.data() + done, n);  // only the last chunk can be partial
  }
  FinishTag(g, aad.size(), plaintext.size(), out.data() + plaintext.size());
  return out;
}

Result<Bytes> Sm4GcmOpenWith(const Sm4Ops& ops, ByteView key, ByteView iv, ByteView aad,
                             ByteView ciphertext_and_tag) {
  const std::size_t ct_len = ciphertext_and_tag.size() - kSm4GcmTagSize;
  FastGcm g(ops);
  Setup(g, key, iv);
  GhashPadded(g, aad.data(), aad.size());
  GhashPadded(g, ciphertext_and_tag.data(), ct_len);
  std::uint8_t expected[16];
  FinishTag(g, aad.size(), ct_len, expected);
  // SP 800-38D 7.2 step 8: no plaintext is released unless the whole tag matches; the
  // comparison takes the same time wherever the first difference is.
  const bool ok = ConstantTimeEqual(ByteView(expected, 16), ciphertext_and_tag.subspan(ct_len));
  SecureZero(expected, sizeof(expected));
  if (!ok) return Error(ErrorCode::kBadSignature, "SM4-GCM tag mismatch");
  Bytes out(ct_len);
  std::uint8_t ctr[16];
  std::memcpy(ctr, g.j0, 16);
  Inc32(ctr);
  g.ops->ctr32(g.rk, ctr, ciphertext_and_tag.data(), out.data(), ct_len);
  return out;
}

}  // namespace gmpki::crypto::internal
