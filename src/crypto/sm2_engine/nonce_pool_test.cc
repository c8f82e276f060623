// The signing nonce pool (nonce_pool.h): x1 = x(k*G) mod n against OpenSSL's EC_POINT_mul,
// every k used once (within a thread, across threads and across fork()), and signatures made
// from pooled nonces verifying.
#include "crypto/sm2_engine/nonce_pool.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "crypto/sm2_engine/engine.h"
#include "crypto/sm2_engine/test_util.h"

namespace gmpki::crypto::sm2_engine {
namespace {

using testing::BnPtr;
using testing::CtxPtr;
using testing::RandomU256;
using testing::ToBn;

struct GroupFree {
  void operator()(EC_GROUP* g) const { EC_GROUP_free(g); }
};
struct PointFree {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};

// x(k*G) mod n computed by OpenSSL, as 32 big-endian bytes.
std::array<std::uint8_t, 32> OpensslX1ModN(const U256& k) {
  std::unique_ptr<EC_GROUP, GroupFree> g(EC_GROUP_new_by_curve_name(NID_sm2));
  std::unique_ptr<EC_POINT, PointFree> p(EC_POINT_new(g.get()));
  CtxPtr ctx(BN_CTX_new());
  BnPtr kb = ToBn(k), x(BN_new());
  EXPECT_EQ(EC_POINT_mul(g.get(), p.get(), kb.get(), nullptr, nullptr, ctx.get()), 1);
  EXPECT_EQ(EC_POINT_get_affine_coordinates(g.get(), p.get(), x.get(), nullptr, ctx.get()), 1);
  EXPECT_EQ(BN_nnmod(x.get(), x.get(), EC_GROUP_get0_order(g.get()), ctx.get()), 1);
  std::array<std::uint8_t, 32> out{};
  BN_bn2binpad(x.get(), out.data(), 32);
  return out;
}

std::array<std::uint8_t, 32> Bytes32(const Sc& a) {
  std::array<std::uint8_t, 32> out{};
  ScToBytes(out.data(), a);
  return out;
}

U256 NMinus(std::uint64_t d) {
  U256 r;
  Sub4(r, kOrderN.m, U256{{d, 0, 0, 0}});
  return r;
}

// req: CC-FCS
TEST(Sm2EngineNoncePool, ComputeNoncesMatchesOpenssl) {
  // 37 values: two full batches and a partial one, with the ends of [1, n-1] among them.
  std::vector<U256> k(37);
  for (auto& v : k) {
    do {
      v = RandomU256();
    } while (!ScInRangeMask(v));
  }
  k[0] = U256{{1, 0, 0, 0}};
  k[5] = NMinus(1);
  k[20] = U256{{2, 0, 0, 0}};
  k[36] = NMinus(2);
  std::vector<Nonce> out(k.size());
  ASSERT_TRUE(ComputeNonces(out.data(), k.data(), k.size()));
  for (std::size_t j = 0; j < k.size(); ++j) {
    SCOPED_TRACE(j);
    EXPECT_EQ(Bytes32(out[j].x1), OpensslX1ModN(k[j]));
    std::array<std::uint8_t, 32> kb{};
    ToBe32(k[j], kb.data());
    EXPECT_EQ(Bytes32(out[j].k), kb);
  }
}

// req: CC-FCS
TEST(Sm2EngineNoncePool, ReportsInfinity) {
  // k = n is outside the contract; the batch must say so rather than hand out x1 = 0.
  std::vector<U256> k = {U256{{3, 0, 0, 0}}, kOrderN.m, U256{{5, 0, 0, 0}}};
  std::vector<Nonce> out(k.size());
  EXPECT_FALSE(ComputeNonces(out.data(), k.data(), k.size()));
}

// req: CC-FCS
TEST(Sm2EngineNoncePool, TakenNoncesAreFreshAndConsistent) {
  DiscardThreadNoncesForTesting();
  std::set<std::array<std::uint8_t, 32>> seen;
  for (std::size_t i = 0; i < 3 * kNonceBatch + 3; ++i) {
    Nonce n;
    ASSERT_TRUE(TakeNonce(n).ok());
    const auto kb = Bytes32(n.k);
    EXPECT_TRUE(seen.insert(kb).second) << "k repeated at take " << i;
    const U256 k = FromBe32(kb.data());
    EXPECT_TRUE(ScInRangeMask(k));
    EXPECT_EQ(Bytes32(n.x1), OpensslX1ModN(k));
  }
}

// req: CC-FCS
TEST(Sm2EngineNoncePool, ThreadsNeverShareANonce) {
  constexpr int kThreads = 4, kPerThread = 2 * static_cast<int>(kNonceBatch) + 5;
  std::vector<std::vector<std::array<std::uint8_t, 32>>> taken(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&taken, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Nonce n;
        if (TakeNonce(n).ok()) taken[t].push_back(Bytes32(n.k));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::array<std::uint8_t, 32>> all;
  for (const auto& v : taken) {
    EXPECT_EQ(v.size(), static_cast<std::size_t>(kPerThread));
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

// A child created by fork() inherits a copy of the parent's pool; using it would give parent
// and child the same k, and two signatures with one k reveal d. The child must refill.
// req: CC-FCS
TEST(Sm2EngineNoncePool, ForkedChildDoesNotReuseTheParentsNonces) {
  DiscardThreadNoncesForTesting();
  Nonce first;
  ASSERT_TRUE(TakeNonce(first).ok());  // the pool now holds kNonceBatch - 1 unused nonces
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    std::array<std::uint8_t, 32 * 3> out{};
    for (int i = 0; i < 3; ++i) {
      Nonce n;
      if (!TakeNonce(n).ok()) _exit(2);
      ScToBytes(out.data() + 32 * i, n.k);
    }
    const bool wrote = write(fds[1], out.data(), out.size()) == static_cast<ssize_t>(out.size());
    _exit(wrote ? 0 : 3);
  }
  close(fds[1]);
  std::array<std::uint8_t, 32 * 3> child{};
  std::size_t got = 0;
  while (got < child.size()) {
    const ssize_t n = read(fds[0], child.data() + got, child.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_EQ(got, child.size());
  std::set<std::array<std::uint8_t, 32>> parent;
  for (std::size_t i = 0; i + 1 < 2 * kNonceBatch; ++i) {
    Nonce n;
    ASSERT_TRUE(TakeNonce(n).ok());
    parent.insert(Bytes32(n.k));
  }
  for (int i = 0; i < 3; ++i) {
    std::array<std::uint8_t, 32> kb{};
    std::memcpy(kb.data(), child.data() + 32 * i, 32);
    EXPECT_EQ(parent.count(kb), 0u) << "child reused the parent's nonce " << i;
  }
}

// req: CC-FCS
TEST(Sm2EngineNoncePool, SignaturesFromPooledNoncesVerifyAndDiffer) {
  auto key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  std::uint8_t e[32];
  for (int i = 0; i < 32; ++i) e[i] = static_cast<std::uint8_t>(3 * i + 1);
  std::set<std::array<std::uint8_t, 32>> rs;
  for (std::size_t i = 0; i < 2 * kNonceBatch + 1; ++i) {
    auto sig = SignDigest(*key, ByteView(e, 32));
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE(VerifyDigest(key->public_key(), ByteView(e, 32), *sig).ok());
    EXPECT_TRUE(rs.insert(sig->r).second);  // same e: a repeated r would mean a repeated k
  }
}

}  // namespace
}  // namespace gmpki::crypto::sm2_engine
