// The AES-NI + AVX2 path of SM4, for x86-64 CPUs without AVX-512/GFNI (Haswell and later, Zen).
// Blocks are transposed eight at a time into four 256-bit registers (register w holds word w
// of 8 blocks). The S-box goes through the AES S-box: both are an inversion in GF(2^8) between
// affine maps, so (sm4_common.h)
//   S(x) = post(inv_AES(pre(x))) = G(AesSbox(pre(x)))  with  G = post o Aff_AES^-1,
// where AesSbox is what AESENCLAST computes with an all-zero round key (after ShiftRows, which a
// byte shuffle before it undoes). pre and G are affine maps over GF(2), evaluated as two 16-entry
// nibble look-ups done by PSHUFB: the "tables" are register constants and the shuffle takes the
// same time for every index, so no memory is addressed by data. GHASH is PCLMULQDQ
// (sm4_ghash_clmul.cc). Every function carries GMPKI_SM4_AESNI_TARGET and runs only after
// Sm4ImplSupported(Sm4Impl::kAesniAvx2).
#include <immintrin.h>

#include <array>
#include <cstring>

#include "base/bytes.h"
#include "crypto/sm4_common.h"
#include "crypto/sm4_fast.h"

#define GMPKI_SM4_AESNI_TARGET __attribute__((target("aes,avx2,pclmul,ssse3,sse4.1")))

namespace gmpki::crypto::internal {
namespace {

using sm4::LoadBe32;
using sm4::StoreBe32;

// ---- The nibble tables of the affine maps, computed at compile time.

// The AES affine map's inverse (FIPS 197 5.3.2): b_i = b'_(i+2) ^ b'_(i+5) ^ b'_(i+7) ^ d_i with
// d = 0x05, indices mod 8.
constexpr std::uint8_t InvAesAffine(std::uint8_t x) {
  std::uint8_t out = 0x05;
  for (int i = 0; i < 8; ++i) {
    const int bit = ((x >> ((i + 2) % 8)) ^ (x >> ((i + 5) % 8)) ^ (x >> ((i + 7) % 8))) & 1;
    out ^= static_cast<std::uint8_t>(bit << i);
  }
  return out;
}

constexpr std::uint8_t Pre(std::uint8_t x) {
  return sm4::Affine(sm4::kPreMatrix, sm4::kPreConst, x);
}
constexpr std::uint8_t Post(std::uint8_t x) {  // G = post o Aff_AES^-1
  return sm4::Affine(sm4::kPostMatrix, sm4::kPostConst, InvAesAffine(x));
}

// An affine f split by nibbles: f(x) = lo[x & 15] ^ hi[x >> 4] (the constant in `lo`).
struct NibbleTables {
  std::array<std::uint8_t, 16> lo, hi;
};
template <typename F>
constexpr NibbleTables Split(F f) {
  NibbleTables t{};
  for (int n = 0; n < 16; ++n) {
    t.lo[n] = f(static_cast<std::uint8_t>(n));
    t.hi[n] = static_cast<std::uint8_t>(f(static_cast<std::uint8_t>(n << 4)) ^ f(0));
  }
  return t;
}
constexpr NibbleTables kPreTables = Split(Pre);
constexpr NibbleTables kPostTables = Split(Post);

// ---- S-box and round function.

GMPKI_SM4_AESNI_TARGET inline __m128i Table128(const std::array<std::uint8_t, 16>& t) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(t.data()));
}
GMPKI_SM4_AESNI_TARGET inline __m256i Table256(const std::array<std::uint8_t, 16>& t) {
  return _mm256_broadcastsi128_si256(Table128(t));
}

// AESENCLAST applies ShiftRows (byte i of its output is byte kShiftRows[i] of the S-box layer);
// this shuffle applied first puts every byte back where it started.
GMPKI_SM4_AESNI_TARGET inline __m128i InvShiftRows() {
  return _mm_setr_epi8(0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3);
}

