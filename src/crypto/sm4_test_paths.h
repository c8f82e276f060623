// Test-only: runs a test suite once per SM4 path (sm4_fast.h): the reference and each
// constant-time path, so that every known-answer vector checks all of them. A path the CPU
// cannot run is skipped.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "crypto/sm4_fast.h"

namespace gmpki::crypto::testing {

class Sm4PathTest : public ::testing::TestWithParam<internal::Sm4Impl> {
 protected:
  void SetUp() override {
    if (!internal::Sm4ImplSupported(GetParam())) {
      GTEST_SKIP() << "CPU cannot run " << internal::Sm4ImplName(GetParam());
    }
    internal::SetSm4ImplForTesting(GetParam());
    ASSERT_EQ(internal::Sm4ActiveImpl(), GetParam());
  }
  void TearDown() override { internal::SetSm4ImplForTesting(internal::Sm4Impl::kAuto); }
  // The operations of the path under test; nullptr for the reference.
  const internal::Sm4Ops* ops() const { return internal::Sm4OpsFor(GetParam()); }
};

inline std::string Sm4PathName(const ::testing::TestParamInfo<internal::Sm4Impl>& info) {
  switch (info.param) {
    case internal::Sm4Impl::kReference:
      return "Reference";
    case internal::Sm4Impl::kAvx512Gfni:
      return "Avx512Gfni";
    case internal::Sm4Impl::kAesniAvx2:
      return "AesniAvx2";
    case internal::Sm4Impl::kPortable:
      return "Portable";
    case internal::Sm4Impl::kAuto:
      break;
  }
  return "Auto";
}

}  // namespace gmpki::crypto::testing

// Instantiates `suite` (a subclass of Sm4PathTest) on every path.
#define GMPKI_SM4_ON_EVERY_PATH(suite)                                                      \
  INSTANTIATE_TEST_SUITE_P(Paths, suite,                                                    \
                           ::testing::Values(::gmpki::crypto::internal::Sm4Impl::kReference, \
                                             ::gmpki::crypto::internal::Sm4Impl::kAvx512Gfni, \
                                             ::gmpki::crypto::internal::Sm4Impl::kAesniAvx2,  \
                                             ::gmpki::crypto::internal::Sm4Impl::kPortable),  \
                           ::gmpki::crypto::testing::Sm4PathName)
