// The "gmpki" OpenSSL provider (ossl_provider.h): its entry point, algorithm tables and the
// process-wide installation and implementation switch. The operations are in
// ossl_provider_{keymgmt,signature,cipher}.cc.
//
// Installed before main(): gmpki_crypto's CMakeLists.txt makes every binary that links it keep
// this object (a linker "undefined symbol" option naming gmpki_sm2_provider_autoinstall below),
// whose initialiser calls InstallSm2Provider(). One place, so that the servers, the CLI and every
// test binary run OpenSSL's SM2 on the same implementation without each main() remembering to.
#include "crypto/ossl_provider.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

#include "crypto/ossl_internal.h"
#include "crypto/ossl_provider_internal.h"

namespace gmpki::crypto {
namespace internal {
namespace {

std::atomic<std::uint64_t> g_counts[5];

// Algorithm names as OpenSSL's own SM2 registers them (name and OID), so that fetches by either
// find both implementations; the property is the one a query "provider=gmpki" matches.
constexpr char kNames[] = "SM2:1.2.156.10197.1.301";
constexpr char kProperty[] = "provider=gmpki";

const OSSL_ALGORITHM kKeymgmt[] = {
    {kNames, kProperty, kSm2KeymgmtFunctions, "gmpki SM2 keys"},
    {nullptr, nullptr, nullptr, nullptr},
};
const OSSL_ALGORITHM kSignature[] = {
    {kNames, kProperty, kSm2SignatureFunctions, "gmpki SM2 signature with SM3 (GM/T 0009)"},
    {nullptr, nullptr, nullptr, nullptr},
};
const OSSL_ALGORITHM kAsymCipher[] = {
    {kNames, kProperty, kSm2AsymCipherFunctions, "gmpki SM2 encryption (GM/T 0009 ASN.1)"},
    {nullptr, nullptr, nullptr, nullptr},
};

const OSSL_ALGORITHM* ProvQueryOperation(void* /*provctx*/, int operation_id, int* no_store) {
  *no_store = 0;  // the tables are static: OpenSSL may cache what it fetched
  switch (operation_id) {
    case OSSL_OP_KEYMGMT:
      return kKeymgmt;
    case OSSL_OP_SIGNATURE:
      return kSignature;
    case OSSL_OP_ASYM_CIPHER:
      return kAsymCipher;
    default:
      return nullptr;
  }
}

const OSSL_PARAM kProvParams[] = {
    OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, nullptr, 0),
    OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, nullptr, 0),
    OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, nullptr, 0),
    OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, nullptr),
    OSSL_PARAM_END,
};

const OSSL_PARAM* ProvGettableParams(void* /*provctx*/) { return kProvParams; }

int ProvGetParams(void* /*provctx*/, OSSL_PARAM params[]) {
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) != nullptr &&
      !OSSL_PARAM_set_utf8_ptr(p, "gmpki SM2 provider")) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) != nullptr &&
      !OSSL_PARAM_set_utf8_ptr(p, "1")) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) != nullptr &&
      !OSSL_PARAM_set_utf8_ptr(p, "gmpki sm2_engine")) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) != nullptr &&
      !OSSL_PARAM_set_int(p, 1)) {
    return 0;
  }
  return 1;
}

void ProvTeardown(void* /*provctx*/) {}

const OSSL_DISPATCH kProvDispatch[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, GMPKI_OSSL_FN(provider_teardown, ProvTeardown)},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS,
     GMPKI_OSSL_FN(provider_gettable_params, ProvGettableParams)},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, GMPKI_OSSL_FN(provider_get_params, ProvGetParams)},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION,
     GMPKI_OSSL_FN(provider_query_operation, ProvQueryOperation)},
    {0, nullptr},
};

// The provider keeps no state of its own: the context is only a non-null token.
int ProvInit(const OSSL_CORE_HANDLE* /*handle*/, const OSSL_DISPATCH* /*in*/,
             const OSSL_DISPATCH** out, void** provctx) {
  static int token;
  *out = kProvDispatch;
  *provctx = &token;
  return 1;
}

