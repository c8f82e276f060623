// The "gmpki" provider's SM2 signature (provider-signature(7)), in the shape of OpenSSL 3.0's
// own (EVP_SIGNATURE-SM2(7)): EVP_PKEY_sign/verify take e = SM3(Z || M) itself; the
// DigestSign/DigestVerify operations compute Z (GB/T 32918.2-2016 5.5) from the public key and
// the distinguishing ID (parameter "distid"), hash Z || M with SM3 and sign or verify e with
// sm2.h (gmpki's engine).
//
// ID rule (ossl_provider.h): an explicit "distid" is used alone. Without one, signing uses the
// GM/T 0009-2012 section 10 default "1234567812345678"; verification accepts that ID and, for
// OpenSSL 3.x signers whose default is the empty ID, the empty ID as a second candidate.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <memory>
#include <strings.h>

#include "crypto/ossl_internal.h"
#include "crypto/ossl_provider_internal.h"

namespace gmpki::crypto::internal {
namespace {

// Whether `name` (a digest name OpenSSL passes: "SM3", an alias or the OID) names SM3; GM/T
// 0009 fixes SM3 as SM2's hash and the engine computes Z with SM3 only.
bool IsSm3(const char* name) {
  return name == nullptr || strcasecmp(name, "SM3") == 0 ||
         std::strcmp(name, "1.2.156.10197.1.401") == 0;
}

struct SigCtx {
  ProvSm2Key* key = nullptr;  // a reference (KeyRef), dropped in the destructor
  Bytes id;
  bool id_set = false;
  // DigestSign/DigestVerify state: Z goes in front of the first message byte, once.
  bool digest_op = false;
  bool z_pending = false;
  MdCtxPtr md;        // SM3(Z || M) with the explicit or GM/T default ID
  MdCtxPtr md_empty;  // SM3(Z || M) with the empty ID: verification with no ID set only
  bool verifying = false;

  ~SigCtx() { KeyUnref(key); }
};

void* SigNewCtx(void* /*provctx*/, const char* /*propq*/) {
  return new (std::nothrow) SigCtx();
}

void SigFreeCtx(void* vctx) { delete static_cast<SigCtx*>(vctx); }

bool CopyMd(const MdCtxPtr& from, MdCtxPtr& to) {
  if (!from) return true;
  to.reset(EVP_MD_CTX_new());
  return to && EVP_MD_CTX_copy_ex(to.get(), from.get()) == 1;
}

// EVP_DigestSignFinal duplicates the context so that the caller may go on updating.
void* SigDupCtx(void* vctx) {
  const auto* src = static_cast<const SigCtx*>(vctx);
  auto dst = std::make_unique<SigCtx>();
  dst->key = src->key != nullptr ? KeyRef(src->key) : nullptr;
  dst->id = src->id;
  dst->id_set = src->id_set;
  dst->digest_op = src->digest_op;
  dst->z_pending = src->z_pending;
  dst->verifying = src->verifying;
  if (!CopyMd(src->md, dst->md) || !CopyMd(src->md_empty, dst->md_empty)) return nullptr;
  return dst.release();
}

int SigSetCtxParams(void* vctx, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (ctx == nullptr) return 0;
  if (params == nullptr) return 1;
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_DIST_ID)) {
    // Z is computed at the first message byte; an ID set after that would not be used.
    if (ctx->digest_op && !ctx->z_pending) return 0;
    const void* data = nullptr;
    std::size_t len = 0;
    if (p->data_size != 0 && OSSL_PARAM_get_octet_string_ptr(p, &data, &len) != 1) return 0;
    // ENTL is a 16-bit count of bits (GB/T 32918.2 5.5): at most 8191 bytes.
    if (len > 8191) return 0;
    const auto* b = static_cast<const std::uint8_t*>(data);
    ctx->id.assign(b, b + len);
    ctx->id_set = true;
  }
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST_SIZE)) {
    std::size_t size = 0;
    if (OSSL_PARAM_get_size_t(p, &size) != 1 || size != kSm3DigestSize) return 0;
  }
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST)) {
    const char* name = nullptr;
    if (OSSL_PARAM_get_utf8_string_ptr(p, &name) != 1 || !IsSm3(name)) return 0;
  }
  return 1;
}

const OSSL_PARAM kSettable[] = {
    OSSL_PARAM_size_t(OSSL_SIGNATURE_PARAM_DIGEST_SIZE, nullptr),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_DIST_ID, nullptr, 0),
    OSSL_PARAM_END,
};
const OSSL_PARAM* SigSettableCtxParams(void* /*vctx*/, void* /*provctx*/) { return kSettable; }

