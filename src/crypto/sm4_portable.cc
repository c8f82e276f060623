// The portable constant-time SM4 path: plain 64-bit integer code, bitsliced, for CPUs with
// neither AVX-512 + GFNI nor AES-NI + AVX2 (and any other 64-bit CPU).
//
// Layout: 16 blocks at a time. SM4's state is four 32-bit words per block (X0..X3); word w of the
// 16 blocks is held as 8 "planes" of 64 bits, plane b holding bit b of every byte: lane 16k + j is
// byte k (k = 0 the least significant) of block j's word. In that form
//  - the S-box is a boolean circuit over the planes, the same instructions whatever the data:
//    S(x) = post(inv_AES(pre(x))) (sm4_common.h), inv_AES(y) = y^254 by four bitsliced
//    multiplications in GF(2^8) mod x^8+x^4+x^3+x+1 and three linear maps (y^2, y^4, y^16);
//  - a rotation of the words by 8q + s bits moves plane b to plane (b + s) mod 8 and rotates the
//    lanes by 16 (q + carry) bits, so the linear transform L (GB/T 32907-2016 6.2) costs a few
//    64-bit rotations per plane.
// No memory is indexed by the key or the data and no branch depends on them; the only branches
// are on lengths and on the compile-time matrices.
#include <array>
#include <cstring>

#include "base/bytes.h"
#include "crypto/sm4_common.h"
#include "crypto/sm4_fast.h"

namespace gmpki::crypto::internal {
namespace {

using Planes = std::uint64_t[8];

inline std::uint64_t Rotl64(std::uint64_t x, int r) {
  return (x << r) | (x >> ((64 - r) & 63));  // r in 0..63; no shift by 64
}

// ---- GF(2^8) linear maps over the planes, with the matrices built at compile time.

// Multiplication in the AES field, for the compile-time matrices only.
constexpr std::uint8_t GfMulAesConst(std::uint8_t a, std::uint8_t b) {
  std::uint8_t r = 0;
  for (int i = 0; i < 8; ++i) {
    if ((b >> i) & 1) r ^= a;
    a = static_cast<std::uint8_t>((a << 1) ^ ((a & 0x80) != 0 ? 0x1b : 0));
  }
  return r;
}

// Rows (row i: the input bits that make output bit i) of the linear map y -> y^(2^e).
constexpr std::array<std::uint8_t, 8> FrobeniusRows(int e) {
  std::array<std::uint8_t, 8> rows{};
  for (int j = 0; j < 8; ++j) {
    auto v = static_cast<std::uint8_t>(1u << j);
    for (int t = 0; t < e; ++t) v = GfMulAesConst(v, v);
    for (int i = 0; i < 8; ++i) rows[i] |= static_cast<std::uint8_t>(((v >> i) & 1) << j);
  }
  return rows;
}

constexpr std::array<std::uint8_t, 8> GfniRows(std::uint64_t m) {
  std::array<std::uint8_t, 8> rows{};
  for (int i = 0; i < 8; ++i) rows[i] = sm4::MatrixRow(m, i);
  return rows;
}

constexpr auto kSquareRows = FrobeniusRows(1);
constexpr auto kPow4Rows = FrobeniusRows(2);
constexpr auto kPow16Rows = FrobeniusRows(4);
constexpr auto kPreRows = GfniRows(sm4::kPreMatrix);
constexpr auto kPostRows = GfniRows(sm4::kPostMatrix);

// out = M in (+ c): the branches test bits of the public matrix and constant only.
inline void Linear(const std::array<std::uint8_t, 8>& rows, std::uint8_t c, const Planes in,
                   Planes out) {
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    std::uint64_t v = ((c >> i) & 1) != 0 ? ~std::uint64_t{0} : 0;
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      if ((rows[i] >> j) & 1) v ^= in[j];
    }
    out[i] = v;
  }
}

