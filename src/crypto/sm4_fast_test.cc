// Every constant-time SM4 path (sm4_fast.h) against the standard's S-box table and key schedule,
// and differentially against the reference path (OpenSSL's SM4 with the bitwise GHASH) over many
// lengths, alignments, IV sizes and counter wrap-arounds. Each test runs once per path; a path
// the CPU cannot run is skipped.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>

#include "crypto/sm4.h"
#include "crypto/sm4_fast.h"
#include "crypto/sm4_test_paths.h"

namespace gmpki::crypto {
namespace {

using internal::SetSm4ImplForTesting;
using internal::Sm4Impl;

// GB/T 32907-2016 section 6.2, the S-box table (row = high nibble, column = low nibble).
constexpr std::uint8_t kStandardSbox[256] = {
    0xd6, 0x90, 0xe9, 0xfe, 0xcc, 0xe1, 0x3d, 0xb7, 0x16, 0xb6, 0x14, 0xc2, 0x28, 0xfb, 0x2c, 0x05,
    0x2b, 0x67, 0x9a, 0x76, 0x2a, 0xbe, 0x04, 0xc3, 0xaa, 0x44, 0x13, 0x26, 0x49, 0x86, 0x06, 0x99,
    0x9c, 0x42, 0x50, 0xf4, 0x91, 0xef, 0x98, 0x7a, 0x33, 0x54, 0x0b, 0x43, 0xed, 0xcf, 0xac, 0x62,
    0xe4, 0xb3, 0x1c, 0xa9, 0xc9, 0x08, 0xe8, 0x95, 0x80, 0xdf, 0x94, 0xfa, 0x75, 0x8f, 0x3f, 0xa6,
    0x47, 0x07, 0xa7, 0xfc, 0xf3, 0x73, 0x17, 0xba, 0x83, 0x59, 0x3c, 0x19, 0xe6, 0x85, 0x4f, 0xa8,
    0x68, 0x6b, 0x81, 0xb2, 0x71, 0x64, 0xda, 0x8b, 0xf8, 0xeb, 0x0f, 0x4b, 0x70, 0x56, 0x9d, 0x35,
    0x1e, 0x24, 0x0e, 0x5e, 0x63, 0x58, 0xd1, 0xa2, 0x25, 0x22, 0x7c, 0x3b, 0x01, 0x21, 0x78, 0x87,
    0xd4, 0x00, 0x46, 0x57, 0x9f, 0xd3, 0x27, 0x52, 0x4c, 0x36, 0x02, 0xe7, 0xa0, 0xc4, 0xc8, 0x9e,
    0xea, 0xbf, 0x8a, 0xd2, 0x40, 0xc7, 0x38, 0xb5, 0xa3, 0xf7, 0xf2, 0xce, 0xf9, 0x61, 0x15, 0xa1,
    0xe0, 0xae, 0x5d, 0xa4, 0x9b, 0x34, 0x1a, 0x55, 0xad, 0x93, 0x32, 0x30, 0xf5, 0x8c, 0xb1, 0xe3,
    0x1d, 0xf6, 0xe2, 0x2e, 0x82, 0x66, 0xca, 0x60, 0xc0, 0x29, 0x23, 0xab, 0x0d, 0x53, 0x4e, 0x6f,
    0xd5, 0xdb, 0x37, 0x45, 0xde, 0xfd, 0x8e, 0x2f, 0x03, 0xff, 0x6a, 0x72, 0x6d, 0x6c, 0x5b, 0x51,
    0x8d, 0x1b, 0xaf, 0x92, 0xbb, 0xdd, 0xbc, 0x7f, 0x11, 0xd9, 0x5c, 0x41, 0x1f, 0x10, 0x5a, 0xd8,
    0x0a, 0xc1, 0x31, 0x88, 0xa5, 0xcd, 0x7b, 0xbd, 0x2d, 0x74, 0xd0, 0x12, 0xb8, 0xe5, 0xb4, 0xb0,
    0x89, 0x69, 0x97, 0x4a, 0x0c, 0x96, 0x77, 0x7e, 0x65, 0xb9, 0xf1, 0x09, 0xc5, 0x6e, 0xc6, 0x84,
    0x18, 0xf0, 0x7d, 0xec, 0x3a, 0xdc, 0x4d, 0x20, 0x79, 0xee, 0x5f, 0x3e, 0xd7, 0xcb, 0x39, 0x48,
};

class Sm4Paths : public ::testing::TestWithParam<Sm4Impl> {
 protected:
  void SetUp() override {
    if (!internal::Sm4ImplSupported(GetParam())) {
      GTEST_SKIP() << "CPU cannot run " << internal::Sm4ImplName(GetParam());
    }
    ops_ = internal::Sm4OpsFor(GetParam());
    ASSERT_NE(ops_, nullptr);
    ASSERT_EQ(ops_->impl, GetParam());
  }
  void TearDown() override { SetSm4ImplForTesting(Sm4Impl::kAuto); }

