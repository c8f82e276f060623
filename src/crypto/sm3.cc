// SM3 (GB/T 32905-2016), HMAC-SM3 (RFC 2104; GM/T 0042-2015 Appendix D.3 vectors) and the
// GB/T 32918.4-2016 section 5.4.3 KDF, all over OpenSSL's SM3.
#include "crypto/sm3.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdlib>

#include "crypto/ossl_internal.h"

namespace gmpki::crypto {
namespace {

// Fetched once: an implicit fetch on every call (EVP_sm3()) costs a provider lookup per hash.
const EVP_MD* Md() {
  static const EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SM3", nullptr);
    // SM3 is part of OpenSSL's default provider; without it nothing in gmpki can work, and a
    // silent fallback would be worse than stopping.
    if (m == nullptr) std::abort();
    return m;
  }();
  return md;
}

}  // namespace

Sm3Digest Sm3(ByteView data) {
  Sm3Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, Md(), nullptr) != 1 ||
      len != kSm3DigestSize) {
    std::abort();  // only fails on allocation failure
  }
  return out;
}

struct Sm3Hasher::State {
  internal::MdCtxPtr ctx;
};

Sm3Hasher::Sm3Hasher() : s_(std::make_unique<State>()) {
  s_->ctx.reset(EVP_MD_CTX_new());
  if (!s_->ctx || EVP_DigestInit_ex(s_->ctx.get(), Md(), nullptr) != 1) std::abort();
}
Sm3Hasher::~Sm3Hasher() = default;
Sm3Hasher::Sm3Hasher(Sm3Hasher&&) noexcept = default;
Sm3Hasher& Sm3Hasher::operator=(Sm3Hasher&&) noexcept = default;

void Sm3Hasher::Update(ByteView data) {
  if (EVP_DigestUpdate(s_->ctx.get(), data.data(), data.size()) != 1) std::abort();
}

Sm3Digest Sm3Hasher::Final() {
  Sm3Digest out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(s_->ctx.get(), out.data(), &len) != 1 ||
      EVP_DigestInit_ex(s_->ctx.get(), Md(), nullptr) != 1) {
    std::abort();
  }
  return out;
}

Sm3Digest HmacSm3(ByteView key, ByteView data) {
  Sm3Digest out{};
  unsigned int len = 0;
  // RFC 2104 allows an empty key; OpenSSL wants a non-null pointer for it.
  static const std::uint8_t kEmpty = 0;
  const std::uint8_t* k = key.empty() ? &kEmpty : key.data();
  const std::uint8_t* d = data.empty() ? &kEmpty : data.data();
  if (HMAC(Md(), k, static_cast<int>(key.size()), d, data.size(), out.data(), &len) == nullptr ||
      len != kSm3DigestSize) {
    std::abort();
  }
  return out;
}

SecretBytes Sm3Kdf(ByteView z, std::size_t length) {
  SecretBytes out(length);
  internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) std::abort();
  std::uint8_t block[kSm3DigestSize];
  std::size_t done = 0;
  // GB/T 32918.4-2016 5.4.3: ct is a 32-bit counter starting at 0x00000001; Ha_i = H(Z || ct).
  for (std::uint32_t ct = 1; done < length; ++ct) {
    const std::uint8_t ct_be[4] = {static_cast<std::uint8_t>(ct >> 24),
                                   static_cast<std::uint8_t>(ct >> 16),
                                   static_cast<std::uint8_t>(ct >> 8),
                                   static_cast<std::uint8_t>(ct)};
    unsigned int len = 0;
    if (EVP_DigestInit_ex(ctx.get(), Md(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), z.data(), z.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), ct_be, sizeof(ct_be)) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), block, &len) != 1) {
      std::abort();
    }
    const std::size_t take = std::min(length - done, kSm3DigestSize);
    std::copy(block, block + take, out.data() + done);
    done += take;
  }
  SecureZero(block, sizeof(block));
  return out;
}

}  // namespace gmpki::crypto