// out = a * b in GF(2^8) mod x^8 + x^4 + x^3 + x + 1 (out may alias neither input).
inline void GfMul(const Planes a, const Planes b, Planes out) {
  std::uint64_t p[15] = {};
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) p[i + j] ^= a[i] & b[j];
  }
  // x^8 = x^4 + x^3 + x + 1, folded from the top so that x^12..x^14 fold twice.
#pragma GCC unroll 7
  for (int k = 14; k >= 8; --k) {
    p[k - 4] ^= p[k];
    p[k - 5] ^= p[k];
    p[k - 7] ^= p[k];
    p[k - 8] ^= p[k];
  }
  for (int i = 0; i < 8; ++i) out[i] = p[i];
}

// The SM4 S-box on every byte lane of the planes, in place.
void SboxPlanes(Planes x) {
  Planes y, y2, y3, y12, y15, y240, y252, y254;
  Linear(kPreRows, sm4::kPreConst, x, y);
  // y^254 = y^-1 (and 0 for 0): y^3 = y^2 y, y^15 = (y^3)^4 y^3, y^252 = (y^15)^16 y^12,
  // y^254 = y^252 y^2.
  Linear(kSquareRows, 0, y, y2);
  GfMul(y2, y, y3);
  Linear(kPow4Rows, 0, y3, y12);
  GfMul(y12, y3, y15);
  Linear(kPow16Rows, 0, y15, y240);
  GfMul(y240, y12, y252);
  GfMul(y252, y2, y254);
  Linear(kPostRows, sm4::kPostConst, y254, x);
}

// ---- Conversion between bytes and planes.

// Transposes the 8x8 bit matrix whose row r is byte r: afterwards byte c holds bit c of every
// input byte (bit r from byte r). Hacker's Delight, 2nd ed., 7-3.
inline std::uint64_t Transpose8x8(std::uint64_t x) {
  std::uint64_t t = (x ^ (x >> 7)) & 0x00aa00aa00aa00aaULL;
  x ^= t ^ (t << 7);
  t = (x ^ (x >> 14)) & 0x0000cccc0000ccccULL;
  x ^= t ^ (t << 14);
  t = (x ^ (x >> 28)) & 0x00000000f0f0f0f0ULL;
  x ^= t ^ (t << 28);
  return x;
}

// 16 blocks (256 bytes) to planes s[w][b].
void ToPlanes(const std::uint8_t* in, std::uint64_t s[4][8]) {
  std::memset(s, 0, sizeof(std::uint64_t) * 32);
  for (int w = 0; w < 4; ++w) {
    for (int k = 0; k < 4; ++k) {
      std::uint64_t lo = 0, hi = 0;
      for (int j = 0; j < 8; ++j) {
        lo |= std::uint64_t{in[16 * j + 4 * w + 3 - k]} << (8 * j);
        hi |= std::uint64_t{in[16 * (j + 8) + 4 * w + 3 - k]} << (8 * j);
      }
      lo = Transpose8x8(lo);
      hi = Transpose8x8(hi);
      for (int b = 0; b < 8; ++b) {
        s[w][b] |= (((lo >> (8 * b)) & 0xff) | (((hi >> (8 * b)) & 0xff) << 8)) << (16 * k);
      }
    }
  }
}

// The inverse of ToPlanes, for the words in the order given by `order` (output word w is
// s[order[w]]).
void FromPlanes(const std::uint64_t s[4][8], const int order[4], std::uint8_t* out) {
  for (int w = 0; w < 4; ++w) {
    const std::uint64_t* p = s[order[w]];
    for (int k = 0; k < 4; ++k) {
      std::uint64_t lo = 0, hi = 0;
      for (int b = 0; b < 8; ++b) {
        lo |= ((p[b] >> (16 * k)) & 0xff) << (8 * b);
        hi |= ((p[b] >> (16 * k + 8)) & 0xff) << (8 * b);
      }
      lo = Transpose8x8(lo);
      hi = Transpose8x8(hi);
      for (int j = 0; j < 8; ++j) {
        out[16 * j + 4 * w + 3 - k] = static_cast<std::uint8_t>(lo >> (8 * j));
        out[16 * (j + 8) + 4 * w + 3 - k] = static_cast<std::uint8_t>(hi >> (8 * j));
      }
    }
  }
}

