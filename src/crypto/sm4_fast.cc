// The AVX-512 + GFNI path of SM4: 16 blocks per AVX-512 register set, transposed so that each
// register holds one 32-bit word of 16 blocks, with the S-box evaluated by two GFNI
// instructions; GHASH by (V)PCLMULQDQ. Constant time: no table in memory is indexed by data, and
// the only branches are on lengths. Every function that uses the extended instructions carries
// GMPKI_SM4_TARGET so that the rest of the build keeps the default flags; they run only after
// Sm4ImplSupported(Sm4Impl::kAvx512Gfni).
#include "crypto/sm4_fast.h"

// GCC 12's AVX-512 intrinsics start some results from _mm512_undefined_*(), which its own
// -Wuninitialized then reports at every use (GCC bug 105593); the values are fully written.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "base/bytes.h"
#include "crypto/sm4_common.h"
#include "crypto/sm4_ghash_clmul.h"

#define GMPKI_SM4_TARGET \
  __attribute__((target("avx512f,avx512bw,avx512vl,gfni,pclmul,vpclmulqdq,ssse3,sse4.1")))

namespace gmpki::crypto::internal {
namespace {

using sm4::kPostConst;
using sm4::kPostMatrix;
using sm4::kPreConst;
using sm4::kPreMatrix;
using sm4::LoadBe32;
using sm4::StoreBe32;

// The S-box as two GFNI instructions: the affine "pre" map, then inversion in the AES field
// followed by the "post" map (sm4_common.h).
GMPKI_SM4_TARGET inline __m512i Sbox(__m512i x) {
  x = _mm512_gf2p8affine_epi64_epi8(x, _mm512_set1_epi64(kPreMatrix), kPreConst);
  return _mm512_gf2p8affineinv_epi64_epi8(x, _mm512_set1_epi64(kPostMatrix), kPostConst);
}

GMPKI_SM4_TARGET inline __m128i Sbox128(__m128i x) {
  x = _mm_gf2p8affine_epi64_epi8(x, _mm_set1_epi64x(kPreMatrix), kPreConst);
  return _mm_gf2p8affineinv_epi64_epi8(x, _mm_set1_epi64x(kPostMatrix), kPostConst);
}

// SM4 reads a block as four big-endian words.
GMPKI_SM4_TARGET inline __m512i Bswap32(__m512i x) {
  const __m512i mask = _mm512_broadcast_i32x4(
      _mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
  return _mm512_shuffle_epi8(x, mask);
}

// 4x4 transpose of 32-bit words inside each 128-bit lane; its own inverse. With a, b, c, d holding
// blocks 0-3, 4-7, 8-11, 12-15 (one per lane), afterwards register w holds word w of every
// block, element 4k+j coming from block 4j+k.
GMPKI_SM4_TARGET inline void Transpose(__m512i& a, __m512i& b, __m512i& c, __m512i& d) {
  const __m512i t0 = _mm512_unpacklo_epi32(a, b);
  const __m512i t1 = _mm512_unpackhi_epi32(a, b);
  const __m512i t2 = _mm512_unpacklo_epi32(c, d);
  const __m512i t3 = _mm512_unpackhi_epi32(c, d);
  a = _mm512_unpacklo_epi64(t0, t2);
  b = _mm512_unpackhi_epi64(t0, t2);
  c = _mm512_unpacklo_epi64(t1, t3);
  d = _mm512_unpackhi_epi64(t1, t3);
}

// One round (GB/T 32907-2016 7.1): a ^= L(tau(b ^ c ^ d ^ rk)) with
// L(B) = B ^ (B <<< 2) ^ (B <<< 10) ^ (B <<< 18) ^ (B <<< 24) (6.2).
GMPKI_SM4_TARGET inline void Round(__m512i& a, __m512i b, __m512i c, __m512i d, __m512i k) {
  const __m512i t = Sbox(_mm512_xor_si512(_mm512_ternarylogic_epi32(b, c, d, 0x96), k));
  a = _mm512_ternarylogic_epi32(a, t, _mm512_rol_epi32(t, 2), 0x96);
  a = _mm512_ternarylogic_epi32(a, _mm512_rol_epi32(t, 10), _mm512_rol_epi32(t, 18), 0x96);
  a = _mm512_xor_si512(a, _mm512_rol_epi32(t, 24));
}

// The 32 rounds over N independent sets of 16 transposed blocks; the sets are interleaved so that
// the latency of one round's dependency chain is hidden behind the others.
template <int N>
GMPKI_SM4_TARGET inline void Rounds(__m512i (&x)[N][4], const std::uint32_t* rk) {
  for (int r = 0; r < 32; r += 4) {
    const __m512i k0 = _mm512_set1_epi32(static_cast<int>(rk[r]));
#pragma GCC unroll 8
    for (int s = 0; s < N; ++s) Round(x[s][0], x[s][1], x[s][2], x[s][3], k0);
    const __m512i k1 = _mm512_set1_epi32(static_cast<int>(rk[r + 1]));
#pragma GCC unroll 8
    for (int s = 0; s < N; ++s) Round(x[s][1], x[s][2], x[s][3], x[s][0], k1);
    const __m512i k2 = _mm512_set1_epi32(static_cast<int>(rk[r + 2]));
#pragma GCC unroll 8
    for (int s = 0; s < N; ++s) Round(x[s][2], x[s][3], x[s][0], x[s][1], k2);
    const __m512i k3 = _mm512_set1_epi32(static_cast<int>(rk[r + 3]));
#pragma GCC unroll 8
    for (int s = 0; s < N; ++s) Round(x[s][3], x[s][0], x[s][1], x[s][2], k3);
  }
}

// The output is (X35, X34, X33, X32) (7.1, reverse transform R): reverse the words, transpose
// back and restore the byte order, leaving x[s][j] = blocks 4j..4j+3 of set s.
template <int N>
GMPKI_SM4_TARGET inline void Untranspose(__m512i (&x)[N][4]) {
#pragma GCC unroll 8
  for (int s = 0; s < N; ++s) {
    __m512i a = x[s][3], b = x[s][2], c = x[s][1], d = x[s][0];
    Transpose(a, b, c, d);
    x[s][0] = Bswap32(a);
    x[s][1] = Bswap32(b);
    x[s][2] = Bswap32(c);
    x[s][3] = Bswap32(d);
  }
}

// Mask of the first `bytes` (clamped to 0..64) bytes of a 64-byte register.
inline __mmask64 ByteMask(std::size_t bytes) {
  return bytes >= 64 ? ~__mmask64{0} : ((__mmask64{1} << bytes) - 1);
}

// Loads up to N*256 bytes of whole blocks (`bytes` of them; the rest reads as zero, and masked
// loads never touch memory past `bytes`) and transposes them.
template <int N>
GMPKI_SM4_TARGET inline void LoadBlocks(const std::uint8_t* in, std::size_t bytes,
                                        __m512i (&x)[N][4]) {
#pragma GCC unroll 8
  for (int s = 0; s < N; ++s) {
    for (int w = 0; w < 4; ++w) {
      const std::size_t off = static_cast<std::size_t>(256 * s + 64 * w);
      const std::size_t left = bytes > off ? bytes - off : 0;
      x[s][w] = Bswap32(_mm512_maskz_loadu_epi8(ByteMask(left), in + off));
    }
    Transpose(x[s][0], x[s][1], x[s][2], x[s][3]);
  }
}

// out = in ^ keystream over the first `bytes` bytes (<= N*256) of the N sets.
template <int N>
GMPKI_SM4_TARGET inline void XorOut(const __m512i (&ks)[N][4], const std::uint8_t* in,
                                    std::uint8_t* out, std::size_t bytes) {
  if (bytes == static_cast<std::size_t>(256 * N)) {
#pragma GCC unroll 8
    for (int s = 0; s < N; ++s) {
      for (int w = 0; w < 4; ++w) {
        const std::size_t off = static_cast<std::size_t>(256 * s + 64 * w);
        const __m512i v = _mm512_loadu_si512(in + off);
        _mm512_storeu_si512(out + off, _mm512_xor_si512(v, ks[s][w]));
      }
    }
    return;
  }
  for (int s = 0; s < N; ++s) {
    for (int w = 0; w < 4; ++w) {
      const std::size_t off = static_cast<std::size_t>(256 * s + 64 * w);
      if (off >= bytes) return;
      const __mmask64 m = ByteMask(bytes - off);
      const __m512i v = _mm512_maskz_loadu_epi8(m, in + off);
      _mm512_mask_storeu_epi8(out + off, m, _mm512_xor_si512(v, ks[s][w]));
    }
  }
}

// Element e of a word register belongs to block 4*(e%4) + e/4 (see Transpose).
GMPKI_SM4_TARGET inline __m512i LaneBlockIndex() {
  return _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
}

// Sets of 16 blocks interleaved in the main counter-mode loop (measured: 2 sets 3.0 GB/s, 4 sets
// 5.6, 6 sets 6.9, 8 sets 7.8 on the development machine).
constexpr int kMainSets = 8;

// GCM's counter (inc32): words 0..2 fixed, word 3 = low 32 bits + block index, built directly in
// transposed form.
struct Counter32 {
  std::uint32_t w[4];
  explicit Counter32(const std::uint8_t ctr[16])
      : w{LoadBe32(ctr), LoadBe32(ctr + 4), LoadBe32(ctr + 8), LoadBe32(ctr + 12)} {}
  template <int N>
  GMPKI_SM4_TARGET void Blocks(__m512i (&x)[N][4]) const {
#pragma GCC unroll 8
    for (int s = 0; s < N; ++s) {
      x[s][0] = _mm512_set1_epi32(static_cast<int>(w[0]));
      x[s][1] = _mm512_set1_epi32(static_cast<int>(w[1]));
      x[s][2] = _mm512_set1_epi32(static_cast<int>(w[2]));
      x[s][3] = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(w[3] + 16u * s)),
                                 LaneBlockIndex());
    }
  }
  void Advance(std::uint64_t blocks) { w[3] += static_cast<std::uint32_t>(blocks); }
  void Store(std::uint8_t ctr[16]) const { StoreBe32(ctr + 12, w[3]); }
};

// A 128-bit big-endian counter (OpenSSL's sm4-ctr); the carries are resolved per block in
// scalar code, then the words are loaded in transposed order.
struct Counter128 {
  std::uint64_t hi, lo;
  explicit Counter128(const std::uint8_t ctr[16])
      : hi((std::uint64_t{LoadBe32(ctr)} << 32) | LoadBe32(ctr + 4)),
        lo((std::uint64_t{LoadBe32(ctr + 8)} << 32) | LoadBe32(ctr + 12)) {}
  template <int N>
  GMPKI_SM4_TARGET void Blocks(__m512i (&x)[N][4]) const {
    alignas(64) std::uint32_t words[N][4][16];
    for (int b = 0; b < 16 * N; ++b) {
      const std::uint64_t l = lo + static_cast<std::uint64_t>(b);
      const std::uint64_t h = hi + (l < lo ? 1 : 0);
      const int s = b / 16, e = 4 * (b % 4) + (b % 16) / 4;
      words[s][0][e] = static_cast<std::uint32_t>(h >> 32);
      words[s][1][e] = static_cast<std::uint32_t>(h);
      words[s][2][e] = static_cast<std::uint32_t>(l >> 32);
      words[s][3][e] = static_cast<std::uint32_t>(l);
    }
    for (int s = 0; s < N; ++s) {
      for (int w = 0; w < 4; ++w) x[s][w] = _mm512_load_si512(words[s][w]);
    }
  }
  void Advance(std::uint64_t blocks) {
    const std::uint64_t next = lo + blocks;
    hi += next < lo ? 1 : 0;
    lo = next;
  }
  void Store(std::uint8_t ctr[16]) const {
    StoreBe32(ctr, static_cast<std::uint32_t>(hi >> 32));
    StoreBe32(ctr + 4, static_cast<std::uint32_t>(hi));
    StoreBe32(ctr + 8, static_cast<std::uint32_t>(lo >> 32));
    StoreBe32(ctr + 12, static_cast<std::uint32_t>(lo));
  }
};

template <int N>
GMPKI_SM4_TARGET inline void Wipe(__m512i (&x)[N][4]) {
  SecureZero(x, sizeof(x));
}

using namespace ghash_clmul;  // NOLINT: the GHASH building blocks

// Byte-reflects each 128-bit lane.
GMPKI_SM4_TARGET inline __m512i Reflect4(__m512i x) {
  return _mm512_shuffle_epi8(x, _mm512_broadcast_i32x4(_mm_setr_epi8(
                                    15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)));
}

GMPKI_SM4_TARGET inline __m128i Fold4(__m512i x) {
  const __m256i y = _mm256_xor_si256(_mm512_castsi512_si256(x), _mm512_extracti64x4_epi64(x, 1));
  return _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
}

// 16 blocks per step with VPCLMULQDQ, four per register, each block i times H^(16-i) (schoolbook
// products, summed unreduced), then one reduction.
GMPKI_SM4_TARGET inline __m128i Ghash16(const GhashKey& key, __m128i y,
                                        const std::uint8_t* data) {
  __m512i lo = _mm512_setzero_si512(), mid = lo, hi = lo;
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    __m512i d = Reflect4(_mm512_loadu_si512(data + 64 * j));
    if (j == 0) d = _mm512_xor_si512(d, _mm512_inserti32x4(_mm512_setzero_si512(), y, 0));
    const __m512i h = _mm512_load_si512(key.h_wide[4 * j]);
    lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(d, h, 0x00));
    hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(d, h, 0x11));
    mid = _mm512_ternarylogic_epi64(mid, _mm512_clmulepi64_epi128(d, h, 0x01),
                                    _mm512_clmulepi64_epi128(d, h, 0x10), 0x96);
  }
  return ReduceProduct(Fold4(lo), Fold4(mid), Fold4(hi));
}

