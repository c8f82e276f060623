// The "gmpki" provider's SM2 encryption (provider-asym_cipher(7)), as OpenSSL 3.0's own
// (EVP_ASYM_CIPHER-SM2(7)): EVP_PKEY_encrypt/decrypt with the GM/T 0009-2012 ASN.1 ciphertext
// SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING, ciphertext OCTET STRING } (C1C3C2) and
// SM3 as the KDF and C3 hash (GB/T 32918.4-2016 section 6), computed by sm2.h.
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cstring>
#include <memory>
#include <strings.h>

#include "crypto/ossl_provider_internal.h"

namespace gmpki::crypto::internal {
namespace {

struct CipherCtx {
  ProvSm2Key* key = nullptr;  // a reference (KeyRef), dropped in the destructor
  ~CipherCtx() { KeyUnref(key); }
};

// DER length of a length field's value `n` plus its tag and length octets.
std::size_t DerTlvSize(std::size_t n) {
  std::size_t len_octets = n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1000000 ? 4 : 5;
  return 1 + len_octets + n;
}

// Upper bound of the GM/T 0009 ciphertext for `plain_len` bytes: two INTEGERs of at most 33
// bytes (a leading zero when the top bit is set), the 32-byte C3 and C2.
std::size_t CiphertextBound(std::size_t plain_len) {
  return DerTlvSize(2 * DerTlvSize(33) + DerTlvSize(kSm3DigestSize) + DerTlvSize(plain_len));
}

void* CipherNewCtx(void* /*provctx*/) { return new (std::nothrow) CipherCtx(); }
void CipherFreeCtx(void* vctx) { delete static_cast<CipherCtx*>(vctx); }

void* CipherDupCtx(void* vctx) {
  const auto* src = static_cast<const CipherCtx*>(vctx);
  auto* dst = new (std::nothrow) CipherCtx();
  if (dst != nullptr && src->key != nullptr) dst->key = KeyRef(src->key);
  return dst;
}

int CipherSetCtxParams(void* vctx, const OSSL_PARAM params[]) {
  if (vctx == nullptr) return 0;
  // SM3 is the only digest of GB/T 32918.4 as gmpki implements it.
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_DIGEST)) {
    const char* name = nullptr;
    if (OSSL_PARAM_get_utf8_string_ptr(p, &name) != 1 ||
        (strcasecmp(name, "SM3") != 0 && std::strcmp(name, "1.2.156.10197.1.401") != 0)) {
      return 0;
    }
  }
  return 1;
}

const OSSL_PARAM kParams[] = {
    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_DIGEST, nullptr, 0),
    OSSL_PARAM_END,
};
const OSSL_PARAM* CipherParamTypes(void* /*vctx*/, void* /*provctx*/) { return kParams; }

int CipherGetCtxParams(void* vctx, OSSL_PARAM params[]) {
  if (vctx == nullptr) return 0;
  OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_DIGEST);
  return p == nullptr || OSSL_PARAM_set_utf8_string(p, "SM3") ? 1 : 0;
}

int CipherInit(void* vctx, void* provkey, const OSSL_PARAM params[], bool decrypting) {
  auto* ctx = static_cast<CipherCtx*>(vctx);
  auto* key = static_cast<ProvSm2Key*>(provkey);
  if (ctx == nullptr || key == nullptr || (decrypting ? !key->priv : !key->pub)) return 0;
  KeyUnref(ctx->key);
  ctx->key = KeyRef(key);
  return CipherSetCtxParams(vctx, params);
}

int CipherEncryptInit(void* vctx, void* provkey, const OSSL_PARAM params[]) {
  return CipherInit(vctx, provkey, params, false);
}
int CipherDecryptInit(void* vctx, void* provkey, const OSSL_PARAM params[]) {
  return CipherInit(vctx, provkey, params, true);
}

int CipherEncrypt(void* vctx, unsigned char* out, std::size_t* outlen, std::size_t outsize,
                  const unsigned char* in, std::size_t inlen) {
  const auto* ctx = static_cast<const CipherCtx*>(vctx);
  if (ctx == nullptr || ctx->key == nullptr || !ctx->key->pub) return 0;
  if (out == nullptr) {
    *outlen = CiphertextBound(inlen);
    return 1;
  }
  auto ct = Sm2Encrypt(*ctx->key->pub, ByteView(in, inlen));
  CountProviderOp(ProvOp::kEncrypt);
  if (!ct.ok() || ct->size() > outsize) return 0;
  std::memcpy(out, ct->data(), ct->size());
  *outlen = ct->size();
  return 1;
}

int CipherDecrypt(void* vctx, unsigned char* out, std::size_t* outlen, std::size_t outsize,
                  const unsigned char* in, std::size_t inlen) {
  const auto* ctx = static_cast<const CipherCtx*>(vctx);
  if (ctx == nullptr || ctx->key == nullptr || !ctx->key->priv) return 0;
  if (out == nullptr) {
    *outlen = inlen;  // the plaintext (C2) is shorter than the whole ciphertext
    return 1;
  }
  auto pt = Sm2Decrypt(*ctx->key->priv, ByteView(in, inlen));
  CountProviderOp(ProvOp::kDecrypt);
  if (!pt.ok() || pt->size() > outsize) return 0;
  std::memcpy(out, pt->data(), pt->size());
  *outlen = pt->size();
  return 1;
}

}  // namespace

const OSSL_DISPATCH kSm2AsymCipherFunctions[] = {
    {OSSL_FUNC_ASYM_CIPHER_NEWCTX, GMPKI_OSSL_FN(asym_cipher_newctx, CipherNewCtx)},
    {OSSL_FUNC_ASYM_CIPHER_FREECTX, GMPKI_OSSL_FN(asym_cipher_freectx, CipherFreeCtx)},
    {OSSL_FUNC_ASYM_CIPHER_DUPCTX, GMPKI_OSSL_FN(asym_cipher_dupctx, CipherDupCtx)},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, GMPKI_OSSL_FN(asym_cipher_encrypt_init, CipherEncryptInit)},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT, GMPKI_OSSL_FN(asym_cipher_encrypt, CipherEncrypt)},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, GMPKI_OSSL_FN(asym_cipher_decrypt_init, CipherDecryptInit)},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT, GMPKI_OSSL_FN(asym_cipher_decrypt, CipherDecrypt)},
    {OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, GMPKI_OSSL_FN(asym_cipher_get_ctx_params, CipherGetCtxParams)},
    {OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS, GMPKI_OSSL_FN(asym_cipher_gettable_ctx_params, CipherParamTypes)},
    {OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, GMPKI_OSSL_FN(asym_cipher_set_ctx_params, CipherSetCtxParams)},
    {OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, GMPKI_OSSL_FN(asym_cipher_settable_ctx_params, CipherParamTypes)},
    {0, nullptr},
};

}  // namespace gmpki::crypto::internal
