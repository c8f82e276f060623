// TEST ONLY: linked into gmpki_device_tests, never into gmpki_device (see CMakeLists.txt).
#include "device/soft_device_internal.h"

namespace gmpki::device {

Result<SecretBytes> SoftDeviceTestPeer::PrivateScalar(SoftDevice& device, std::uint32_t index) {
  auto key = device.impl_->Find(index);
  if (!key) return Error(ErrorCode::kNotFound, "no key at index " + std::to_string(index));
  return key->private_key.scalar().Clone();
}

}  // namespace gmpki::device