std::atomic<Sm2Impl> g_active{Sm2Impl::kOpenSsl};

Status SetDefaultProperties(Sm2Impl impl) {
  // An optional property ("?"): a preference, so every other algorithm is fetched as before.
  const char* query = impl == Sm2Impl::kGmpki ? "?provider=gmpki" : "?provider!=gmpki";
  if (EVP_set_default_properties(nullptr, query) != 1) {
    return OpensslError(ErrorCode::kCryptoFailure, "cannot set OpenSSL default properties");
  }
  g_active.store(impl);
  return OkStatus();
}

// The loaded providers, kept reachable for the life of the process (LeakSanitizer would report
// handles dropped on the floor; OPENSSL_cleanup unloads them at exit).
OSSL_PROVIDER* g_default_provider = nullptr;
OSSL_PROVIDER* g_gmpki_provider = nullptr;

Status Install() {
  if (OSSL_PROVIDER_add_builtin(nullptr, std::string(kSm2ProviderName).c_str(), &ProvInit) != 1) {
    return OpensslError(ErrorCode::kCryptoFailure, "cannot register the gmpki provider");
  }
  // Loading any provider explicitly stops OpenSSL from loading "default" on its own, so it is
  // loaded here too: OpenSSL's SM2 (for comparison) and everything that is not SM2 live there.
  // The handles are kept for the life of the process; OPENSSL_cleanup unloads them at exit.
  g_default_provider = OSSL_PROVIDER_load(nullptr, "default");
  if (g_default_provider == nullptr) {
    return OpensslError(ErrorCode::kCryptoFailure, "cannot load OpenSSL's default provider");
  }
  g_gmpki_provider = OSSL_PROVIDER_load(nullptr, std::string(kSm2ProviderName).c_str());
  if (g_gmpki_provider == nullptr) {
    return OpensslError(ErrorCode::kCryptoFailure, "cannot load the gmpki provider");
  }
  const char* env = std::getenv("GMPKI_SM2_IMPL");
  const bool openssl = env != nullptr && std::string(env) == "openssl";
  return SetDefaultProperties(openssl ? Sm2Impl::kOpenSsl : Sm2Impl::kGmpki);
}

}  // namespace

void CountProviderOp(ProvOp op) {
  g_counts[static_cast<int>(op)].fetch_add(1, std::memory_order_relaxed);
}

}  // namespace internal

Status InstallSm2Provider() {
  static const Status* installed = new Status(internal::Install());  // once; never destroyed
  return *installed;
}

Status SelectSm2Impl(Sm2Impl impl) {
  GMPKI_RETURN_IF_ERROR(InstallSm2Provider().ok()
                            ? OkStatus()
                            : Status(ErrorCode::kFailedPrecondition,
                                     "the gmpki provider is not installed: " +
                                         InstallSm2Provider().error().message()));
  static std::mutex mu;  // EVP_set_default_properties and the flag change together
  std::lock_guard lock(mu);
  return internal::SetDefaultProperties(impl);
}

Sm2Impl ActiveSm2Impl() { return internal::g_active.load(); }

Sm2ProviderCounts Sm2ProviderOperations() {
  using internal::ProvOp;
  auto get = [](ProvOp op) {
    return internal::g_counts[static_cast<int>(op)].load(std::memory_order_relaxed);
  };
  Sm2ProviderCounts c;
  c.signs = get(ProvOp::kSign);
  c.verifies = get(ProvOp::kVerify);
  c.encrypts = get(ProvOp::kEncrypt);
  c.decrypts = get(ProvOp::kDecrypt);
  c.empty_id_verifies = get(ProvOp::kEmptyIdVerify);
  return c;
}

}  // namespace gmpki::crypto

// Kept by the linker in every binary linking gmpki_crypto (see the top of this file); its
// initialiser installs the provider before main(). A failure is not fatal here (there is no
// caller to tell): ActiveSm2Impl() then reports kOpenSsl and InstallSm2Provider() the error.
extern "C" const int gmpki_sm2_provider_autoinstall = [] {
  (void)gmpki::crypto::InstallSm2Provider();
  return 1;
}();
