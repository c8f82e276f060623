// SM4 (GB/T 32907-2016) in ECB, CBC and CTR over the constant-time path that sm4_fast.h chooses
// for this CPU. OpenSSL's EVP interface (whose S-box is a table indexed by data) stays as the
// reference path, which only tests select (Sm4Impl::kReference) to compare the others with.
#include "crypto/sm4.h"

#include <openssl/evp.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "crypto/sm4_fast.h"
#include "crypto/sm4_internal.h"

namespace gmpki::crypto {
namespace internal {

const EVP_CIPHER* Sm4Cipher(const char* name) {
  // Fetched once per name; the fetched objects are immutable and shared by all threads.
  static std::mutex mu;
  static std::map<std::string, EVP_CIPHER*>* cache = new std::map<std::string, EVP_CIPHER*>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(name);
  if (it != cache->end()) return it->second;
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, name, nullptr);
  if (c == nullptr) std::abort();  // SM4 is in the default provider of every OpenSSL 3.0 build
  cache->emplace(name, c);
  return c;
}

Result<Sm4BlockEncryptor> Sm4BlockEncryptor::Create(ByteView key16) {
  if (key16.size() != kSm4KeySize) {
    return Error(ErrorCode::kInvalidArgument, "SM4 key must be 16 bytes");
  }
  Sm4BlockEncryptor e;
  e.ctx_.reset(EVP_CIPHER_CTX_new());
  if (!e.ctx_ ||
      EVP_EncryptInit_ex2(e.ctx_.get(), Sm4Cipher("SM4-ECB"), key16.data(), nullptr, nullptr) !=
          1 ||
      EVP_CIPHER_CTX_set_padding(e.ctx_.get(), 0) != 1) {
    return OpensslError(ErrorCode::kCryptoFailure, "SM4 key setup failed");
  }
  return e;
}

Status Sm4BlockEncryptor::EncryptBlocks(const std::uint8_t* in, std::uint8_t* out,
                                        std::size_t n) {
  // Chunked so that the byte count always fits EVP's int.
  constexpr std::size_t kMaxBlocks = (INT_MAX / kSm4BlockSize) & ~std::size_t{0xff};
  while (n > 0) {
    const std::size_t blocks = std::min(n, kMaxBlocks);
    int outl = 0;
    if (EVP_EncryptUpdate(ctx_.get(), out, &outl, in, static_cast<int>(blocks * kSm4BlockSize)) !=
            1 ||
        outl != static_cast<int>(blocks * kSm4BlockSize)) {
      return OpensslError(ErrorCode::kCryptoFailure, "SM4 block encryption failed");
    }
    in += blocks * kSm4BlockSize;
    out += blocks * kSm4BlockSize;
    n -= blocks;
  }
  return OkStatus();
}

}  // namespace internal

namespace {

Result<Bytes> Run(const char* cipher, ByteView key, ByteView iv, ByteView data, bool encrypt,
                  bool pad) {
  if (key.size() != kSm4KeySize) {
    return Error(ErrorCode::kInvalidArgument, "SM4 key must be 16 bytes");
  }
  const bool needs_iv = std::strcmp(cipher, "SM4-ECB") != 0;
  if (needs_iv && iv.size() != kSm4BlockSize) {
    return Error(ErrorCode::kInvalidArgument, "SM4 IV must be 16 bytes");
  }
  if (data.size() > static_cast<std::size_t>(INT_MAX) - 2 * kSm4BlockSize) {
    return Error(ErrorCode::kTooLarge, "SM4 input too large for one call");
  }
  internal::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_CipherInit_ex2(ctx.get(), internal::Sm4Cipher(cipher), key.data(),
                                 needs_iv ? iv.data() : nullptr, encrypt ? 1 : 0, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), pad ? 1 : 0) != 1) {
    return internal::OpensslError(ErrorCode::kCryptoFailure, "SM4 setup failed");
  }
  Bytes out(data.size() + kSm4BlockSize);
  int n1 = 0, n2 = 0;
  static const std::uint8_t kEmpty = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &n1, data.empty() ? &kEmpty : data.data(),
                       static_cast<int>(data.size())) != 1) {
    return internal::OpensslError(ErrorCode::kCryptoFailure, "SM4 failed");
  }
  if (EVP_CipherFinal_ex(ctx.get(), out.data() + n1, &n2) != 1) {
    SecureZero(out.data(), out.size());
    // Only a wrong PKCS#7 padding (or a partial block) makes the final step fail on decrypt.
    return internal::OpensslError(ErrorCode::kMalformedInput, "SM4: bad padding or length");
  }
  out.resize(static_cast<std::size_t>(n1 + n2));
  return out;
}

