// SM4-GCM: NIST SP 800-38D over the SM4 block, as RFC 8998 section 3.1 specifies it (OpenSSL 3.0
// has no SM4-GCM). This file checks the parameters and dispatches to sm4_gcm_fast.cc over the
// constant-time path of sm4_fast.h. It also holds the reference path (OpenSSL's table-based SM4
// block, GHASH bit by bit with masks as in SP 800-38D 6.3, Algorithm 1), which only tests select
// (Sm4Impl::kReference) to compare the other paths with.
#include <algorithm>
#include <cstring>

#include "crypto/sm4.h"
#include "crypto/sm4_fast.h"
#include "crypto/sm4_internal.h"

namespace gmpki::crypto {
namespace {

// A 128-bit GF(2^128) element in GCM's bit order: hi holds bytes 0..7 big-endian.
struct Block128 {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
};

std::uint64_t Load64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
void Store64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<std::uint8_t>(v);
    v >>= 8;
  }
}

// X * Y in GF(2^128) (SP 800-38D 6.3) without secret-dependent branches.
Block128 GfMul(Block128 x, Block128 y) {
  Block128 z, v = y;
  for (int i = 0; i < 128; ++i) {
    const std::uint64_t word = i < 64 ? x.hi : x.lo;
    const std::uint64_t bit = (word >> (63 - (i & 63))) & 1;
    const std::uint64_t take = 0 - bit;
    z.hi ^= v.hi & take;
    z.lo ^= v.lo & take;
    // V >> 1, then reduce by R = 11100001 || 0^120 when the bit shifted out was set.
    const std::uint64_t carry = 0 - (v.lo & 1);
    v.lo = (v.lo >> 1) | (v.hi << 63);
    v.hi = (v.hi >> 1) ^ (0xE100000000000000ULL & carry);
  }
  return z;
}

class Ghash {
 public:
  explicit Ghash(Block128 h) : h_(h) {}
  ~Ghash() { SecureZero(&h_, sizeof(h_)); }
  // Absorbs `data`, zero-padded to a whole number of blocks.
  void UpdatePadded(ByteView data) {
    std::size_t i = 0;
    for (; i + 16 <= data.size(); i += 16) Absorb(data.data() + i);
    if (i < data.size()) {
      std::uint8_t last[16] = {0};
      std::memcpy(last, data.data() + i, data.size() - i);
      Absorb(last);
    }
  }
  void UpdateLengths(std::uint64_t a_bits, std::uint64_t b_bits) {
    std::uint8_t block[16];
    Store64(block, a_bits);
    Store64(block + 8, b_bits);
    Absorb(block);
  }
  Block128 value() const { return y_; }

 private:
  void Absorb(const std::uint8_t* b) {
    y_.hi ^= Load64(b);
    y_.lo ^= Load64(b + 8);
    y_ = GfMul(y_, h_);
  }
  Block128 h_;
  Block128 y_;
};

void Inc32(std::uint8_t* block) {
  std::uint32_t c = (std::uint32_t{block[12]} << 24) | (std::uint32_t{block[13]} << 16) |
                    (std::uint32_t{block[14]} << 8) | block[15];
  ++c;  // SP 800-38D 6.2: the increment is modulo 2^32 and leaves the left 96 bits alone.
  block[12] = static_cast<std::uint8_t>(c >> 24);
  block[13] = static_cast<std::uint8_t>(c >> 16);
  block[14] = static_cast<std::uint8_t>(c >> 8);
  block[15] = static_cast<std::uint8_t>(c);
}

// GCTR (SP 800-38D 6.5) starting from counter block `icb`, in batches of counter blocks.
Status Gctr(internal::Sm4BlockEncryptor& enc, const std::uint8_t icb[16], ByteView in,
            std::uint8_t* out) {
  constexpr std::size_t kBatch = 64;
  std::uint8_t cb[16];
  std::memcpy(cb, icb, 16);
  std::uint8_t ks[kBatch * 16];
  std::size_t done = 0;
  while (done < in.size()) {
    const std::size_t remaining = in.size() - done;
    const std::size_t blocks = std::min(kBatch, (remaining + 15) / 16);
    for (std::size_t b = 0; b < blocks; ++b) {
      std::memcpy(ks + 16 * b, cb, 16);
      Inc32(cb);
    }
    GMPKI_RETURN_IF_ERROR(enc.EncryptBlocks(ks, ks, blocks));
    const std::size_t n = std::min(remaining, blocks * 16);
    for (std::size_t i = 0; i < n; ++i) out[done + i] = in[done + i] ^ ks[i];
    done += n;
  }
  SecureZero(ks, sizeof(ks));
  return OkStatus();
}

// The per-message state: H, J0 and the key schedule.
struct GcmSetup {
  internal::Sm4BlockEncryptor enc;
  Block128 h;
  std::uint8_t j0[16];
  ~GcmSetup() {
    SecureZero(&h, sizeof(h));
    SecureZero(j0, sizeof(j0));
  }
};

// 2^39 - 256 bits (SP 800-38D 5.2.1.1).
constexpr std::uint64_t kMaxPlaintextBytes = ((std::uint64_t{1} << 39) - 256) / 8;

Status CheckKeyAndIv(ByteView key, ByteView iv) {
  if (key.size() != kSm4KeySize) {
    return Error(ErrorCode::kInvalidArgument, "SM4-GCM key must be 16 bytes");
  }
  // SP 800-38D 5.2.1.1: 1 <= len(IV) <= 2^64 - 1 bits; an empty IV would leak H.
  if (iv.empty()) return Error(ErrorCode::kInvalidArgument, "SM4-GCM IV must not be empty");
  return OkStatus();
}

