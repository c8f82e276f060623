// The "gmpki" provider's SM2 key management (provider-keymgmt(7)): key objects holding an
// sm2.h key pair, import/export of the public point and private scalar in the parameter shape
// of OpenSSL's own SM2 key management, so that keys move both ways between the providers
// (OpenSSL decodes PEM/DER and certificate keys with its own decoders and exports them to us
// when one of our operations is fetched, and exports ours to its encoders for i2d/PEM output).
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <cstring>
#include <memory>
#include <strings.h>

#include "crypto/ossl_internal.h"
#include "crypto/ossl_provider_internal.h"

namespace gmpki::crypto::internal {
namespace {

std::atomic<KeyWipeHook> g_wipe_hook{nullptr};

constexpr int kKeypair = OSSL_KEYMGMT_SELECT_KEYPAIR;

// OpenSSL's name for the curve (EC_curve_nid2nist/OBJ_nid2sn of NID_sm2) and the OID alias.
bool IsSm2GroupName(const char* name) {
  return strcasecmp(name, "SM2") == 0 || std::strcmp(name, "1.2.156.10197.1.301") == 0;
}

// Accepts the uncompressed form and, because another provider may export a key that way, the
// compressed one (GB/T 32918.1 4.2.9), normalised to 04||X||Y; the point is then validated by
// Sm2PublicKey::FromPoint (on the curve, not infinity, in the subgroup).
std::optional<Sm2PublicKey> PublicFromOctets(ByteView octets) {
  if (octets.size() == 65) {
    auto pub = Sm2PublicKey::FromPoint(octets);
    if (pub.ok()) return *pub;
    return std::nullopt;
  }
  if (octets.size() != 33 || (octets[0] != 0x02 && octets[0] != 0x03)) return std::nullopt;
  const EC_GROUP* group = Curve().group;
  BnCtxPtr bn_ctx(BN_CTX_new());
  EcPointPtr p(EC_POINT_new(group));
  std::uint8_t out[65];
  if (!bn_ctx || !p ||
      EC_POINT_oct2point(group, p.get(), octets.data(), octets.size(), bn_ctx.get()) != 1 ||
      EC_POINT_point2oct(group, p.get(), POINT_CONVERSION_UNCOMPRESSED, out, sizeof(out),
                         bn_ctx.get()) != sizeof(out)) {
    ERR_clear_error();
    return std::nullopt;
  }
  auto pub = Sm2PublicKey::FromPoint(ByteView(out, sizeof(out)));
  if (pub.ok()) return *pub;
  return std::nullopt;
}

void* KmNew(void* /*provctx*/) { return new (std::nothrow) ProvSm2Key(); }

void KmFree(void* keydata) { KeyUnref(static_cast<ProvSm2Key*>(keydata)); }

int KmHas(const void* keydata, int selection) {
  const auto* k = static_cast<const ProvSm2Key*>(keydata);
  if (k == nullptr) return 0;
  // Domain parameters are fixed (the SM2 curve), so every key object has them.
  if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 && !k->pub) return 0;
  if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && !k->priv) return 0;
  return 1;
}

int KmMatch(const void* a, const void* b, int selection) {
  const auto* x = static_cast<const ProvSm2Key*>(a);
  const auto* y = static_cast<const ProvSm2Key*>(b);
  if ((selection & kKeypair) == 0) return 1;  // same curve by construction
  // As OpenSSL's EC match: compare public points when both have them, else private scalars.
  if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 && x->pub && y->pub) {
    return *x->pub == *y->pub ? 1 : 0;
  }
  if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && x->priv && y->priv) {
    return ConstantTimeEqual(x->scalar.view(), y->scalar.view()) ? 1 : 0;
  }
  return 0;
}

int KmValidate(const void* keydata, int selection, int /*checktype*/) {
  const auto* k = static_cast<const ProvSm2Key*>(keydata);
  if (KmHas(keydata, selection) == 0) return 0;
  // Public points were fully validated on import; a pair must be consistent
  // (GB/T 32918.1 6.2 public key validation, then the pairwise check).
  if ((selection & kKeypair) == kKeypair) {
    auto derived = k->priv->DerivePublicKey();
    return derived.ok() && *derived == *k->pub ? 1 : 0;
  }
  return 1;
}

// Sets the private scalar (and the public point derived from it when `pub` is absent); a
// given `pub` must match it.
bool SetPrivate(ProvSm2Key* k, ByteView d32) {
  auto priv = Sm2PrivateKey::FromScalar(d32);
  if (!priv.ok()) return false;
  auto derived = priv->DerivePublicKey();
  if (!derived.ok()) return false;
  if (k->pub && !(*k->pub == *derived)) return false;
  k->pub = *derived;
  k->scalar = SecretBytes(d32);
  k->priv.emplace(std::move(*priv));
  return true;
}