Status CheckBlockMultiple(ByteView data) {
  if (data.size() % kSm4BlockSize != 0) {
    return Error(ErrorCode::kInvalidArgument, "SM4: data is not a multiple of 16 bytes");
  }
  return OkStatus();
}

Status CheckKey(ByteView key) {
  if (key.size() != kSm4KeySize) {
    return Error(ErrorCode::kInvalidArgument, "SM4 key must be 16 bytes");
  }
  return OkStatus();
}

Status CheckIv(ByteView iv) {
  if (iv.size() != kSm4BlockSize) {
    return Error(ErrorCode::kInvalidArgument, "SM4 IV must be 16 bytes");
  }
  return OkStatus();
}

// Round keys that wipe themselves; for decryption in reverse order (GB/T 32907-2016 7.2).
struct RoundKeys {
  RoundKeys(const internal::Sm4Ops& ops, ByteView key, bool encrypt) {
    ops.expand_key(key.data(), &rk);
    if (!encrypt) {
      for (int i = 0; i < 16; ++i) std::swap(rk.rk[i], rk.rk[31 - i]);
    }
  }
  ~RoundKeys() { SecureZero(&rk, sizeof(rk)); }
  internal::Sm4RoundKeys rk;
};

Result<Bytes> Ecb(const internal::Sm4Ops& ops, ByteView key, ByteView data, bool encrypt) {
  GMPKI_RETURN_IF_ERROR(CheckKey(key));
  const RoundKeys rk(ops, key, encrypt);
  Bytes out(data.size());
  ops.encrypt_blocks(rk.rk, data.data(), out.data(), data.size() / kSm4BlockSize);
  return out;
}

// CBC encryption is sequential: one block at a time (SP 800-38A 6.2).
Result<Bytes> CbcEncrypt(const internal::Sm4Ops& ops, ByteView key, ByteView iv, ByteView data,
                         bool pad) {
  GMPKI_RETURN_IF_ERROR(CheckKey(key));
  GMPKI_RETURN_IF_ERROR(CheckIv(iv));
  const RoundKeys rk(ops, key, /*encrypt=*/true);
  // PKCS#7 (RFC 5652 6.3): 1..16 bytes, each holding the count.
  const std::size_t pad_len = pad ? kSm4BlockSize - data.size() % kSm4BlockSize : 0;
  Bytes out(data.size() + pad_len);
  if (!data.empty()) std::memcpy(out.data(), data.data(), data.size());
  if (pad_len > 0) std::memset(out.data() + data.size(), static_cast<int>(pad_len), pad_len);
  const std::uint8_t* prev = iv.data();
  for (std::size_t off = 0; off < out.size(); off += kSm4BlockSize) {
    for (std::size_t i = 0; i < kSm4BlockSize; ++i) out[off + i] ^= prev[i];
    ops.encrypt_blocks(rk.rk, out.data() + off, out.data() + off, 1);
    prev = out.data() + off;
  }
  return out;
}

