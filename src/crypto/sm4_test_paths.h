// Test-only: runs a test suite once on the reference SM4 path and once on the fast path, so that
// every known-answer vector checks both (the fast run is skipped on CPUs without AVX-512/GFNI).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "crypto/sm4_fast.h"

namespace gmpki::crypto::testing {

class Sm4PathTest : public ::testing::TestWithParam<internal::Sm4Impl> {
 protected:
  void SetUp() override {
    if (GetParam() == internal::Sm4Impl::kFast && !internal::Sm4FastSupported()) {
      GTEST_SKIP() << "CPU lacks AVX-512/GFNI/(V)PCLMULQDQ";
    }
    internal::SetSm4ImplForTesting(GetParam());
    ASSERT_EQ(internal::Sm4UseFast(), GetParam() == internal::Sm4Impl::kFast);
  }
  void TearDown() override { internal::SetSm4ImplForTesting(internal::Sm4Impl::kAuto); }
  bool fast() const { return GetParam() == internal::Sm4Impl::kFast; }
};

inline std::string Sm4PathName(const ::testing::TestParamInfo<internal::Sm4Impl>& info) {
  return info.param == internal::Sm4Impl::kFast ? "Fast" : "Reference";
}

}  // namespace gmpki::crypto::testing

// Instantiates `suite` (a subclass of Sm4PathTest) on both paths.
#define GMPKI_SM4_ON_BOTH_PATHS(suite)                                                 \
  INSTANTIATE_TEST_SUITE_P(Paths, suite,                                               \
                           ::testing::Values(::gmpki::crypto::internal::Sm4Impl::kReference, \
                                             ::gmpki::crypto::internal::Sm4Impl::kFast),     \
                           ::gmpki::crypto::testing::Sm4PathName)
