// The software crypto device: key pairs kept in one file sealed with SM4-GCM under a 128-bit
// device master key. The master key itself is never stored; it is rebuilt at start from k
// custodian shares (secret_sharing.h). Writes are atomic (write to a temporary file, fsync,
// rename, fsync the directory), so a crash never leaves a half-written key file.
//
// File format (PERSISTENT): magic "GMPKISD1", version u32, a 12-byte nonce per write, then
// SM4-GCM(master key, nonce, aad = magic||version, serialised key table) with its tag.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "device/device.h"

namespace gmpki::device {

class SoftDevice final : public CryptoDevice {
 public:
  // Creates an empty device file; kAlreadyExists if the file exists.
  static Result<std::unique_ptr<SoftDevice>> Create(const std::filesystem::path& file,
                                                    const SecretBytes& master_key);
  // Opens an existing file. kIntegrityFailure when the master key is wrong or the file was
  // altered (the GCM tag does not verify).
  static Result<std::unique_ptr<SoftDevice>> Open(const std::filesystem::path& file,
                                                  const SecretBytes& master_key);
  ~SoftDevice() override;

  Result<std::unique_ptr<Session>> OpenSession() override;
  DeviceInfo GetDeviceInfo() override;

  struct Impl;

 private:
  // Test-only access (soft_device_internal.h); compiled into the test binary, not the library.
  friend class SoftDeviceTestPeer;

  explicit SoftDevice(std::unique_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// A fresh random 16-byte master key.
Result<SecretBytes> GenerateMasterKey();

}  // namespace gmpki::device
