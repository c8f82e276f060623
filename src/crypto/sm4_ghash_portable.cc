// Portable constant-time GHASH (SP 800-38D 6.3-6.4) for the portable SM4 path: carry-less
// multiplication built from ordinary integer multiplications with the operands' bits spread
// four apart ("holes"), so that the carries of the integer product never reach a bit that is
// kept (the technique of BearSSL's ghash_ctmul). Integer multiplication takes the same time
// for every operand on x86-64, and nothing here branches on or indexes memory by H or the data.
#include "base/bytes.h"
#include "crypto/sm4_fast.h"

namespace gmpki::crypto::internal {
namespace {

// The 64-bit carry-less product of two 32-bit values. Each masked operand has at most 8 bits
// set, four apart, so a position of an integer product sums at most 8 one-bit terms: the count
// fits in the 4 bits up to the next kept position, whose parity is the carry-less coefficient.
inline std::uint64_t Clmul32(std::uint32_t x, std::uint32_t y) {
  const std::uint64_t x0 = x & 0x11111111u, x1 = x & 0x22222222u, x2 = x & 0x44444444u,
                      x3 = x & 0x88888888u;
  const std::uint64_t y0 = y & 0x11111111u, y1 = y & 0x22222222u, y2 = y & 0x44444444u,
                      y3 = y & 0x88888888u;
  std::uint64_t z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
  std::uint64_t z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
  std::uint64_t z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
  std::uint64_t z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
  z0 &= 0x1111111111111111ULL;
  z1 &= 0x2222222222222222ULL;
  z2 &= 0x4444444444444444ULL;
  z3 &= 0x8888888888888888ULL;
  return z0 | z1 | z2 | z3;
}

struct U128 {
  std::uint64_t hi, lo;
};

// 64 x 64 -> 128 bits, Karatsuba over 32-bit halves.
inline U128 Clmul64(std::uint64_t a, std::uint64_t b) {
  const auto a0 = static_cast<std::uint32_t>(a), a1 = static_cast<std::uint32_t>(a >> 32);
  const auto b0 = static_cast<std::uint32_t>(b), b1 = static_cast<std::uint32_t>(b >> 32);
  const std::uint64_t lo = Clmul32(a0, b0), hi = Clmul32(a1, b1);
  const std::uint64_t mid = Clmul32(a0 ^ a1, b0 ^ b1) ^ lo ^ hi;
  return U128{hi ^ (mid >> 32), lo ^ (mid << 32)};
}

// Y * H in GCM's bit order, with (hi, lo) the block's bytes 0..7 and 8..15 big-endian. Reading
// the 128-bit integer hi:lo as a polynomial gives the bit-reversed operand, so the carry-less
// product of the integers is the bit-reversed product shifted right by one; after the shift
// back, the low 128 bits (the high-degree half) fold into the high 128 bits by
// x^128 = x^7 + x^2 + x + 1, which in the reversed order is a right shift by 1, 2 and 7 (the
// bits shifted out fold once more).
inline U128 GfMul(U128 y, U128 h) {
  const U128 l = Clmul64(y.lo, h.lo), u = Clmul64(y.hi, h.hi);
  const U128 m = Clmul64(y.lo ^ y.hi, h.lo ^ h.hi);
  std::uint64_t z[4] = {l.lo, l.hi ^ m.lo ^ l.lo ^ u.lo, u.lo ^ m.hi ^ l.hi ^ u.hi, u.hi};
  // Shift the 256-bit product left by one.
  z[3] = (z[3] << 1) | (z[2] >> 63);
  z[2] = (z[2] << 1) | (z[1] >> 63);
  z[1] = (z[1] << 1) | (z[0] >> 63);
  z[0] <<= 1;
  for (int i = 0; i < 2; ++i) {
    const std::uint64_t w = z[i];
    z[i + 2] ^= w ^ (w >> 1) ^ (w >> 2) ^ (w >> 7);
    z[i + 1] ^= (w << 63) ^ (w << 62) ^ (w << 57);
  }
  return U128{z[3], z[2]};
}

inline std::uint64_t LoadBe64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
inline void StoreBe64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<std::uint8_t>(v);
    v >>= 8;
  }
}

}  // namespace

void GhashPortableInit(const std::uint8_t h[16], GhashKey* key) {
  SecureZero(key, sizeof(*key));
  key->h64[0] = LoadBe64(h);
  key->h64[1] = LoadBe64(h + 8);
}

void GhashPortableUpdate(const GhashKey& key, std::uint8_t y_bytes[16], const std::uint8_t* data,
                         std::size_t nblocks) {
  const U128 h{key.h64[0], key.h64[1]};
  U128 y{LoadBe64(y_bytes), LoadBe64(y_bytes + 8)};
  for (; nblocks > 0; --nblocks, data += 16) {
    y.hi ^= LoadBe64(data);
    y.lo ^= LoadBe64(data + 8);
    y = GfMul(y, h);
  }
  StoreBe64(y_bytes, y.hi);
  StoreBe64(y_bytes + 8, y.lo);
}

}  // namespace gmpki::crypto::internal