GMPKI_SM4_AESNI_TARGET inline __m128i Affine128(__m128i x, const NibbleTables& t) {
  const __m128i mask = _mm_set1_epi8(0x0f);
  const __m128i lo = _mm_and_si128(x, mask);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), mask);
  return _mm_xor_si128(_mm_shuffle_epi8(Table128(t.lo), lo),
                       _mm_shuffle_epi8(Table128(t.hi), hi));
}

GMPKI_SM4_AESNI_TARGET inline __m256i Affine256(__m256i x, const NibbleTables& t) {
  const __m256i mask = _mm256_set1_epi8(0x0f);
  const __m256i lo = _mm256_and_si256(x, mask);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), mask);
  return _mm256_xor_si256(_mm256_shuffle_epi8(Table256(t.lo), lo),
                          _mm256_shuffle_epi8(Table256(t.hi), hi));
}

GMPKI_SM4_AESNI_TARGET inline __m128i Sbox128(__m128i x) {
  x = _mm_shuffle_epi8(Affine128(x, kPreTables), InvShiftRows());
  x = _mm_aesenclast_si128(x, _mm_setzero_si128());
  return Affine128(x, kPostTables);
}

// AESENCLAST works on 128 bits (VAES is not assumed), so the two halves go through it apart.
GMPKI_SM4_AESNI_TARGET inline __m256i Sbox256(__m256i x) {
  x = _mm256_shuffle_epi8(Affine256(x, kPreTables), _mm256_broadcastsi128_si256(InvShiftRows()));
  const __m128i lo = _mm_aesenclast_si128(_mm256_castsi256_si128(x), _mm_setzero_si128());
  const __m128i hi = _mm_aesenclast_si128(_mm256_extracti128_si256(x, 1), _mm_setzero_si128());
  return Affine256(_mm256_set_m128i(hi, lo), kPostTables);
}

// Rotations of every 32-bit word left by 8, 16 and 24 bits are byte shuffles (byte i of a
// little-endian word moves to byte i + 1, 2, 3 mod 4).
GMPKI_SM4_AESNI_TARGET inline __m256i Rotl8(__m256i x) {
  return _mm256_shuffle_epi8(x, _mm256_broadcastsi128_si256(_mm_setr_epi8(
                                    3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14)));
}
GMPKI_SM4_AESNI_TARGET inline __m256i Rotl16(__m256i x) {
  return _mm256_shuffle_epi8(x, _mm256_broadcastsi128_si256(_mm_setr_epi8(
                                    2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13)));
}
GMPKI_SM4_AESNI_TARGET inline __m256i Rotl24(__m256i x) {
  return _mm256_shuffle_epi8(x, _mm256_broadcastsi128_si256(_mm_setr_epi8(
                                    1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12)));
}

// One round (GB/T 32907-2016 7.1): a ^= L(tau(b ^ c ^ d ^ rk)) with
// L(B) = B ^ (B <<< 2) ^ (B <<< 10) ^ (B <<< 18) ^ (B <<< 24)
//      = B ^ (B <<< 24) ^ ((B ^ (B <<< 8) ^ (B <<< 16)) <<< 2).
GMPKI_SM4_AESNI_TARGET inline void Round(__m256i& a, __m256i b, __m256i c, __m256i d,
                                         __m256i k) {
  const __m256i t = Sbox256(_mm256_xor_si256(_mm256_xor_si256(b, c), _mm256_xor_si256(d, k)));
  const __m256i u = _mm256_xor_si256(_mm256_xor_si256(t, Rotl8(t)), Rotl16(t));
  const __m256i u2 = _mm256_or_si256(_mm256_slli_epi32(u, 2), _mm256_srli_epi32(u, 30));
  a = _mm256_xor_si256(a, _mm256_xor_si256(_mm256_xor_si256(t, Rotl24(t)), u2));
}

// The 32 rounds over N interleaved sets of 8 transposed blocks.
template <int N>
GMPKI_SM4_AESNI_TARGET inline void Rounds(__m256i (&x)[N][4], const std::uint32_t* rk) {
  for (int r = 0; r < 32; r += 4) {
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const __m256i k = _mm256_set1_epi32(static_cast<int>(rk[r + j]));
#pragma GCC unroll 4
      for (int s = 0; s < N; ++s) {
        Round(x[s][j], x[s][(j + 1) % 4], x[s][(j + 2) % 4], x[s][(j + 3) % 4], k);
      }
    }
  }
}

