// Arithmetic in GF(2^8) for Shamir secret sharing (internal to src/device).
//
// The field is GF(2)[x] / (x^8 + x^4 + x^3 + x + 1), the AES field of FIPS 197 section 4.
// Multiplication is bitwise and branch-free: no table is indexed by a value, so the time and the
// memory access pattern do not depend on the secret bytes being multiplied (share values and
// polynomial coefficients are secrets; share x-coordinates are public).
#pragma once

#include <cstdint>

namespace gmpki::device::gf256 {

// a + b (and a - b): XOR in characteristic 2.
constexpr std::uint8_t Add(std::uint8_t a, std::uint8_t b) { return a ^ b; }

// a * b, constant time: eight fixed rounds of shift-and-add with masks instead of branches.
constexpr std::uint8_t Mul(std::uint8_t a, std::uint8_t b) {
  std::uint8_t r = 0;
  for (int i = 0; i < 8; ++i) {
    // 0xFF when the low bit of b is set, 0x00 otherwise.
    const auto take = static_cast<std::uint8_t>(-static_cast<int>(b & 1u));
    r ^= a & take;
    // xtime (FIPS 197 section 4.2.1): multiply a by x, reducing by 0x1B when bit 7 overflows.
    const auto carry = static_cast<std::uint8_t>(-static_cast<int>(a >> 7));
    a = static_cast<std::uint8_t>((a << 1) ^ (carry & 0x1Bu));
    b >>= 1;
  }
  return r;
}

// a^-1 = a^254 (the multiplicative group has order 255), by a fixed square-and-multiply
// sequence, so also constant time. Inv(0) is 0; callers only invert non-zero values.
constexpr std::uint8_t Inv(std::uint8_t a) {
  // 254 = 0b11111110: result = a^2 * a^4 * ... * a^128.
  std::uint8_t result = 1;
  std::uint8_t power = a;
  for (int i = 1; i < 8; ++i) {
    power = Mul(power, power);  // a^(2^i)
    result = Mul(result, power);
  }
  return result;
}

constexpr std::uint8_t Div(std::uint8_t a, std::uint8_t b) { return Mul(a, Inv(b)); }

}  // namespace gmpki::device::gf256
