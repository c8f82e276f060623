// The run-time choice of the SM4 path (sm4_fast.h): CPUID through GCC's __builtin_cpu_supports
// (which also checks that the OS saves the AVX/AVX-512 register state), the environment variable
// GMPKI_SM4_IMPL and the test override.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "crypto/sm4_fast.h"

namespace gmpki::crypto::internal {
namespace {

std::atomic<int> g_impl_override{static_cast<int>(Sm4Impl::kAuto)};

bool CpuHasAvx512Gfni() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("gfni") &&
           __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("vpclmulqdq") &&
           __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1");
  }();
  return supported;
}

bool CpuHasAesniAvx2() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul") &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("ssse3") &&
           __builtin_cpu_supports("sse4.1");
  }();
  return supported;
}

Sm4Impl Best() {
  if (CpuHasAvx512Gfni()) return Sm4Impl::kAvx512Gfni;
  if (CpuHasAesniAvx2()) return Sm4Impl::kAesniAvx2;
  return Sm4Impl::kPortable;
}

// GMPKI_SM4_IMPL may pick a lower constant-time path (to exercise it in a deployment's own
// tests); it cannot pick the table-based reference.
Sm4Impl DefaultImpl() {
  static const Sm4Impl impl = [] {
    const char* v = std::getenv("GMPKI_SM4_IMPL");
    if (v != nullptr) {
      for (Sm4Impl i : {Sm4Impl::kAvx512Gfni, Sm4Impl::kAesniAvx2, Sm4Impl::kPortable}) {
        if (std::strcmp(v, Sm4ImplName(i)) == 0 && Sm4ImplSupported(i)) return i;
      }
    }
    return Best();
  }();
  return impl;
}

}  // namespace

const char* Sm4ImplName(Sm4Impl impl) {
  switch (impl) {
    case Sm4Impl::kAuto:
      return "auto";
    case Sm4Impl::kReference:
      return "reference";
    case Sm4Impl::kAvx512Gfni:
      return "avx512-gfni";
    case Sm4Impl::kAesniAvx2:
      return "aesni-avx2";
    case Sm4Impl::kPortable:
      return "portable";
  }
  return "?";
}

bool Sm4ImplSupported(Sm4Impl impl) {
  switch (impl) {
    case Sm4Impl::kAvx512Gfni:
      return CpuHasAvx512Gfni();
    case Sm4Impl::kAesniAvx2:
      return CpuHasAesniAvx2();
    case Sm4Impl::kAuto:
    case Sm4Impl::kReference:
    case Sm4Impl::kPortable:
      return true;
  }
  return false;
}

Sm4Impl Sm4ActiveImpl() {
  const auto forced = static_cast<Sm4Impl>(g_impl_override.load(std::memory_order_relaxed));
  if (forced != Sm4Impl::kAuto && Sm4ImplSupported(forced)) return forced;
  return DefaultImpl();
}

void SetSm4ImplForTesting(Sm4Impl impl) {
  g_impl_override.store(static_cast<int>(impl), std::memory_order_relaxed);
}

const Sm4Ops* Sm4OpsFor(Sm4Impl impl) {
  if (!Sm4ImplSupported(impl)) return nullptr;
  switch (impl) {
    case Sm4Impl::kAvx512Gfni:
      return &kSm4Avx512GfniOps;
    case Sm4Impl::kAesniAvx2:
      return &kSm4AesniAvx2Ops;
    case Sm4Impl::kPortable:
      return &kSm4PortableOps;
    case Sm4Impl::kAuto:
    case Sm4Impl::kReference:
      break;
  }
  return nullptr;
}

const Sm4Ops* Sm4ActiveOps() { return Sm4OpsFor(Sm4ActiveImpl()); }

}  // namespace gmpki::crypto::internal
