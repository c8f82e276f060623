// Internals of the soft device shared between soft_device.cc and its tests. Not part of the
// component's public interface: nothing outside src/device includes this header.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "device/key_file.h"
#include "device/soft_device.h"

namespace gmpki::device {

// Locking: `write_mu` serialises every change of the table (generate, destroy) together with
// its file write, so at most one writer exists; `table_mu` guards `table` itself. A writer
// builds the new table and persists it while holding only `write_mu`, then swaps it in under a
// short exclusive `table_mu`. Signers take `table_mu` shared just long enough to copy the
// shared_ptr of one key, and sign with no lock held.
struct SoftDevice::Impl {
  std::filesystem::path file;
  SecretBytes master_key;
  std::mutex write_mu;
  std::shared_mutex table_mu;
  internal::KeyTable table;

  // The key at `index`, or nullptr.
  std::shared_ptr<const internal::StoredKey> Find(std::uint32_t index);
};

namespace internal {

// The soft device's key-management-centre operations (device.h Session::
// GenerateWrappedKeyPairs / EnvelopeWrappedKey), over the device master key; soft_device_km.cc.
Result<std::vector<WrappedKeyPair>> GenerateWrappedKeyPairs(const SecretBytes& master_key,
                                                            std::string_view kek_context,
                                                            std::size_t count);
Result<KeyEnvelopeParts> EnvelopeWrappedKey(const SecretBytes& master_key,
                                            std::string_view kek_context,
                                            ByteView wrapped_private,
                                            const crypto::Sm2PublicKey& public_key,
                                            const crypto::Sm2PublicKey& recipient,
                                            EnvelopeForm form);

}  // namespace internal

// TEST ONLY. The soft device deliberately has no call that exports a private key; this peer
// exists so that a test can check the key file never holds a scalar in clear. Its definition
// (soft_device_test_peer.cc) is compiled into gmpki_device_tests only, never into gmpki_device.
class SoftDeviceTestPeer {
 public:
  static Result<SecretBytes> PrivateScalar(SoftDevice& device, std::uint32_t index);
};

}  // namespace gmpki::device
