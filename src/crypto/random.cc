// The project's randomness: OpenSSL's DRBG (NIST SP 800-90A CTR_DRBG), seeded by the operating
// system. RAND_priv_bytes draws from the private DRBG instance kept apart from the public one, so
// that values that leave the process (nonces, serials) and key material never share a stream.
#include "crypto/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>

#include "crypto/ossl_internal.h"

namespace gmpki::crypto {

Status RandomFill(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t chunk = std::min<std::size_t>(out.size() - done, INT_MAX);
    if (RAND_priv_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
      return internal::OpensslError(ErrorCode::kCryptoFailure, "random generator failed");
    }
    done += chunk;
  }
  return OkStatus();
}

Result<Bytes> RandomBytes(std::size_t n) {
  Bytes out(n);
  GMPKI_RETURN_IF_ERROR(RandomFill(std::span<std::uint8_t>(out.data(), out.size())));
  return out;
}

}  // namespace gmpki::crypto