int SigGetCtxParams(void* vctx, OSSL_PARAM params[]) {
  if (vctx == nullptr) return 0;
  OSSL_PARAM* p;
  // X509_sign / ASN1_item_sign take the signatureAlgorithm from here for provider keys.
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) != nullptr &&
      !OSSL_PARAM_set_octet_string(p, kSm2WithSm3AlgorithmId, sizeof(kSm2WithSm3AlgorithmId))) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST_SIZE)) != nullptr &&
      !OSSL_PARAM_set_size_t(p, kSm3DigestSize)) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) != nullptr &&
      !OSSL_PARAM_set_utf8_string(p, "SM3")) {
    return 0;
  }
  return 1;
}

const OSSL_PARAM kGettable[] = {
    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, nullptr, 0),
    OSSL_PARAM_size_t(OSSL_SIGNATURE_PARAM_DIGEST_SIZE, nullptr),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
    OSSL_PARAM_END,
};
const OSSL_PARAM* SigGettableCtxParams(void* /*vctx*/, void* /*provctx*/) { return kGettable; }

int SigInit(void* vctx, void* provkey, const OSSL_PARAM params[], bool verifying) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (ctx == nullptr) return 0;
  if (provkey != nullptr) {
    auto* key = static_cast<ProvSm2Key*>(provkey);
    if (verifying ? !key->pub : !key->priv) return 0;
    KeyUnref(ctx->key);
    ctx->key = KeyRef(key);
  }
  if (ctx->key == nullptr) return 0;
  ctx->verifying = verifying;
  ctx->digest_op = false;
  ctx->z_pending = false;
  ctx->md.reset();
  ctx->md_empty.reset();
  return SigSetCtxParams(vctx, params);
}

int SigSignInit(void* vctx, void* provkey, const OSSL_PARAM params[]) {
  return SigInit(vctx, provkey, params, false);
}
int SigVerifyInit(void* vctx, void* provkey, const OSSL_PARAM params[]) {
  return SigInit(vctx, provkey, params, true);
}

// EVP_PKEY_sign: `tbs` is e. With sig == nullptr, the maximum signature size.
int SigSign(void* vctx, unsigned char* sig, std::size_t* siglen, std::size_t sigsize,
            const unsigned char* tbs, std::size_t tbslen) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (ctx == nullptr || ctx->key == nullptr || !ctx->key->priv) return 0;
  if (sig == nullptr) {
    *siglen = kSm2MaxSignatureSize;
    return 1;
  }
  if (tbslen != kSm3DigestSize) return 0;
  auto der = Sm2SignDigest(*ctx->key->priv, ByteView(tbs, tbslen));
  CountProviderOp(ProvOp::kSign);
  if (!der.ok() || der->size() > sigsize) return 0;
  std::memcpy(sig, der->data(), der->size());
  *siglen = der->size();
  return 1;
}

int SigVerify(void* vctx, const unsigned char* sig, std::size_t siglen, const unsigned char* tbs,
              std::size_t tbslen) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (ctx == nullptr || ctx->key == nullptr || !ctx->key->pub) return 0;
  if (tbslen != kSm3DigestSize) return 0;
  CountProviderOp(ProvOp::kVerify);
  return Sm2VerifyDigest(*ctx->key->pub, ByteView(tbs, tbslen), ByteView(sig, siglen)).ok() ? 1
                                                                                            : 0;
}

// SM3 context seeded with Z for `id`.
MdCtxPtr HashWithZ(const Sm2PublicKey& pub, ByteView id) {
  auto z = Sm2ComputeZ(pub, id);
  if (!z.ok()) return nullptr;
  MdCtxPtr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sm3(), nullptr) != 1 ||
      EVP_DigestUpdate(md.get(), z->data(), z->size()) != 1) {
    return nullptr;
  }
  return md;
}

bool FeedZ(SigCtx* ctx) {
  if (!ctx->z_pending) return true;
  ctx->z_pending = false;
  const Sm2PublicKey& pub = *ctx->key->pub;
  ctx->md = HashWithZ(pub, ctx->id_set ? ByteView(ctx->id) : AsBytes(kDefaultSm2Id));
  if (!ctx->md) return false;
  if (ctx->verifying && !ctx->id_set) {
    ctx->md_empty = HashWithZ(pub, ByteView());
    if (!ctx->md_empty) return false;
  }
  return true;
}

int SigDigestInit(void* vctx, const char* mdname, void* provkey, const OSSL_PARAM params[],
                  bool verifying) {
  if (!IsSm3(mdname) || SigInit(vctx, provkey, params, verifying) != 1) return 0;
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (!ctx->key->pub) return 0;  // Z needs the public key
  ctx->digest_op = true;
  ctx->z_pending = true;
  return 1;
}

