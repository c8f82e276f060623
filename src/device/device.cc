#include "device/device.h"

namespace gmpki::device {

// GB/T 32918.2 section 6.1 A1-A2 happen outside the device (they need only the public key);
// SDF_InternalSign_ECC takes e, as GmSSL's sdf_sign() does (STANDARDS-NOTES section 1).
Result<Bytes> Session::SignMessage(std::uint32_t index, ByteView id, ByteView message) {
  GMPKI_ASSIGN_OR_RETURN(KeyInfo info, GetKey(index));
  if (info.purpose != KeyPurpose::kSign) {
    return Error(ErrorCode::kPermissionDenied,
                 "key " + std::to_string(index) + " is not a signing key");
  }
  GMPKI_ASSIGN_OR_RETURN(crypto::Sm3Digest e,
                         crypto::Sm2MessageDigest(info.public_key, id, message));
  return InternalSign(index, ByteView(e.data(), e.size()));
}

}  // namespace gmpki::device