// ---- The cipher.

// The round keys as planes: plane b of key i is all ones in the lanes of byte k exactly when bit
// 8k + b of rk_i is set (a multiplication by 0 or 1, not a branch).
struct PlaneKeys {
  std::uint64_t p[32][8];
  explicit PlaneKeys(const Sm4RoundKeys& rk) {
    for (int i = 0; i < 32; ++i) {
      for (int b = 0; b < 8; ++b) {
        std::uint64_t v = 0;
        for (int k = 0; k < 4; ++k) {
          v |= (std::uint64_t{(rk.rk[i] >> (8 * k + b)) & 1} * 0xffff) << (16 * k);
        }
        p[i][b] = v;
      }
    }
  }
  ~PlaneKeys() { SecureZero(p, sizeof(p)); }
};

// One round (GB/T 32907-2016 7.1): a ^= L(tau(b ^ c ^ d ^ rk)), with
// L(B) = B ^ (B <<< 2) ^ (B <<< 10) ^ (B <<< 18) ^ (B <<< 24) = B ^ (B <<< 24) ^ (U ^ (U <<< 8) ^
// (U <<< 16)) for U = B <<< 2; rotating by 8, 16, 24 bits rotates the lanes by 16, 32, 48.
inline void Round(Planes a, const Planes b, const Planes c, const Planes d, const Planes k) {
  Planes t, u;
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) t[i] = b[i] ^ c[i] ^ d[i] ^ k[i];
  SboxPlanes(t);
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) u[(i + 2) & 7] = Rotl64(t[i], i >= 6 ? 16 : 0);
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    a[i] ^= t[i] ^ Rotl64(t[i], 48) ^ u[i] ^ Rotl64(u[i], 16) ^ Rotl64(u[i], 32);
  }
}

// Encrypts 16 blocks (256 bytes; `in` and `out` may alias).
void Encrypt16(const PlaneKeys& keys, const std::uint8_t* in, std::uint8_t* out) {
  std::uint64_t s[4][8];
  ToPlanes(in, s);
  for (int r = 0; r < 32; r += 4) {
    Round(s[0], s[1], s[2], s[3], keys.p[r]);
    Round(s[1], s[2], s[3], s[0], keys.p[r + 1]);
    Round(s[2], s[3], s[0], s[1], keys.p[r + 2]);
    Round(s[3], s[0], s[1], s[2], keys.p[r + 3]);
  }
  // The output is (X35, X34, X33, X32) (7.1, reverse transform R).
  static constexpr int kReverse[4] = {3, 2, 1, 0};
  FromPlanes(s, kReverse, out);
  SecureZero(s, sizeof(s));
}

// tau on one word (the key schedule): the four bytes in lanes 0..3 of the planes.
std::uint32_t TauPortable(std::uint32_t x) {
  Planes p;
  for (int b = 0; b < 8; ++b) {
    std::uint64_t v = 0;
    for (int k = 0; k < 4; ++k) v |= std::uint64_t{(x >> (8 * k + b)) & 1} << k;
    p[b] = v;
  }
  SboxPlanes(p);
  std::uint32_t out = 0;
  for (int b = 0; b < 8; ++b) {
    for (int k = 0; k < 4; ++k) out |= static_cast<std::uint32_t>((p[b] >> k) & 1) << (8 * k + b);
  }
  SecureZero(p, sizeof(p));
  return out;
}

void ExpandKey(const std::uint8_t key[16], Sm4RoundKeys* out) {
  sm4::ExpandKeyWith(key, out, TauPortable);
}

void EncryptBlocks(const Sm4RoundKeys& rk, const std::uint8_t* in, std::uint8_t* out,
                   std::size_t n) {
  const PlaneKeys keys(rk);
  for (; n >= 16; n -= 16, in += 256, out += 256) Encrypt16(keys, in, out);
  if (n > 0) {
    std::uint8_t buf[256] = {};
    std::memcpy(buf, in, 16 * n);
    Encrypt16(keys, buf, buf);
    std::memcpy(out, buf, 16 * n);
    SecureZero(buf, sizeof(buf));
  }
}