Result<std::unique_ptr<GcmSetup>> Setup(ByteView key, ByteView iv) {
  GMPKI_ASSIGN_OR_RETURN(auto enc, internal::Sm4BlockEncryptor::Create(key));
  auto s = std::unique_ptr<GcmSetup>(new GcmSetup{std::move(enc), {}, {}});
  std::uint8_t zero[16] = {0};
  GMPKI_RETURN_IF_ERROR(s->enc.EncryptBlocks(zero, zero, 1));  // H = CIPH_K(0^128)
  s->h = Block128{Load64(zero), Load64(zero + 8)};
  SecureZero(zero, sizeof(zero));
  if (iv.size() == kSm4GcmIvSize) {
    // SP 800-38D 7.1 step 2: J0 = IV || 0^31 || 1 for a 96-bit IV.
    std::memcpy(s->j0, iv.data(), 12);
    s->j0[12] = s->j0[13] = s->j0[14] = 0;
    s->j0[15] = 1;
  } else {
    // Otherwise J0 = GHASH_H(IV || 0^(s+64) || [len(IV)]_64).
    Ghash g(s->h);
    g.UpdatePadded(iv);
    g.UpdateLengths(0, static_cast<std::uint64_t>(iv.size()) * 8);
    Store64(s->j0, g.value().hi);
    Store64(s->j0 + 8, g.value().lo);
  }
  return s;
}

// T = GCTR_K(J0, GHASH_H(A || 0^v || C || 0^u || [len(A)]_64 || [len(C)]_64)), SP 800-38D 7.1.
Status ComputeTag(GcmSetup& s, ByteView aad, ByteView ct, std::uint8_t tag[16]) {
  Ghash g(s.h);
  g.UpdatePadded(aad);
  g.UpdatePadded(ct);
  g.UpdateLengths(static_cast<std::uint64_t>(aad.size()) * 8,
                  static_cast<std::uint64_t>(ct.size()) * 8);
  std::uint8_t sblock[16];
  Store64(sblock, g.value().hi);
  Store64(sblock + 8, g.value().lo);
  return Gctr(s.enc, s.j0, ByteView(sblock, 16), tag);
}

}  // namespace

Result<Bytes> Sm4GcmSeal(ByteView key, ByteView iv, ByteView aad, ByteView plaintext) {
  if (plaintext.size() > kMaxPlaintextBytes) {
    return Error(ErrorCode::kTooLarge, "SM4-GCM plaintext exceeds 2^39-256 bits");
  }
  GMPKI_RETURN_IF_ERROR(CheckKeyAndIv(key, iv));
  if (const internal::Sm4Ops* ops = internal::Sm4ActiveOps()) {
    return internal::Sm4GcmSealWith(*ops, key, iv, aad, plaintext);
  }
  GMPKI_ASSIGN_OR_RETURN(auto s, Setup(key, iv));
  Bytes out(plaintext.size() + kSm4GcmTagSize);
  std::uint8_t icb[16];
  std::memcpy(icb, s->j0, 16);
  Inc32(icb);
  GMPKI_RETURN_IF_ERROR(Gctr(s->enc, icb, plaintext, out.data()));
  GMPKI_RETURN_IF_ERROR(
      ComputeTag(*s, aad, ByteView(out.data(), plaintext.size()), out.data() + plaintext.size()));
  return out;
}

Result<Bytes> Sm4GcmOpen(ByteView key, ByteView iv, ByteView aad, ByteView ciphertext_and_tag) {
  if (ciphertext_and_tag.size() < kSm4GcmTagSize) {
    return Error(ErrorCode::kMalformedInput, "SM4-GCM input shorter than the tag");
  }
  const std::size_t ct_len = ciphertext_and_tag.size() - kSm4GcmTagSize;
  if (ct_len > kMaxPlaintextBytes) {
    return Error(ErrorCode::kTooLarge, "SM4-GCM ciphertext exceeds 2^39-256 bits");
  }
  GMPKI_RETURN_IF_ERROR(CheckKeyAndIv(key, iv));
  if (const internal::Sm4Ops* ops = internal::Sm4ActiveOps()) {
    return internal::Sm4GcmOpenWith(*ops, key, iv, aad, ciphertext_and_tag);
  }
  GMPKI_ASSIGN_OR_RETURN(auto s, Setup(key, iv));
  const ByteView ct = ciphertext_and_tag.first(ct_len);
  std::uint8_t expected[16];
  GMPKI_RETURN_IF_ERROR(ComputeTag(*s, aad, ct, expected));
  // SP 800-38D 7.2 step 8: no plaintext is released unless the whole tag matches; the
  // comparison takes the same time wherever the first difference is.
  const bool ok = ConstantTimeEqual(ByteView(expected, 16), ciphertext_and_tag.subspan(ct_len));
  SecureZero(expected, sizeof(expected));
  if (!ok) return Error(ErrorCode::kBadSignature, "SM4-GCM tag mismatch");
  Bytes out(ct_len);
  std::uint8_t icb[16];
  std::memcpy(icb, s->j0, 16);
  Inc32(icb);
  GMPKI_RETURN_IF_ERROR(Gctr(s->enc, icb, ct, out.data()));
  return out;
}

}  // namespace gmpki::crypto
