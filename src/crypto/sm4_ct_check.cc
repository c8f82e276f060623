// Constant-time check for SM4 under valgrind memcheck (the technique of BoringSSL's
// CONSTTIME_SECRET, as in sm2_engine/ct_check.cc): the key, the IV-independent plaintext and the
// GCM key material are marked undefined, so a branch or a memory index that depends on them, or
// on anything computed from them, makes memcheck report an error and valgrind --error-exitcode
// fail the run.
//
// Covered, on the portable path and (where valgrind's CPU model has AES-NI and AVX2) on the
// AES-NI path: key expansion, ECB encryption and decryption, CBC encryption and unpadded
// decryption, CTR (128-bit counter), GCM sealing (CTR with inc32, H, GHASH, the tag) and GHASH
// alone. Not covered: the AVX-512 path (valgrind does not emulate AVX-512), the verdicts that are
// public by design (the GCM tag check and the CBC padding check return success or failure).
#include <valgrind/memcheck.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

#include "base/bytes.h"
#include "crypto/sm4.h"
#include "crypto/sm4_fast.h"

using namespace gmpki;
using namespace gmpki::crypto;

namespace {

// Marks `b` secret.
void Secret(Bytes& b) { VALGRIND_MAKE_MEM_UNDEFINED(b.data(), b.size()); }

// Declassifies a result (ciphertext is public) and folds it into a checksum that is printed, so
// the work cannot be optimised away.
std::uint32_t Publish(const Result<Bytes>& r) {
  if (!r.ok()) {
    std::fprintf(stderr, "sm4_ct_check: operation failed: %s\n", r.error().message().c_str());
    std::exit(2);
  }
  VALGRIND_MAKE_MEM_DEFINED(r->data(), r->size());
  std::uint32_t sum = 0;
  for (std::uint8_t b : *r) sum = sum * 31 + b;
  return sum;
}

std::uint32_t CheckedWork(internal::Sm4Impl impl) {
  internal::SetSm4ImplForTesting(impl);
  if (internal::Sm4ActiveImpl() != impl) {
    std::fprintf(stderr, "sm4_ct_check: %s did not take effect\n", internal::Sm4ImplName(impl));
    std::exit(2);
  }
  Bytes key(16), iv(16), msg(100), aad(20);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(0x17 * i + 3);
  for (std::size_t i = 0; i < iv.size(); ++i) iv[i] = static_cast<std::uint8_t>(0xf0 + i);
  for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<std::uint8_t>(i * i);
  for (std::size_t i = 0; i < aad.size(); ++i) aad[i] = static_cast<std::uint8_t>(0x40 + i);
  Secret(key);
  Secret(msg);
  const ByteView blocks(msg.data(), 96);
  std::uint32_t sum = 0;
  sum ^= Publish(Sm4EcbEncrypt(key, blocks));
  sum ^= Publish(Sm4EcbDecrypt(key, blocks));
  sum ^= Publish(Sm4CbcEncrypt(key, iv, msg));
  sum ^= Publish(Sm4CbcDecrypt(key, iv, blocks, /*pad=*/false));
  sum ^= Publish(Sm4Ctr(key, iv, msg));
  sum ^= Publish(Sm4GcmSeal(key, ByteView(iv.data(), 12), aad, msg));
  sum ^= Publish(Sm4GcmSeal(key, iv, aad, msg));  // a 16-byte IV: J0 through GHASH
  // GHASH alone with a secret H.
  const internal::Sm4Ops* ops = internal::Sm4ActiveOps();
  Bytes h(16);
  std::memcpy(h.data(), key.data(), 16);
  Secret(h);
  internal::GhashKey gk;
  ops->ghash_init(h.data(), &gk);
  Bytes y(16, 0);
  ops->ghash_update(gk, y.data(), msg.data(), 6);
  sum ^= Publish(Result<Bytes>(y));
  internal::SetSm4ImplForTesting(internal::Sm4Impl::kAuto);
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--deliberate-leak") == 0) {
    // Control: a table look-up indexed by a secret byte (what a table-based S-box does) must make
    // memcheck fail the run (CTest expects the failure: sm4_constant_time_control, WILL_FAIL).
    static const std::uint8_t kTable[256] = {1, 2, 3};
    std::uint8_t secret[1] = {0x5a};
    VALGRIND_MAKE_MEM_UNDEFINED(secret, sizeof(secret));
    volatile std::uint8_t v = kTable[secret[0]];
    if (v != 0) std::printf("looked up\n");
    return 0;
  }
  int paths = 0;
  for (internal::Sm4Impl impl : {internal::Sm4Impl::kPortable, internal::Sm4Impl::kAesniAvx2}) {
    if (!internal::Sm4ImplSupported(impl)) {
      std::printf("sm4 ct check: %s not available here, skipped\n", internal::Sm4ImplName(impl));
      continue;
    }
    const std::uint32_t sum = CheckedWork(impl);
    std::printf("sm4 ct check (%s) done: %08x\n", internal::Sm4ImplName(impl), sum);
    ++paths;
  }
  return paths > 0 ? 0 : 1;
}