int SigDigestSignInit(void* vctx, const char* mdname, void* provkey, const OSSL_PARAM params[]) {
  return SigDigestInit(vctx, mdname, provkey, params, false);
}
int SigDigestVerifyInit(void* vctx, const char* mdname, void* provkey,
                        const OSSL_PARAM params[]) {
  return SigDigestInit(vctx, mdname, provkey, params, true);
}

int SigDigestUpdate(void* vctx, const unsigned char* data, std::size_t datalen) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (ctx == nullptr || !ctx->digest_op || !FeedZ(ctx)) return 0;
  if (EVP_DigestUpdate(ctx->md.get(), data, datalen) != 1) return 0;
  if (ctx->md_empty && EVP_DigestUpdate(ctx->md_empty.get(), data, datalen) != 1) return 0;
  return 1;
}

bool Finish(EVP_MD_CTX* md, Sm3Digest& e) {
  unsigned int len = 0;
  return EVP_DigestFinal_ex(md, e.data(), &len) == 1 && len == e.size();
}

int SigDigestSignFinal(void* vctx, unsigned char* sig, std::size_t* siglen, std::size_t sigsize) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (ctx == nullptr || !ctx->digest_op) return 0;
  if (sig == nullptr) return SigSign(vctx, nullptr, siglen, 0, nullptr, 0);
  Sm3Digest e{};
  if (!FeedZ(ctx) || !Finish(ctx->md.get(), e)) return 0;
  return SigSign(vctx, sig, siglen, sigsize, e.data(), e.size());
}

int SigDigestVerifyFinal(void* vctx, const unsigned char* sig, std::size_t siglen) {
  auto* ctx = static_cast<SigCtx*>(vctx);
  if (ctx == nullptr || !ctx->digest_op) return 0;
  Sm3Digest e{};
  if (!FeedZ(ctx) || !Finish(ctx->md.get(), e)) return 0;
  if (SigVerify(vctx, sig, siglen, e.data(), e.size()) == 1) return 1;
  if (!ctx->md_empty) return 0;
  Sm3Digest e_empty{};
  if (!Finish(ctx->md_empty.get(), e_empty)) return 0;
  if (!Sm2VerifyDigest(*ctx->key->pub, e_empty, ByteView(sig, siglen)).ok()) return 0;
  CountProviderOp(ProvOp::kEmptyIdVerify);
  return 1;
}

}  // namespace

const OSSL_DISPATCH kSm2SignatureFunctions[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, GMPKI_OSSL_FN(signature_newctx, SigNewCtx)},
    {OSSL_FUNC_SIGNATURE_FREECTX, GMPKI_OSSL_FN(signature_freectx, SigFreeCtx)},
    {OSSL_FUNC_SIGNATURE_DUPCTX, GMPKI_OSSL_FN(signature_dupctx, SigDupCtx)},
    {OSSL_FUNC_SIGNATURE_SIGN_INIT, GMPKI_OSSL_FN(signature_sign_init, SigSignInit)},
    {OSSL_FUNC_SIGNATURE_SIGN, GMPKI_OSSL_FN(signature_sign, SigSign)},
    {OSSL_FUNC_SIGNATURE_VERIFY_INIT, GMPKI_OSSL_FN(signature_verify_init, SigVerifyInit)},
    {OSSL_FUNC_SIGNATURE_VERIFY, GMPKI_OSSL_FN(signature_verify, SigVerify)},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, GMPKI_OSSL_FN(signature_digest_sign_init, SigDigestSignInit)},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, GMPKI_OSSL_FN(signature_digest_sign_update, SigDigestUpdate)},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, GMPKI_OSSL_FN(signature_digest_sign_final, SigDigestSignFinal)},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, GMPKI_OSSL_FN(signature_digest_verify_init, SigDigestVerifyInit)},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, GMPKI_OSSL_FN(signature_digest_verify_update, SigDigestUpdate)},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, GMPKI_OSSL_FN(signature_digest_verify_final, SigDigestVerifyFinal)},
    {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, GMPKI_OSSL_FN(signature_get_ctx_params, SigGetCtxParams)},
    {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, GMPKI_OSSL_FN(signature_gettable_ctx_params, SigGettableCtxParams)},
    {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, GMPKI_OSSL_FN(signature_set_ctx_params, SigSetCtxParams)},
    {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, GMPKI_OSSL_FN(signature_settable_ctx_params, SigSettableCtxParams)},
    {0, nullptr},
};

}  // namespace gmpki::crypto::internal