// SM4 reads a block as four big-endian words.
GMPKI_SM4_AESNI_TARGET inline __m256i Bswap32(__m256i x) {
  return _mm256_shuffle_epi8(x, _mm256_broadcastsi128_si256(_mm_setr_epi8(
                                    3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12)));
}

// 4x4 transpose of 32-bit words inside each 128-bit lane; its own inverse. With a, b, c, d
// holding blocks {0,1}, {2,3}, {4,5}, {6,7} (one per lane), afterwards register w holds word w of
// every block, element 4L + p (lane L, position p) coming from block 2p + L.
GMPKI_SM4_AESNI_TARGET inline void Transpose(__m256i& a, __m256i& b, __m256i& c, __m256i& d) {
  const __m256i t0 = _mm256_unpacklo_epi32(a, b);
  const __m256i t1 = _mm256_unpackhi_epi32(a, b);
  const __m256i t2 = _mm256_unpacklo_epi32(c, d);
  const __m256i t3 = _mm256_unpackhi_epi32(c, d);
  a = _mm256_unpacklo_epi64(t0, t2);
  b = _mm256_unpackhi_epi64(t0, t2);
  c = _mm256_unpacklo_epi64(t1, t3);
  d = _mm256_unpackhi_epi64(t1, t3);
}

// N sets of 8 blocks from memory (N * 128 bytes) into transposed form.
template <int N>
GMPKI_SM4_AESNI_TARGET inline void Load(const std::uint8_t* in, __m256i (&x)[N][4]) {
#pragma GCC unroll 4
  for (int s = 0; s < N; ++s) {
    for (int w = 0; w < 4; ++w) {
      const std::uint8_t* p = in + 128 * s + 32 * w;
      x[s][w] = Bswap32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    Transpose(x[s][0], x[s][1], x[s][2], x[s][3]);
  }
}

// The output is (X35, X34, X33, X32) (7.1, reverse transform R): reverse the words, transpose
// back and restore the byte order, leaving x[s][j] = blocks 2j, 2j+1 of set s.
template <int N>
GMPKI_SM4_AESNI_TARGET inline void Untranspose(__m256i (&x)[N][4]) {
#pragma GCC unroll 4
  for (int s = 0; s < N; ++s) {
    __m256i a = x[s][3], b = x[s][2], c = x[s][1], d = x[s][0];
    Transpose(a, b, c, d);
    x[s][0] = Bswap32(a);
    x[s][1] = Bswap32(b);
    x[s][2] = Bswap32(c);
    x[s][3] = Bswap32(d);
  }
}

template <int N>
GMPKI_SM4_AESNI_TARGET inline void Store(const __m256i (&x)[N][4], std::uint8_t* out) {
#pragma GCC unroll 4
  for (int s = 0; s < N; ++s) {
    for (int w = 0; w < 4; ++w) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 128 * s + 32 * w), x[s][w]);
    }
  }
}

template <int N>
GMPKI_SM4_AESNI_TARGET inline void Wipe(__m256i (&x)[N][4]) {
  SecureZero(x, sizeof(x));
}

// Sets of 8 blocks interleaved per step, to hide the latency of the round's dependency chain.
constexpr int kSets = 4;
constexpr std::size_t kStepBytes = 128 * kSets;

GMPKI_SM4_AESNI_TARGET std::uint32_t TauAesni(std::uint32_t in) {
  return static_cast<std::uint32_t>(
      _mm_cvtsi128_si32(Sbox128(_mm_cvtsi32_si128(static_cast<int>(in)))));
}

void ExpandKey(const std::uint8_t key[16], Sm4RoundKeys* out) {
  sm4::ExpandKeyWith(key, out, TauAesni);
}

// Encrypts the whole blocks of `buf` (at most N * 128 bytes, zero-padded) in place.
template <int N>
GMPKI_SM4_AESNI_TARGET inline void EncryptBuffer(const Sm4RoundKeys& rk, std::uint8_t* buf) {
  __m256i x[N][4];
  Load<N>(buf, x);
  Rounds<N>(x, rk.rk);
  Untranspose<N>(x);
  Store<N>(x, buf);
  Wipe<N>(x);
}