GMPKI_SM4_TARGET std::uint32_t TauGfni(std::uint32_t in) {
  return static_cast<std::uint32_t>(
      _mm_cvtsi128_si32(Sbox128(_mm_cvtsi32_si128(static_cast<int>(in)))));
}

void ExpandKey(const std::uint8_t key[16], Sm4RoundKeys* out) {
  sm4::ExpandKeyWith(key, out, TauGfni);
}

GMPKI_SM4_TARGET void EncryptBlocks(const Sm4RoundKeys& rk, const std::uint8_t* in,
                                    std::uint8_t* out, std::size_t n) {
  std::size_t bytes = n * 16;
  __m512i x[2][4];
  while (bytes > 0) {
    const std::size_t chunk = bytes < 512 ? bytes : 512;
    LoadBlocks<2>(in, chunk, x);
    Rounds<2>(x, rk.rk);
    Untranspose<2>(x);
    for (int s = 0; s < 2; ++s) {
      for (int w = 0; w < 4; ++w) {
        const std::size_t off = static_cast<std::size_t>(256 * s + 64 * w);
        if (off < chunk) _mm512_mask_storeu_epi8(out + off, ByteMask(chunk - off), x[s][w]);
      }
    }
    in += chunk;
    out += chunk;
    bytes -= chunk;
  }
  Wipe<2>(x);
}

