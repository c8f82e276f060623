// SM2 sign / verify / keygen: gmpki's engine beside the OpenSSL-backed crypto/sm2.h path.
// Run: bench_sm2_engine --benchmark_min_time=1 (single thread; ops/s is items_per_second).
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "crypto/sm2.h"
#include "crypto/sm2_internal.h"
#include "crypto/sm2_engine/engine.h"

namespace gmpki::crypto::sm2_engine {
namespace {

const Bytes& Digest() {
  static const Bytes e(32, 0xa5);
  return e;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

void BM_Sign_Engine(benchmark::State& state) {
  auto key = PrivateKey::Generate();
  Check(key.ok());
  for (auto _ : state) {
    auto sig = SignDigest(*key, Digest());
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Verify_Engine(benchmark::State& state) {
  auto key = PrivateKey::Generate();
  Check(key.ok());
  auto sig = SignDigest(*key, Digest());
  Check(sig.ok());
  for (auto _ : state) {
    Status st = VerifyDigest(key->public_key(), Digest(), *sig);
    Check(st.ok());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Keygen_Engine(benchmark::State& state) {
  for (auto _ : state) {
    auto key = PrivateKey::Generate();
    benchmark::DoNotOptimize(key);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Sign_Openssl(benchmark::State& state) {
  auto kp = Sm2GenerateKeyPair();
  Check(kp.ok());
  for (auto _ : state) {
    auto sig = gmpki::crypto::internal::OsslSm2SignDigest(kp->private_key, Digest());
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Verify_Openssl(benchmark::State& state) {
  auto kp = Sm2GenerateKeyPair();
  Check(kp.ok());
  auto sig = gmpki::crypto::internal::OsslSm2SignDigest(kp->private_key, Digest());
  Check(sig.ok());
  for (auto _ : state) {
    Status st = gmpki::crypto::internal::OsslSm2VerifyDigest(kp->public_key, Digest(), *sig);
    Check(st.ok());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Keygen_Openssl(benchmark::State& state) {
  // The OpenSSL implementation's key generation: a scalar from the DRBG, then d*G with
  // EC_POINT_mul (what Sm2GenerateKeyPair did before the engine became the default).
  for (auto _ : state) {
    state.PauseTiming();  // a valid scalar; its generation is not what is measured
    auto d = Sm2GenerateKeyPair();
    auto scalar = d->private_key.scalar().Clone();
    state.ResumeTiming();
    auto key = Sm2PrivateKey::FromScalar(scalar.view());
    auto pub = gmpki::crypto::internal::OsslSm2DerivePublicKey(*key);
    benchmark::DoNotOptimize(pub);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Sign_Engine)->Name("SM2_Sign/gmpki-engine");
BENCHMARK(BM_Sign_Openssl)->Name("SM2_Sign/openssl");
BENCHMARK(BM_Verify_Engine)->Name("SM2_Verify/gmpki-engine");
BENCHMARK(BM_Verify_Openssl)->Name("SM2_Verify/openssl");
BENCHMARK(BM_Keygen_Engine)->Name("SM2_Keygen/gmpki-engine");
BENCHMARK(BM_Keygen_Openssl)->Name("SM2_Keygen/openssl");

}  // namespace
}  // namespace gmpki::crypto::sm2_engine

BENCHMARK_MAIN();