GMPKI_SM4_AESNI_TARGET void EncryptBlocks(const Sm4RoundKeys& rk, const std::uint8_t* in,
                                          std::uint8_t* out, std::size_t n) {
  __m256i x[kSets][4];
  std::size_t bytes = n * 16;
  for (; bytes >= kStepBytes; bytes -= kStepBytes, in += kStepBytes, out += kStepBytes) {
    Load<kSets>(in, x);
    Rounds<kSets>(x, rk.rk);
    Untranspose<kSets>(x);
    Store<kSets>(x, out);
  }
  Wipe<kSets>(x);
  if (bytes > 0) {  // the tail goes through a buffer, in the narrowest width that holds it
    alignas(32) std::uint8_t buf[kStepBytes] = {};
    std::memcpy(buf, in, bytes);
    if (bytes > 256) {
      EncryptBuffer<4>(rk, buf);
    } else if (bytes > 128) {
      EncryptBuffer<2>(rk, buf);
    } else {
      EncryptBuffer<1>(rk, buf);
    }
    std::memcpy(out, buf, bytes);
    SecureZero(buf, sizeof(buf));
  }
}

// Counter blocks in transposed form: for GCM's inc32 words 0..2 are fixed and word 3 is the low
// 32 bits + the block index (element 4L + p is block 2p + L, see Transpose).
struct Counter32 {
  std::uint32_t w[4];
  explicit Counter32(const std::uint8_t ctr[16])
      : w{LoadBe32(ctr), LoadBe32(ctr + 4), LoadBe32(ctr + 8), LoadBe32(ctr + 12)} {}
  template <int N>
  GMPKI_SM4_AESNI_TARGET void Blocks(__m256i (&x)[N][4]) const {
    const __m256i index = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
#pragma GCC unroll 4
    for (int s = 0; s < N; ++s) {
      x[s][0] = _mm256_set1_epi32(static_cast<int>(w[0]));
      x[s][1] = _mm256_set1_epi32(static_cast<int>(w[1]));
      x[s][2] = _mm256_set1_epi32(static_cast<int>(w[2]));
      x[s][3] = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(w[3] + 8u * s)), index);
    }
  }
  void Advance(std::size_t blocks) { w[3] += static_cast<std::uint32_t>(blocks); }
  void Store(std::uint8_t ctr[16]) const { StoreBe32(ctr + 12, w[3]); }
};

// A 128-bit big-endian counter (OpenSSL's sm4-ctr): the carries are resolved per block in
// scalar code (the counter is public), the blocks written out and loaded like data.
struct Counter128 {
  std::uint64_t hi, lo;
  explicit Counter128(const std::uint8_t ctr[16])
      : hi((std::uint64_t{LoadBe32(ctr)} << 32) | LoadBe32(ctr + 4)),
        lo((std::uint64_t{LoadBe32(ctr + 8)} << 32) | LoadBe32(ctr + 12)) {}
  static void Put(std::uint8_t* p, std::uint64_t h, std::uint64_t l) {
    StoreBe32(p, static_cast<std::uint32_t>(h >> 32));
    StoreBe32(p + 4, static_cast<std::uint32_t>(h));
    StoreBe32(p + 8, static_cast<std::uint32_t>(l >> 32));
    StoreBe32(p + 12, static_cast<std::uint32_t>(l));
  }
  template <int N>
  GMPKI_SM4_AESNI_TARGET void Blocks(__m256i (&x)[N][4]) const {
    alignas(32) std::uint8_t blocks[128 * N];
    for (int b = 0; b < 8 * N; ++b) {
      const std::uint64_t l = lo + static_cast<std::uint64_t>(b);
      Put(blocks + 16 * b, hi + (l < lo ? 1 : 0), l);
    }
    Load<N>(blocks, x);
  }
  void Advance(std::size_t blocks) {
    const std::uint64_t next = lo + blocks;
    hi += next < lo ? 1 : 0;
    lo = next;
  }
  void Store(std::uint8_t ctr[16]) const { Put(ctr, hi, lo); }
};