// Counter mode over N sets (N*256 bytes) per step: while at least a whole step is left, or with
// `whole_only` false until the end (the last step partial).
template <int N, typename Counter>
GMPKI_SM4_TARGET inline void CtrSteps(const Sm4RoundKeys& rk, Counter& ctr, const std::uint8_t*& in,
                                      std::uint8_t*& out, std::size_t& len, bool whole_only) {
  constexpr std::size_t kBytes = 256 * N;
  __m512i x[N][4];
  while (whole_only ? len >= kBytes : len > 0) {
    const std::size_t chunk = len < kBytes ? len : kBytes;
    ctr.template Blocks<N>(x);
    Rounds<N>(x, rk.rk);
    Untranspose<N>(x);
    XorOut<N>(x, in, out, chunk);
    ctr.Advance((chunk + 15) / 16);
    in += chunk;
    out += chunk;
    len -= chunk;
  }
  Wipe<N>(x);
}

// Eight interleaved sets (128 blocks) hide the latency of the round chain; the tail takes the
// smallest width that covers it, so that short messages do not pay for 128 blocks.
template <typename Counter>
GMPKI_SM4_TARGET inline void Ctr(const Sm4RoundKeys& rk, Counter& ctr, const std::uint8_t* in,
                                 std::uint8_t* out, std::size_t len) {
  CtrSteps<kMainSets>(rk, ctr, in, out, len, /*whole_only=*/true);
  if (len > 1024) {
    CtrSteps<kMainSets>(rk, ctr, in, out, len, /*whole_only=*/false);
  } else if (len > 512) {
    CtrSteps<4>(rk, ctr, in, out, len, /*whole_only=*/false);
  } else if (len > 256) {
    CtrSteps<2>(rk, ctr, in, out, len, /*whole_only=*/false);
  } else {
    CtrSteps<1>(rk, ctr, in, out, len, /*whole_only=*/false);
  }
}