  Bytes Random(std::size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng_());
    return b;
  }
  // Runs `f` on the reference path and on the path under test and returns both results.
  std::pair<Result<Bytes>, Result<Bytes>> Both(const std::function<Result<Bytes>()>& f) {
    SetSm4ImplForTesting(Sm4Impl::kReference);
    auto ref = f();
    SetSm4ImplForTesting(GetParam());
    auto got = f();
    SetSm4ImplForTesting(Sm4Impl::kAuto);
    return {std::move(ref), std::move(got)};
  }
  void ExpectSame(const std::pair<Result<Bytes>, Result<Bytes>>& r) {
    ASSERT_EQ(r.first.ok(), r.second.ok());
    if (!r.first.ok()) {
      EXPECT_EQ(r.first.error().code(), r.second.error().code());
      return;
    }
    EXPECT_EQ(HexEncode(*r.first), HexEncode(*r.second));
  }

  const internal::Sm4Ops* ops_ = nullptr;
  std::mt19937_64 rng_{20240603};
};

INSTANTIATE_TEST_SUITE_P(Paths, Sm4Paths,
                         ::testing::Values(Sm4Impl::kAvx512Gfni, Sm4Impl::kAesniAvx2,
                                           Sm4Impl::kPortable),
                         testing::Sm4PathName);

// req: CC-FCS
TEST_P(Sm4Paths, SboxMatchesTheStandardTable) {
  // Twice over, the second copy at an odd offset, so partial registers are used too.
  std::uint8_t in[600], out[600];
  for (int i = 0; i < 600; ++i) in[i] = static_cast<std::uint8_t>(i < 256 ? i : i - 257);
  ops_->sbox(in, out, 600);
  for (int i = 0; i < 600; ++i) ASSERT_EQ(out[i], kStandardSbox[in[i]]) << "input " << int{in[i]};
}

// req: CC-FCS
TEST_P(Sm4Paths, KeyScheduleMatchesTheStandardExample) {
  // GB/T 32907-2016 Appendix A, example 1: the round keys of 0123456789abcdeffedcba9876543210.
  const Bytes key = *HexDecode("0123456789abcdeffedcba9876543210");
  internal::Sm4RoundKeys rk;
  ops_->expand_key(key.data(), &rk);
  EXPECT_EQ(rk.rk[0], 0xf12186f9u);
  EXPECT_EQ(rk.rk[1], 0x41662b61u);
  EXPECT_EQ(rk.rk[15], 0x104495a1u);
  EXPECT_EQ(rk.rk[31], 0x9124a012u);
}

// req: CC-FCS
TEST_P(Sm4Paths, GcmMatchesTheReferenceForEveryLengthUpTo1000) {
  const Bytes buffer = Random(1100);
  for (std::size_t len = 0; len <= 1000; ++len) {
    SCOPED_TRACE(len);
    const Bytes key = Random(16);
    // Mostly 96-bit IVs; every fifth length another size (GHASH-derived J0).
    const Bytes iv = Random(len % 5 == 0 ? 1 + len % 70 : 12);
    const Bytes aad = Random(len % 7 == 0 ? 1000 + len : len % 41);
    // Unaligned inputs: the message starts at a varying offset of a larger buffer.
    const ByteView msg(buffer.data() + len % 13, len);
    const auto sealed = Both([&] { return Sm4GcmSeal(key, iv, aad, msg); });
    ExpectSame(sealed);
    if (!sealed.second.ok()) return;
    const auto opened = Both([&] { return Sm4GcmOpen(key, iv, aad, *sealed.second); });
    ExpectSame(opened);
    EXPECT_EQ(*opened.second, Bytes(msg.begin(), msg.end()));
    // A flipped bit in ciphertext or tag fails on both paths.
    Bytes bad = *sealed.second;
    bad[len % bad.size()] ^= 0x10;
    const auto rejected = Both([&] { return Sm4GcmOpen(key, iv, aad, bad); });
    ASSERT_FALSE(rejected.first.ok());
    ASSERT_FALSE(rejected.second.ok());
    EXPECT_EQ(rejected.second.error().code(), ErrorCode::kBadSignature);
  }
}

// req: CC-FCS
TEST_P(Sm4Paths, GcmMatchesTheReferenceOnLargeMessagesAndAad) {
  for (std::size_t len : {4095u, 4096u, 4097u, 12345u, 65536u + 48u}) {
    SCOPED_TRACE(len);
    const Bytes key = Random(16), iv = Random(len % 2 == 0 ? 12 : 60), aad = Random(len / 3);
    const Bytes msg = Random(len);
    const auto sealed = Both([&] { return Sm4GcmSeal(key, iv, aad, msg); });
    ExpectSame(sealed);
    const auto opened = Both([&] { return Sm4GcmOpen(key, iv, aad, *sealed.first); });
    ExpectSame(opened);
  }
}

// req: CC-FCS
TEST_P(Sm4Paths, CtrEcbAndCbcMatchTheReferenceForEveryLengthUpTo1000) {
  const Bytes buffer = Random(1100);
  for (std::size_t len = 0; len <= 1000; ++len) {
    SCOPED_TRACE(len);
    const Bytes key = Random(16);
    Bytes iv = Random(16);
    // Some counters close to a carry out of the low 32 and 64 bits, and all ones (128-bit wrap).
    if (len % 4 == 1) std::memset(iv.data() + 8, 0xff, 8);
    if (len % 4 == 2) std::memset(iv.data() + 12, 0xff, 3);
    if (len % 50 == 3) iv.assign(16, 0xff);
    const ByteView msg(buffer.data() + len % 11, len);
    ExpectSame(Both([&] { return Sm4Ctr(key, iv, msg); }));
    // CBC encryption costs a whole 16-block step per block on the portable path: there every
    // fifth length and those next to a block boundary.
    const bool cbc = GetParam() != Sm4Impl::kPortable || len % 5 == 0 || (len + 1) % 16 <= 2;
    if (cbc) {
      ExpectSame(Both([&] { return Sm4CbcEncrypt(key, iv, msg); }));
      const auto ct = Sm4CbcEncrypt(key, iv, msg);
      ASSERT_TRUE(ct.ok());
      ExpectSame(Both([&] { return Sm4CbcDecrypt(key, iv, *ct); }));
    }
    if (len % 16 == 0) {
      ExpectSame(Both([&] { return Sm4EcbEncrypt(key, msg); }));
      ExpectSame(Both([&] { return Sm4EcbDecrypt(key, msg); }));
      if (cbc) ExpectSame(Both([&] { return Sm4CbcEncrypt(key, iv, msg, /*pad=*/false); }));
      ExpectSame(Both([&] { return Sm4CbcDecrypt(key, iv, msg, /*pad=*/false); }));
      // Random ciphertext almost never carries valid PKCS#7 padding: both paths refuse it alike
      // (or, rarely, both accept it).
      if (len > 0) ExpectSame(Both([&] { return Sm4CbcDecrypt(key, iv, msg); }));
    }
  }
}

// req: CC-FCS
TEST_P(Sm4Paths, CbcPaddingCheckAcceptsExactlyTheValidPaddings) {
  // Every value of the last byte, and for the lengths 2..16 a wrong byte at each position of
  // the padding.
  const Bytes key = Random(16), iv = Random(16);
  SetSm4ImplForTesting(GetParam());
  for (int n = 0; n < 256; ++n) {
    for (int wrong = -1; wrong < 16; ++wrong) {
      Bytes plain = Random(32);
      if (n >= 1 && n <= 16) std::memset(plain.data() + 32 - n, n, n);
      plain[31] = static_cast<std::uint8_t>(n);
      if (wrong >= 0) {
        // Only bytes inside a valid-length padding, not the last.
        if (wrong >= n || wrong == 0 || n > 16) continue;
        plain[31 - wrong] ^= 0x01;
      }
      const auto ct = Sm4CbcEncrypt(key, iv, plain, /*pad=*/false);
      ASSERT_TRUE(ct.ok());
      const auto r = Sm4CbcDecrypt(key, iv, *ct);
      const bool valid = n >= 1 && n <= 16 && wrong < 0;
      ASSERT_EQ(r.ok(), valid) << "n " << n << " wrong " << wrong;
      if (valid) {
        EXPECT_EQ(*r, Bytes(plain.begin(), plain.end() - n));
      } else {
        EXPECT_EQ(r.error().code(), ErrorCode::kMalformedInput);
      }
    }
  }
}

// req: CC-FCS
TEST_P(Sm4Paths, Ctr32WrapsTheLow32BitsOnly) {
  // SP 800-38D 6.2: inc32 leaves the left 96 bits alone, so after ...ffffffff comes ...00000000.
  const Bytes key = Random(16), msg = Random(1000);
  std::uint8_t ctr[16];
  std::memset(ctr, 0xab, 12);
  std::memset(ctr + 12, 0xff, 4);
  ctr[15] = 0xf0;
  Bytes counters;
  std::uint8_t cb[16];
  std::memcpy(cb, ctr, 16);
  for (std::size_t i = 0; i < (msg.size() + 15) / 16; ++i) {
    counters.insert(counters.end(), cb, cb + 16);
    for (int j = 15; j >= 12 && ++cb[j] == 0; --j) {
    }
  }
  SetSm4ImplForTesting(Sm4Impl::kReference);
  auto keystream = Sm4EcbEncrypt(key, counters);
  ASSERT_TRUE(keystream.ok());
  internal::Sm4RoundKeys rk;
  ops_->expand_key(key.data(), &rk);
  Bytes out(msg.size());
  ops_->ctr32(rk, ctr, msg.data(), out.data(), msg.size());
  for (std::size_t i = 0; i < msg.size(); ++i) ASSERT_EQ(out[i], msg[i] ^ (*keystream)[i]) << i;
  EXPECT_EQ(HexEncode(ByteView(ctr, 16)), HexEncode(ByteView(cb, 16)));
}

// req: CC-FCS
TEST_P(Sm4Paths, GhashMatchesTheReferenceGcmOnEveryBlockCount) {
  // GHASH alone: H from a random key, then 0..40 blocks in one call and block by block must give
  // the same value (the aggregated 8- and 16-block steps against the single-block step).
  const Bytes h = Random(16), data = Random(16 * 40);
  internal::GhashKey key;
  ops_->ghash_init(h.data(), &key);
  for (std::size_t n = 0; n <= 40; ++n) {
    std::uint8_t y1[16] = {0}, y2[16] = {0};
    ops_->ghash_update(key, y1, data.data(), n);
    for (std::size_t i = 0; i < n; ++i) ops_->ghash_update(key, y2, data.data() + 16 * i, 1);
    ASSERT_EQ(HexEncode(ByteView(y1, 16)), HexEncode(ByteView(y2, 16))) << n;
  }
}

// req: CC-FCS
TEST(Sm4Dispatch, TheOverrideSelectsThePathAndAutoTheBestConstantTimeOne) {
  SetSm4ImplForTesting(Sm4Impl::kReference);
  EXPECT_EQ(internal::Sm4ActiveImpl(), Sm4Impl::kReference);
  EXPECT_EQ(internal::Sm4ActiveOps(), nullptr);
  SetSm4ImplForTesting(Sm4Impl::kPortable);
  EXPECT_EQ(internal::Sm4ActiveImpl(), Sm4Impl::kPortable);
  SetSm4ImplForTesting(Sm4Impl::kAuto);
  // Without GMPKI_SM4_IMPL the default is the best path the CPU has, never the reference.
  const char* env = std::getenv("GMPKI_SM4_IMPL");
  const Sm4Impl best = internal::Sm4ImplSupported(Sm4Impl::kAvx512Gfni) ? Sm4Impl::kAvx512Gfni
                       : internal::Sm4ImplSupported(Sm4Impl::kAesniAvx2) ? Sm4Impl::kAesniAvx2
                                                                         : Sm4Impl::kPortable;
  if (env == nullptr) {
    EXPECT_EQ(internal::Sm4ActiveImpl(), best);
  }
  EXPECT_NE(internal::Sm4ActiveImpl(), Sm4Impl::kReference);
  ASSERT_NE(internal::Sm4ActiveOps(), nullptr);
  EXPECT_EQ(internal::Sm4ActiveOps()->impl, internal::Sm4ActiveImpl());
}

}  // namespace
}  // namespace gmpki::crypto