int KmImport(void* keydata, int selection, const OSSL_PARAM params[]) {
  auto* k = static_cast<ProvSm2Key*>(keydata);
  if (k == nullptr || k->pub || k->priv) return 0;  // key objects are filled once
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME)) {
    const char* name = nullptr;
    if (OSSL_PARAM_get_utf8_string_ptr(p, &name) != 1 || !IsSm2GroupName(name)) return 0;
  }
  const OSSL_PARAM* pub = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY);
  const OSSL_PARAM* priv = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY);
  bool any = false;
  if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 && pub != nullptr) {
    const void* data = nullptr;
    std::size_t len = 0;
    if (OSSL_PARAM_get_octet_string_ptr(pub, &data, &len) != 1) return 0;
    k->pub = PublicFromOctets(ByteView(static_cast<const std::uint8_t*>(data), len));
    if (!k->pub) return 0;
    any = true;
  }
  if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && priv != nullptr) {
    BnPtr d(BN_secure_new());
    BIGNUM* raw = d.get();
    SecretBytes d32(32);
    if (!d || OSSL_PARAM_get_BN(priv, &raw) != 1 || !BnToFixed(d.get(), d32.data(), 32) ||
        !SetPrivate(k, d32.view())) {
      ERR_clear_error();
      k->pub.reset();
      return 0;
    }
    any = true;
  }
  // Domain parameters alone (the fixed curve) are a valid import; key parts asked for must come.
  return any || (selection & kKeypair) == 0 ? 1 : 0;
}

const OSSL_PARAM kKeyTypes[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, nullptr, 0),
    OSSL_PARAM_END,
};

const OSSL_PARAM* KmKeyTypes(int /*selection*/) { return kKeyTypes; }

struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  // The scalar sits in the secure-heap block (BN_secure_new below), which OSSL_PARAM_free clears.
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};

int KmExport(void* keydata, int selection, OSSL_CALLBACK* cb, void* cbarg) {
  const auto* k = static_cast<const ProvSm2Key*>(keydata);
  if (k == nullptr) return 0;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld) return 0;
  // OpenSSL's SM2 import requires the group with every selection that has domain parameters.
  if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) != 0 &&
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0) != 1) {
    return 0;
  }
  if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 && k->pub &&
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, k->pub->point().data(),
                                       k->pub->point().size()) != 1) {
    return 0;
  }
  BnPtr d;  // secure-heap BIGNUM: OSSL_PARAM_BLD then puts the scalar in secure memory too
  if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && k->priv) {
    d.reset(BN_secure_new());
    if (!d || BN_bin2bn(k->scalar.data(), static_cast<int>(k->scalar.size()), d.get()) == nullptr ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1) {
      return 0;
    }
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return 0;
  return cb(params.get(), cbarg);
}

const OSSL_PARAM kGettable[] = {
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, nullptr, 0),
    OSSL_PARAM_END,
};

const OSSL_PARAM* KmGettableParams(void* /*provctx*/) { return kGettable; }

int KmGetParams(void* keydata, OSSL_PARAM params[]) {
  const auto* k = static_cast<const ProvSm2Key*>(keydata);
  if (k == nullptr) return 0;
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) && !OSSL_PARAM_set_int(p, 256)) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) &&
      !OSSL_PARAM_set_int(p, 128)) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) &&
      !OSSL_PARAM_set_int(p, static_cast<int>(kSm2MaxSignatureSize))) {
    return 0;
  }
  // GM/T 0009 pairs SM2 with SM3; EVP_DigestSignInit with no digest asks for this.
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST)) &&
      !OSSL_PARAM_set_utf8_string(p, "SM3")) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_GROUP_NAME)) &&
      !OSSL_PARAM_set_utf8_string(p, "SM2")) {
    return 0;
  }
  for (const char* name : {OSSL_PKEY_PARAM_PUB_KEY, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY}) {
    if ((p = OSSL_PARAM_locate(params, name)) != nullptr) {
      if (!k->pub ||
          !OSSL_PARAM_set_octet_string(p, k->pub->point().data(), k->pub->point().size())) {
        return 0;
      }
    }
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY)) != nullptr) {
    BnPtr d(BN_secure_new());
    if (!k->priv || !d ||
        BN_bin2bn(k->scalar.data(), static_cast<int>(k->scalar.size()), d.get()) == nullptr ||
        !OSSL_PARAM_set_BN(p, d.get())) {
      return 0;
    }
  }
  return 1;
}

const char* KmQueryOperationName(int /*operation_id*/) { return "SM2"; }

void* KmDup(const void* from, int selection) {
  const auto* k = static_cast<const ProvSm2Key*>(from);
  if (k == nullptr) return nullptr;
  auto copy = std::make_unique<ProvSm2Key>();
  if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0) copy->pub = k->pub;
  if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && k->priv &&
      !SetPrivate(copy.get(), k->scalar.view())) {
    return nullptr;
  }
  return copy.release();
}

