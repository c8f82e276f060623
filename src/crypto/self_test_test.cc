#include "crypto/self_test.h"

#include <gtest/gtest.h>

namespace gmpki::crypto {
namespace {

// req: CC-FPT
TEST(SelfTest, PassesOnAHealthyBuild) {
  const Status s = RunSelfTests();
  EXPECT_TRUE(s.ok()) << s.error().ToString();
}

// req: CC-FPT
TEST(SelfTest, InjectedFailureIsReported) {
  InjectSelfTestFailureForTesting(true);
  const Status s = RunSelfTests();
  InjectSelfTestFailureForTesting(false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kSelfTestFailure);
  EXPECT_NE(s.error().message().find("SM3"), std::string::npos);
  EXPECT_TRUE(RunSelfTests().ok());
}

}  // namespace
}  // namespace gmpki::crypto