// out = in ^ keystream for min(len, N * 128) bytes.
template <int N, typename Counter>
GMPKI_SM4_AESNI_TARGET inline void CtrStep(const Sm4RoundKeys& rk, Counter& ctr,
                                           const std::uint8_t* in, std::uint8_t* out,
                                           std::size_t len, __m256i (&x)[N][4]) {
  ctr.template Blocks<N>(x);
  Rounds<N>(x, rk.rk);
  Untranspose<N>(x);
  if (len >= 128 * N) {
#pragma GCC unroll 4
    for (int s = 0; s < N; ++s) {
      for (int w = 0; w < 4; ++w) {
        const std::size_t off = static_cast<std::size_t>(128 * s + 32 * w);
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + off));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + off), _mm256_xor_si256(v, x[s][w]));
      }
    }
    ctr.Advance(8 * N);
    return;
  }
  alignas(32) std::uint8_t ks[128 * N];
  Store<N>(x, ks);
  for (std::size_t i = 0; i < len; ++i) out[i] = in[i] ^ ks[i];
  SecureZero(ks, sizeof(ks));
  ctr.Advance((len + 15) / 16);
}

// A partial last step of up to N * 128 bytes.
template <int N, typename Counter>
GMPKI_SM4_AESNI_TARGET inline void CtrTail(const Sm4RoundKeys& rk, Counter& ctr,
                                           const std::uint8_t* in, std::uint8_t* out,
                                           std::size_t len) {
  __m256i x[N][4];
  CtrStep<N>(rk, ctr, in, out, len, x);
  Wipe<N>(x);
}

template <typename Counter>
GMPKI_SM4_AESNI_TARGET void Ctr(const Sm4RoundKeys& rk, Counter& ctr, const std::uint8_t* in,
                                std::uint8_t* out, std::size_t len) {
  __m256i x[kSets][4];
  for (; len >= kStepBytes; len -= kStepBytes, in += kStepBytes, out += kStepBytes) {
    CtrStep<kSets>(rk, ctr, in, out, kStepBytes, x);
  }
  Wipe<kSets>(x);
  if (len > 256) {
    CtrTail<4>(rk, ctr, in, out, len);
  } else if (len > 128) {
    CtrTail<2>(rk, ctr, in, out, len);
  } else if (len > 0) {
    CtrTail<1>(rk, ctr, in, out, len);
  }
}

GMPKI_SM4_AESNI_TARGET void Ctr32(const Sm4RoundKeys& rk, std::uint8_t ctr[16],
                                  const std::uint8_t* in, std::uint8_t* out, std::size_t len) {
  Counter32 c(ctr);
  Ctr(rk, c, in, out, len);
  c.Store(ctr);
}

GMPKI_SM4_AESNI_TARGET void Ctr128(const Sm4RoundKeys& rk, std::uint8_t ctr[16],
                                   const std::uint8_t* in, std::uint8_t* out, std::size_t len) {
  Counter128 c(ctr);
  Ctr(rk, c, in, out, len);
  c.Store(ctr);
}

GMPKI_SM4_AESNI_TARGET void SboxBytes(const std::uint8_t* in, std::uint8_t* out, std::size_t n) {
  for (std::size_t off = 0; off < n; off += 16) {
    const std::size_t m = n - off < 16 ? n - off : 16;
    alignas(16) std::uint8_t buf[16] = {};
    std::memcpy(buf, in + off, m);
    _mm_store_si128(reinterpret_cast<__m128i*>(buf),
                    Sbox128(_mm_load_si128(reinterpret_cast<const __m128i*>(buf))));
    std::memcpy(out + off, buf, m);
  }
}

}  // namespace

const Sm4Ops kSm4AesniAvx2Ops = {
    Sm4Impl::kAesniAvx2, ExpandKey, EncryptBlocks, Ctr32, Ctr128, SboxBytes, GhashClmulInit,
    GhashClmulUpdate,
};

}  // namespace gmpki::crypto::internal
