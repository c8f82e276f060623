// GHASH (SP 800-38D 6.4) over PCLMULQDQ, 8 blocks per reduction (Karatsuba, H^1..H^8
// precomputed); no VPCLMULQDQ, so it runs on every CPU with AES-NI. Constant time: carry-less
// multiplications and shifts only, no table and no branch on H or the data.
#include <immintrin.h>

#include "crypto/sm4_fast.h"
#include "crypto/sm4_ghash_clmul.h"

namespace gmpki::crypto::internal {

using namespace ghash_clmul;  // NOLINT: the building blocks of this file

GMPKI_GHASH_CLMUL_TARGET void GhashClmulInit(const std::uint8_t h[16], GhashKey* key) {
  const __m128i h1 = Reflect(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)));
  __m128i p = h1;
  // H^1..H^16: the 16-block step of the AVX-512 path reads h_wide, this file h_pow/h_kara.
  for (int i = 0; i < 16; ++i) {
    if (i < 8) {
      _mm_store_si128(reinterpret_cast<__m128i*>(key->h_pow[i]), p);
      _mm_store_si128(reinterpret_cast<__m128i*>(key->h_kara[i]), KaraKey(p));
    }
    _mm_store_si128(reinterpret_cast<__m128i*>(key->h_wide[15 - i]), p);
    p = GfMul(p, h1);
  }
  key->h64[0] = key->h64[1] = 0;  // unused here
}

GMPKI_GHASH_CLMUL_TARGET void GhashClmulUpdate(const GhashKey& key, std::uint8_t y_bytes[16],
                                               const std::uint8_t* data, std::size_t nblocks) {
  auto load = [](const std::uint8_t* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  };
  auto pow = [&](int i) { return _mm_load_si128(reinterpret_cast<const __m128i*>(key.h_pow[i])); };
  auto kara = [&](int i) {
    return _mm_load_si128(reinterpret_cast<const __m128i*>(key.h_kara[i]));
  };
  __m128i y = Reflect(load(y_bytes));
  // Y_8 = (Y_0 ^ X_1) H^8 ^ X_2 H^7 ^ ... ^ X_8 H, reduced once.
  while (nblocks >= 8) {
    Wide acc = ZeroWide();
    MulAcc(acc, _mm_xor_si128(y, Reflect(load(data))), pow(7), kara(7));
#pragma GCC unroll 7
    for (int i = 1; i < 8; ++i) MulAcc(acc, Reflect(load(data + 16 * i)), pow(7 - i), kara(7 - i));
    y = Reduce(acc);
    data += 128;
    nblocks -= 8;
  }
  for (; nblocks > 0; --nblocks, data += 16) {
    Wide acc = ZeroWide();
    MulAcc(acc, _mm_xor_si128(y, Reflect(load(data))), pow(0), kara(0));
    y = Reduce(acc);
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y_bytes), Reflect(y));
}

}  // namespace gmpki::crypto::internal
