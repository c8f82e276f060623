#include "crypto/sm2_engine/nonce_pool.h"

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <span>

#include "base/bytes.h"
#include "crypto/random.h"
#include "crypto/sm2_engine/point.h"

namespace gmpki::crypto::sm2_engine {
namespace {

// Retries of A3's rejection sampling for one candidate before the DRBG is declared broken.
constexpr int kMaxDraws = 64;

// Bumped in every child process created by fork(); a pool filled under an older value was
// copied from the parent and must not be used (its k values are the parent's too).
std::atomic<std::uint64_t> g_fork_generation{0};

void OnForkChild() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

// Registers the fork handler once per process, before the first pool is filled; false when
// pthread_atfork failed (ENOMEM), and then no pool is kept (TakeNonce fails).
bool ForkHandlerRegistered() {
  static const bool kRegistered = pthread_atfork(nullptr, nullptr, &OnForkChild) == 0;
  return kRegistered;
}

struct Pool {
  Nonce items[kNonceBatch];
  std::size_t next = kNonceBatch;  // items[next..] are unused; kNonceBatch: empty
  std::uint64_t generation = 0;

  void Wipe() {
    SecureZero(items, sizeof(items));
    next = kNonceBatch;
  }
  ~Pool() { Wipe(); }
};

thread_local Pool t_pool;

// Draws kNonceBatch values k uniformly in [1, n-1] (GB/T 32918.2-2016 6.1 A3) with one DRBG
// call, redrawing a rejected candidate on its own.
Status DrawScalars(U256 (&k)[kNonceBatch]) {
  std::uint8_t buf[32 * kNonceBatch];
  Status status = RandomFill(std::span<std::uint8_t>(buf, sizeof(buf)));
  for (std::size_t j = 0; status.ok() && j < kNonceBatch; ++j) {
    std::uint8_t* bj = buf + 32 * j;
    k[j] = FromBe32(bj);
    // The verdict is public: a rejected candidate is discarded, so the branch says nothing about
    // the kept value.
    for (int draw = 1; !ScInRangeMask(k[j]); ++draw) {
      if (draw == kMaxDraws) {
        status = Error(ErrorCode::kCryptoFailure, "SM2 sign: no usable k after repeated draws");
        break;
      }
      status = RandomFill(std::span<std::uint8_t>(bj, 32));
      if (!status.ok()) break;
      k[j] = FromBe32(bj);
    }
  }
  SecureZero(buf, sizeof(buf));
  if (!status.ok()) SecureZero(k, sizeof(k));
  return status;
}

Status Refill(Pool& pool) {
  U256 k[kNonceBatch];
  GMPKI_RETURN_IF_ERROR(DrawScalars(k));
  const bool ok = ComputeNonces(pool.items, k, kNonceBatch);
  SecureZero(k, sizeof(k));
  if (!ok) {
    pool.Wipe();
    return Error(ErrorCode::kInternal, "SM2 sign: k*G at infinity for k in [1, n-1]");
  }
  pool.next = 0;
  return OkStatus();
}

}  // namespace

bool ComputeNonces(Nonce* out, const U256* k, std::size_t count) {
  if (count == 0) return true;
  JacobianPoint jac[kNonceBatch];
  Fe prefix[kNonceBatch];
  bool all_finite = true;
  for (std::size_t start = 0; start < count; start += kNonceBatch) {
    const std::size_t m = count - start < kNonceBatch ? count - start : kNonceBatch;
    for (std::size_t j = 0; j < m; ++j) ScalarMulBase(jac[j], k[start + j]);
    // Montgomery's simultaneous inversion, x coordinates only: prefix[j] = z_0 ... z_j, one
    // inversion of the product, then z_j^-1 = inv * prefix[j-1] walking back, x = X z^-2.
    prefix[0] = jac[0].z;
    for (std::size_t j = 1; j < m; ++j) FeMul(prefix[j], prefix[j - 1], jac[j].z);
    const u64 any_infinity = FeIsZeroMask(prefix[m - 1]);
    Fe inv;
    FeInv(inv, prefix[m - 1]);  // 0 when some z is 0; reported below, never used then
    for (std::size_t j = m; j-- > 0;) {
      Fe zinv = inv, zinv2, x;
      if (j > 0) {  // j is public
        FeMul(zinv, inv, prefix[j - 1]);
        FeMul(inv, inv, jac[j].z);
      }
      FeSqr(zinv2, zinv);
      FeMul(x, jac[j].x, zinv2);
      // A5 uses x1 as an integer mod n: x1 < p < 2n, reduced by ScFromIntReduce.
      out[start + j].x1 = ScFromIntReduce(FeToInt(x));
      out[start + j].k = ScFromIntReduce(k[start + j]);
      SecureZero(&zinv, sizeof(zinv));
      SecureZero(&zinv2, sizeof(zinv2));
      SecureZero(&x, sizeof(x));
    }
    SecureZero(&inv, sizeof(inv));
    all_finite = all_finite & (any_infinity == 0);
  }
  SecureZero(jac, sizeof(jac));
  SecureZero(prefix, sizeof(prefix));
  return all_finite;
}

Status TakeNonce(Nonce& out) {
  if (!ForkHandlerRegistered()) {
    return Error(ErrorCode::kCryptoFailure, "SM2 sign: cannot register the fork handler");
  }
  Pool& pool = t_pool;
  const std::uint64_t generation = g_fork_generation.load(std::memory_order_relaxed);
  if (pool.generation != generation) {
    pool.Wipe();  // inherited through fork(): the parent may use the same values
    pool.generation = generation;
  }
  if (pool.next >= kNonceBatch) GMPKI_RETURN_IF_ERROR(Refill(pool));
  out = pool.items[pool.next];
  SecureZero(&pool.items[pool.next], sizeof(Nonce));
  ++pool.next;
  return OkStatus();
}

void DiscardThreadNoncesForTesting() { t_pool.Wipe(); }

}  // namespace gmpki::crypto::sm2_engine