// Counter mode, 16 counter blocks per step; `next` writes the next counter block and advances.
template <typename Next>
void Ctr(const Sm4RoundKeys& rk, const std::uint8_t* in, std::uint8_t* out, std::size_t len,
         Next next) {
  const PlaneKeys keys(rk);
  std::uint8_t ks[256];
  while (len > 0) {
    const std::size_t chunk = len < 256 ? len : 256;
    for (std::size_t b = 0; b < 16; ++b) next(ks + 16 * b, b < (chunk + 15) / 16);
    Encrypt16(keys, ks, ks);
    for (std::size_t i = 0; i < chunk; ++i) out[i] = in[i] ^ ks[i];
    in += chunk;
    out += chunk;
    len -= chunk;
  }
  SecureZero(ks, sizeof(ks));
}

void Ctr32(const Sm4RoundKeys& rk, std::uint8_t ctr[16], const std::uint8_t* in,
           std::uint8_t* out, std::size_t len) {
  std::uint32_t c = sm4::LoadBe32(ctr + 12);
  Ctr(rk, in, out, len, [&](std::uint8_t* block, bool used) {
    std::memcpy(block, ctr, 12);
    sm4::StoreBe32(block + 12, c);
    c += used ? 1u : 0u;  // SP 800-38D 6.2: modulo 2^32, the left 96 bits unchanged
  });
  sm4::StoreBe32(ctr + 12, c);
}

void Ctr128(const Sm4RoundKeys& rk, std::uint8_t ctr[16], const std::uint8_t* in,
            std::uint8_t* out, std::size_t len) {
  std::uint64_t hi = (std::uint64_t{sm4::LoadBe32(ctr)} << 32) | sm4::LoadBe32(ctr + 4);
  std::uint64_t lo = (std::uint64_t{sm4::LoadBe32(ctr + 8)} << 32) | sm4::LoadBe32(ctr + 12);
  auto store = [](std::uint8_t* p, std::uint64_t h, std::uint64_t l) {
    sm4::StoreBe32(p, static_cast<std::uint32_t>(h >> 32));
    sm4::StoreBe32(p + 4, static_cast<std::uint32_t>(h));
    sm4::StoreBe32(p + 8, static_cast<std::uint32_t>(l >> 32));
    sm4::StoreBe32(p + 12, static_cast<std::uint32_t>(l));
  };
  Ctr(rk, in, out, len, [&](std::uint8_t* block, bool used) {
    store(block, hi, lo);
    const std::uint64_t step = used ? 1 : 0;
    lo += step;
    hi += (step != 0 && lo == 0) ? 1 : 0;  // the counter is public: a branch is harmless
  });
  store(ctr, hi, lo);
}

void SboxBytes(const std::uint8_t* in, std::uint8_t* out, std::size_t n) {
  for (std::size_t off = 0; off < n; off += 64) {
    const std::size_t m = n - off < 64 ? n - off : 64;
    Planes p = {};
    for (std::size_t i = 0; i < m; ++i) {
      for (int b = 0; b < 8; ++b) p[b] |= std::uint64_t{(in[off + i] >> b) & 1u} << i;
    }
    SboxPlanes(p);
    for (std::size_t i = 0; i < m; ++i) {
      std::uint8_t v = 0;
      for (int b = 0; b < 8; ++b) v |= static_cast<std::uint8_t>(((p[b] >> i) & 1) << b);
      out[off + i] = v;
    }
  }
}

}  // namespace

const Sm4Ops kSm4PortableOps = {
    Sm4Impl::kPortable, ExpandKey,         EncryptBlocks,       Ctr32, Ctr128, SboxBytes,
    GhashPortableInit,  GhashPortableUpdate,
};

}  // namespace gmpki::crypto::internal