// CBC decryption: all blocks at once, then P_i = D(C_i) ^ C_(i-1). The PKCS#7 check reads the
// last 16 bytes whatever the padding length and folds every comparison into one mask, so the
// time does not tell where the padding went wrong (only whether it did, which the caller learns
// anyway).
Result<Bytes> CbcDecrypt(const internal::Sm4Ops& ops, ByteView key, ByteView iv, ByteView data,
                         bool pad) {
  GMPKI_RETURN_IF_ERROR(CheckKey(key));
  GMPKI_RETURN_IF_ERROR(CheckIv(iv));
  const RoundKeys rk(ops, key, /*encrypt=*/false);
  Bytes out(data.size());
  ops.encrypt_blocks(rk.rk, data.data(), out.data(), data.size() / kSm4BlockSize);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] ^= i < kSm4BlockSize ? iv[i] : data[i - kSm4BlockSize];
  }
  if (!pad) return out;
  const std::uint8_t* last = out.data() + out.size() - kSm4BlockSize;
  const unsigned n = last[kSm4BlockSize - 1];
  // bad = (n == 0) | (n > 16) | (some byte of the last n differs from n), as masks.
  unsigned bad = ((n - 1u) >> 8) & 1u;     // n == 0
  bad |= ((16u - n) >> 8) & 1u;            // n > 16
  for (unsigned i = 0; i < kSm4BlockSize; ++i) {
    const unsigned in_pad = ((15u - i - n) >> 8) & 1u;  // i >= 16 - n
    bad |= in_pad & (((last[i] ^ n) + 0xffu) >> 8);     // last[i] != n
  }
  if (bad != 0) {
    SecureZero(out.data(), out.size());
    return Error(ErrorCode::kMalformedInput, "SM4: bad padding or length");
  }
  out.resize(out.size() - n);
  return out;
}

}  // namespace

Result<Bytes> Sm4EcbEncrypt(ByteView key, ByteView data) {
  GMPKI_RETURN_IF_ERROR(CheckBlockMultiple(data));
  if (const internal::Sm4Ops* ops = internal::Sm4ActiveOps()) {
    return Ecb(*ops, key, data, /*encrypt=*/true);
  }
  return Run("SM4-ECB", key, {}, data, true, false);
}

Result<Bytes> Sm4EcbDecrypt(ByteView key, ByteView data) {
  GMPKI_RETURN_IF_ERROR(CheckBlockMultiple(data));
  if (const internal::Sm4Ops* ops = internal::Sm4ActiveOps()) {
    return Ecb(*ops, key, data, /*encrypt=*/false);
  }
  return Run("SM4-ECB", key, {}, data, false, false);
}

Result<Bytes> Sm4CbcEncrypt(ByteView key, ByteView iv, ByteView data, bool pad) {
  if (!pad) GMPKI_RETURN_IF_ERROR(CheckBlockMultiple(data));
  if (const internal::Sm4Ops* ops = internal::Sm4ActiveOps()) {
    return CbcEncrypt(*ops, key, iv, data, pad);
  }
  return Run("SM4-CBC", key, iv, data, true, pad);
}

Result<Bytes> Sm4CbcDecrypt(ByteView key, ByteView iv, ByteView data, bool pad) {
  if (pad && (data.empty() || data.size() % kSm4BlockSize != 0)) {
    return Error(ErrorCode::kMalformedInput, "SM4-CBC: ciphertext is not a whole number of blocks");
  }
  if (!pad) GMPKI_RETURN_IF_ERROR(CheckBlockMultiple(data));
  if (const internal::Sm4Ops* ops = internal::Sm4ActiveOps()) {
    return CbcDecrypt(*ops, key, iv, data, pad);
  }
  return Run("SM4-CBC", key, iv, data, false, pad);
}

Result<Bytes> Sm4Ctr(ByteView key, ByteView iv, ByteView data) {
  if (const internal::Sm4Ops* ops = internal::Sm4ActiveOps()) {
    GMPKI_RETURN_IF_ERROR(CheckKey(key));
    GMPKI_RETURN_IF_ERROR(CheckIv(iv));
    const RoundKeys rk(*ops, key, /*encrypt=*/true);
    std::uint8_t ctr[16];
    std::memcpy(ctr, iv.data(), 16);
    Bytes out(data.size());
    ops->ctr128(rk.rk, ctr, data.data(), out.data(), data.size());
    return out;
  }
  return Run("SM4-CTR", key, iv, data, true, false);
}

}  // namespace gmpki::crypto