// Key generation: the SM2 curve is the only group; a keypair comes from Sm2GenerateKeyPair.
struct GenCtx {
  int selection = 0;
};

void* KmGenInit(void* /*provctx*/, int selection, const OSSL_PARAM params[]);

int KmGenSetParams(void* genctx, const OSSL_PARAM params[]) {
  if (genctx == nullptr) return 0;
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME)) {
    const char* name = nullptr;
    if (OSSL_PARAM_get_utf8_string_ptr(p, &name) != 1 || !IsSm2GroupName(name)) return 0;
  }
  return 1;
}

void* KmGenInit(void* /*provctx*/, int selection, const OSSL_PARAM params[]) {
  auto ctx = std::make_unique<GenCtx>();
  ctx->selection = selection;
  if (KmGenSetParams(ctx.get(), params) != 1) return nullptr;
  return ctx.release();
}

const OSSL_PARAM kGenSettable[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
    OSSL_PARAM_END,
};

const OSSL_PARAM* KmGenSettableParams(void* /*genctx*/, void* /*provctx*/) {
  return kGenSettable;
}

void* KmGen(void* genctx, OSSL_CALLBACK* /*cb*/, void* /*cbarg*/) {
  const auto* g = static_cast<const GenCtx*>(genctx);
  if (g == nullptr) return nullptr;
  auto key = std::make_unique<ProvSm2Key>();
  if ((g->selection & kKeypair) != 0) {
    auto kp = Sm2GenerateKeyPair();
    if (!kp.ok()) return nullptr;
    key->pub = kp->public_key;
    key->scalar = SecretBytes(kp->private_key.scalar().view());
    key->priv.emplace(std::move(kp->private_key));
  }
  return key.release();
}

void KmGenCleanup(void* genctx) { delete static_cast<GenCtx*>(genctx); }

}  // namespace

ProvSm2Key* KeyRef(ProvSm2Key* key) {
  key->refs.fetch_add(1, std::memory_order_relaxed);
  return key;
}

void KeyUnref(ProvSm2Key* key) {
  if (key == nullptr || key->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  // The sm2.h key wipes its own copy (SecretBytes); ours is wiped here, observably for tests.
  key->priv.reset();
  if (!key->scalar.empty()) {
    key->scalar.Wipe();
    if (KeyWipeHook hook = g_wipe_hook.load()) hook(key->scalar.view());
  }
  delete key;
}

void SetKeyWipeHookForTesting(KeyWipeHook hook) { g_wipe_hook.store(hook); }
KeyWipeHook KeyWipeHookForTesting() { return g_wipe_hook.load(); }

const OSSL_DISPATCH kSm2KeymgmtFunctions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, GMPKI_OSSL_FN(keymgmt_new, KmNew)},
    {OSSL_FUNC_KEYMGMT_FREE, GMPKI_OSSL_FN(keymgmt_free, KmFree)},
    {OSSL_FUNC_KEYMGMT_GEN_INIT, GMPKI_OSSL_FN(keymgmt_gen_init, KmGenInit)},
    {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, GMPKI_OSSL_FN(keymgmt_gen_set_params, KmGenSetParams)},
    {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, GMPKI_OSSL_FN(keymgmt_gen_settable_params, KmGenSettableParams)},
    {OSSL_FUNC_KEYMGMT_GEN, GMPKI_OSSL_FN(keymgmt_gen, KmGen)},
    {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, GMPKI_OSSL_FN(keymgmt_gen_cleanup, KmGenCleanup)},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, GMPKI_OSSL_FN(keymgmt_get_params, KmGetParams)},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, GMPKI_OSSL_FN(keymgmt_gettable_params, KmGettableParams)},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, GMPKI_OSSL_FN(keymgmt_query_operation_name, KmQueryOperationName)},
    {OSSL_FUNC_KEYMGMT_HAS, GMPKI_OSSL_FN(keymgmt_has, KmHas)},
    {OSSL_FUNC_KEYMGMT_VALIDATE, GMPKI_OSSL_FN(keymgmt_validate, KmValidate)},
    {OSSL_FUNC_KEYMGMT_MATCH, GMPKI_OSSL_FN(keymgmt_match, KmMatch)},
    {OSSL_FUNC_KEYMGMT_IMPORT, GMPKI_OSSL_FN(keymgmt_import, KmImport)},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, GMPKI_OSSL_FN(keymgmt_import_types, KmKeyTypes)},
    {OSSL_FUNC_KEYMGMT_EXPORT, GMPKI_OSSL_FN(keymgmt_export, KmExport)},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, GMPKI_OSSL_FN(keymgmt_export_types, KmKeyTypes)},
    {OSSL_FUNC_KEYMGMT_DUP, GMPKI_OSSL_FN(keymgmt_dup, KmDup)},
    {0, nullptr},
};

}  // namespace gmpki::crypto::internal