GMPKI_SM4_TARGET void Ctr32(const Sm4RoundKeys& rk, std::uint8_t ctr[16], const std::uint8_t* in,
                            std::uint8_t* out, std::size_t len) {
  Counter32 c(ctr);
  Ctr(rk, c, in, out, len);
  c.Store(ctr);
}

GMPKI_SM4_TARGET void Ctr128(const Sm4RoundKeys& rk, std::uint8_t ctr[16], const std::uint8_t* in,
                             std::uint8_t* out, std::size_t len) {
  Counter128 c(ctr);
  Ctr(rk, c, in, out, len);
  c.Store(ctr);
}

GMPKI_SM4_TARGET void SboxBytes(const std::uint8_t* in, std::uint8_t* out, std::size_t n) {
  for (std::size_t off = 0; off < n; off += 64) {
    const __mmask64 m = ByteMask(n - off);
    _mm512_mask_storeu_epi8(out + off, m, Sbox(_mm512_maskz_loadu_epi8(m, in + off)));
  }
}

// 16 blocks per step with VPCLMULQDQ; the rest (fewer than 16 blocks) 8 and 1 at a time.
GMPKI_SM4_TARGET void GhashUpdate(const GhashKey& key, std::uint8_t y_bytes[16],
                                  const std::uint8_t* data, std::size_t nblocks) {
  if (nblocks >= 16) {
    __m128i y = Reflect(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y_bytes)));
    for (; nblocks >= 16; nblocks -= 16, data += 256) y = Ghash16(key, y, data);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y_bytes), Reflect(y));
  }
  GhashClmulUpdate(key, y_bytes, data, nblocks);
}

}  // namespace

const Sm4Ops kSm4Avx512GfniOps = {
    Sm4Impl::kAvx512Gfni, ExpandKey, EncryptBlocks, Ctr32, Ctr128, SboxBytes, GhashClmulInit,
    GhashUpdate,
};

}  // namespace gmpki::crypto::internal
