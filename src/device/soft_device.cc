#include "device/soft_device.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "base/clock.h"
#include "crypto/random.h"
#include "crypto/sm3.h"
#include "crypto/sm4.h"
#include "device/soft_device_internal.h"

namespace gmpki::device {
namespace {

using internal::KeyTable;
using internal::StoredKey;

constexpr std::string_view kManufacturer = "gmpki";
constexpr std::string_view kModel = "soft-sdf";
// A key file of 100000 keys is about 20 MB; anything far larger is not ours.
constexpr off_t kMaxKeyFileSize = 64 << 20;
constexpr std::size_t kMaxRandomRequest = 1 << 20;
constexpr std::string_view kKekLabel = "gmpki-kek-v1:";

Error IoError(const std::string& what, const std::filesystem::path& p) {
  return Error(ErrorCode::kIoError, what + " " + p.string() + ": " + std::strerror(errno));
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  // Closes now and reports the result: a failing close after write can mean lost data.
  bool Close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

Result<Bytes> ReadWholeFile(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Error(ErrorCode::kNotFound, "no key file " + path.string());
    return IoError("cannot open", path);
  }
  FdCloser closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return IoError("cannot stat", path);
  if (!S_ISREG(st.st_mode) || st.st_size > kMaxKeyFileSize) {
    return Error(ErrorCode::kMalformedInput, "not a key file: " + path.string());
  }
  Bytes data(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot read", path);
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  data.resize(done);
  return data;
}

Status FsyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open directory", dir);
  FdCloser closer(fd);
  if (::fsync(fd) != 0) return IoError("cannot fsync directory", dir);
  return OkStatus();
}

// Writes `image` to `path` so that a crash leaves either the old file or the new one: write a
// temporary file in the same directory, fsync it, move it into place, fsync the directory so
// the new name is durable. With `exclusive`, the move is link(2), which fails atomically when
// `path` already exists (kAlreadyExists), so two Creates can never overwrite each other.
Status WriteFileAtomically(const std::filesystem::path& path, ByteView image, bool exclusive) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  Bytes suffix(8);
  GMPKI_RETURN_IF_ERROR(crypto::RandomFill(suffix));
  const std::filesystem::path tmp = path.string() + ".tmp-" + HexEncode(suffix);

  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create", tmp);
  FdCloser closer(fd);
  auto fail = [&](const std::string& what) {
    Error e = IoError(what, tmp);
    ::unlink(tmp.c_str());
    return e;
  };
  std::size_t done = 0;
  while (done < image.size()) {
    const ssize_t n = ::write(fd, image.data() + done, image.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot fsync");
  if (!closer.Close()) return fail("cannot close");

  if (exclusive) {
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      if (err == EEXIST) {
        return Error(ErrorCode::kAlreadyExists, "key file exists: " + path.string());
      }
      errno = err;
      return IoError("cannot link key file", path);
    }
    ::unlink(tmp.c_str());
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail("cannot rename");
  }
  return FsyncDirectory(dir);
}

Status PersistTable(SoftDevice::Impl& impl, const KeyTable& table, bool exclusive) {
  GMPKI_ASSIGN_OR_RETURN(Bytes image, internal::SealKeyFile(impl.master_key.view(), table));
  return WriteFileAtomically(impl.file, image, exclusive);
}

Status CheckMasterKey(const SecretBytes& master_key) {
  if (master_key.size() != crypto::kSm4KeySize) {
    return Error(ErrorCode::kInvalidArgument, "master key must be 16 bytes");
  }
  return OkStatus();
}

Error NotFound(std::uint32_t index) {
  return Error(ErrorCode::kNotFound, "no key at index " + std::to_string(index));
}

// Several processes may open one key file (the server and the CLI on the same home). Changes
// are serialised across processes by an exclusive flock on "<file>.lock", and every change
// starts from the file as it is on disk, so no process can drop a key another one added.
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::filesystem::path& key_file) {
    const std::string path = key_file.string() + ".lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return IoError("cannot open lock file", path);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd);
        return IoError("cannot lock", path);
      }
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

// Re-reads the key file and makes it the table in memory. Keys already handed to in-flight
// operations stay valid (they are shared_ptrs).
Status Reload(SoftDevice::Impl& impl) {
  GMPKI_ASSIGN_OR_RETURN(Bytes image, ReadWholeFile(impl.file));
  GMPKI_ASSIGN_OR_RETURN(KeyTable table, internal::OpenKeyFile(impl.master_key.view(), image));
  std::unique_lock lock(impl.table_mu);
  impl.table = std::move(table);
  return OkStatus();
}

class SoftSession final : public Session {
 public:
  explicit SoftSession(std::shared_ptr<SoftDevice::Impl> impl) : impl_(std::move(impl)) {}

  Result<KeyInfo> GenerateKeyPair(std::string_view label, KeyPurpose purpose) override {
    GMPKI_RETURN_IF_ERROR(internal::ValidateLabel(label));
    if (purpose != KeyPurpose::kSign && purpose != KeyPurpose::kEncrypt) {
      return Error(ErrorCode::kInvalidArgument, "unknown key purpose");
    }
    std::lock_guard write_lock(impl_->write_mu);
    GMPKI_ASSIGN_OR_RETURN(FileLock file_lock, FileLock::Acquire(impl_->file));
    GMPKI_RETURN_IF_ERROR(Reload(*impl_));
    // Holding write_mu, no one else changes the table: it can be read without table_mu.
    const KeyTable& current = impl_->table;
    for (const auto& key : current.keys) {
      if (key->info.label == label) {
        return Error(ErrorCode::kAlreadyExists,
                     "a key labelled '" + std::string(label) + "' exists");
      }
    }
    if (current.next_index == UINT32_MAX) {
      return Error(ErrorCode::kFailedPrecondition, "key index space exhausted");
    }
    GMPKI_ASSIGN_OR_RETURN(crypto::Sm2KeyPair pair, crypto::Sm2GenerateKeyPair());
    KeyInfo info;
    info.index = current.next_index;
    info.label = std::string(label);
    info.purpose = purpose;
    info.public_key = pair.public_key;
    info.created_unix = ToUnixSeconds(SystemClock().Now());

    KeyTable next;
    next.device_id = current.device_id;
    next.next_index = current.next_index + 1;
    next.keys = current.keys;
    next.keys.push_back(
        std::make_shared<const StoredKey>(StoredKey{info, std::move(pair.private_key)}));
    // The table in memory changes only once the file holding it is durable.
    GMPKI_RETURN_IF_ERROR(PersistTable(*impl_, next, /*exclusive=*/false));
    std::unique_lock table_lock(impl_->table_mu);
    impl_->table = std::move(next);
    return info;
  }

  Result<KeyInfo> GetKey(std::uint32_t index) override {
    auto key = impl_->Find(index);
    if (!key) {
      // Another process may have added it since this one read the file.
      GMPKI_RETURN_IF_ERROR(Reload(*impl_));
      key = impl_->Find(index);
    }
    if (!key) return NotFound(index);
    return key->info;
  }

  Result<KeyInfo> FindKey(std::string_view label) override {
    for (int pass = 0; pass < 2; ++pass) {
      {
        std::shared_lock lock(impl_->table_mu);
        for (const auto& key : impl_->table.keys) {
          if (key->info.label == label) return key->info;
        }
      }
      if (pass == 0) GMPKI_RETURN_IF_ERROR(Reload(*impl_));  // added by another process?
    }
    return Error(ErrorCode::kNotFound, "no key labelled '" + std::string(label) + "'");
  }

  Result<std::vector<KeyInfo>> ListKeys() override {
    std::shared_lock lock(impl_->table_mu);
    std::vector<KeyInfo> out;
    out.reserve(impl_->table.keys.size());
    for (const auto& key : impl_->table.keys) out.push_back(key->info);
    return out;
  }

  Result<Bytes> InternalSign(std::uint32_t index, ByteView e32) override {
    if (e32.size() != crypto::kSm3DigestSize) {
      return Error(ErrorCode::kInvalidArgument, "InternalSign takes a 32-byte digest e");
    }
    auto key = impl_->Find(index);
    if (!key) return NotFound(index);
    if (key->info.purpose != KeyPurpose::kSign) {
      return Error(ErrorCode::kPermissionDenied,
                   "key " + std::to_string(index) + " is not a signing key");
    }
    // No lock is held here: `key` keeps the pair alive even if it is destroyed meanwhile.
    return crypto::Sm2SignDigest(key->private_key, e32);
  }

  Result<SecretBytes> InternalDecrypt(std::uint32_t index, ByteView ciphertext) override {
    auto key = impl_->Find(index);
    if (!key) return NotFound(index);
    if (key->info.purpose != KeyPurpose::kEncrypt) {
      return Error(ErrorCode::kPermissionDenied,
                   "key " + std::to_string(index) + " is not an encryption key");
    }
    return crypto::Sm2Decrypt(key->private_key, ciphertext);
  }

  Status DestroyKey(std::uint32_t index) override {
    std::lock_guard write_lock(impl_->write_mu);
    GMPKI_ASSIGN_OR_RETURN(FileLock file_lock, FileLock::Acquire(impl_->file));
    GMPKI_RETURN_IF_ERROR(Reload(*impl_));
    const KeyTable& current = impl_->table;
    KeyTable next;
    next.device_id = current.device_id;
    next.next_index = current.next_index;
    bool found = false;
    for (const auto& key : current.keys) {
      if (key->info.index == index) {
        found = true;
      } else {
        next.keys.push_back(key);
      }
    }
    if (!found) return NotFound(index);
    GMPKI_RETURN_IF_ERROR(PersistTable(*impl_, next, /*exclusive=*/false));
    // Dropping the table's reference zeroises the scalar (SecretBytes) as soon as no in-flight
    // operation still holds the key.
    std::unique_lock table_lock(impl_->table_mu);
    impl_->table = std::move(next);
    return OkStatus();
  }

  Result<Bytes> GenerateRandom(std::size_t n) override {
    if (n > kMaxRandomRequest) {
      return Error(ErrorCode::kInvalidArgument, "at most 1 MiB of random bytes per call");
    }
    return crypto::RandomBytes(n);
  }

  // Construction (documented for the key owners who rely on its stability):
  //   PRK = HMAC-SM3(master key, "gmpki-kek-v1:" || context)             (32 bytes)
  //   KEK = the first `length` bytes of PRK                 when length <= 32
  //   KEK = SM3-KDF(PRK, length) (GB/T 32918.4 section 5.4.3) when length > 32
  // The HMAC step separates contexts under the master key; the KDF only stretches. The label
  // prefix keeps these keys apart from every other use of the master key (the key file
  // is sealed with the master key directly by SM4-GCM, never with an HMAC output).
  Result<SecretBytes> DeriveWrappingKey(std::string_view context, std::size_t length) override {
    if (length < 16 || length > 64) {
      return Error(ErrorCode::kInvalidArgument, "wrapping key length must be 16..64 bytes");
    }
    if (context.empty()) {
      return Error(ErrorCode::kInvalidArgument, "wrapping key context must be named");
    }
    std::string info(kKekLabel);
    info.append(context);
    crypto::Sm3Digest prk = crypto::HmacSm3(impl_->master_key.view(), AsBytes(info));
    SecretBytes out;
    if (length <= prk.size()) {
      out = SecretBytes(ByteView(prk.data(), length));
    } else {
      out = crypto::Sm3Kdf(ByteView(prk.data(), prk.size()), length);
    }
    SecureZero(prk.data(), prk.size());
    return out;
  }

  Result<std::vector<WrappedKeyPair>> GenerateWrappedKeyPairs(std::string_view kek_context,
                                                               std::size_t count) override {
    return internal::GenerateWrappedKeyPairs(impl_->master_key, kek_context, count);
  }

  Result<KeyEnvelopeParts> EnvelopeWrappedKey(std::string_view kek_context,
                                              ByteView wrapped_private,
                                              const crypto::Sm2PublicKey& public_key,
                                              const crypto::Sm2PublicKey& recipient,
                                              EnvelopeForm form) override {
    return internal::EnvelopeWrappedKey(impl_->master_key, kek_context, wrapped_private,
                                        public_key, recipient, form);
  }

 private:
  std::shared_ptr<SoftDevice::Impl> impl_;
};

}  // namespace

std::shared_ptr<const StoredKey> SoftDevice::Impl::Find(std::uint32_t index) {
  std::shared_lock lock(table_mu);
  // table.keys is in ascending index order (key_file.h), so a binary search finds the key.
  auto it = std::lower_bound(
      table.keys.begin(), table.keys.end(), index,
      [](const std::shared_ptr<const StoredKey>& k, std::uint32_t i) { return k->info.index < i; });
  if (it == table.keys.end() || (*it)->info.index != index) return nullptr;
  return *it;
}

SoftDevice::SoftDevice(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SoftDevice::~SoftDevice() = default;

Result<std::unique_ptr<SoftDevice>> SoftDevice::Create(const std::filesystem::path& file,
                                                       const SecretBytes& master_key) {
  GMPKI_RETURN_IF_ERROR(CheckMasterKey(master_key));
  auto impl = std::make_unique<Impl>();
  impl->file = file;
  impl->master_key = master_key.Clone();
  impl->table.device_id.resize(internal::kDeviceIdSize);
  GMPKI_RETURN_IF_ERROR(crypto::RandomFill(impl->table.device_id));
  impl->table.next_index = 1;
  GMPKI_RETURN_IF_ERROR(PersistTable(*impl, impl->table, /*exclusive=*/true));
  return std::unique_ptr<SoftDevice>(new SoftDevice(std::move(impl)));
}

Result<std::unique_ptr<SoftDevice>> SoftDevice::Open(const std::filesystem::path& file,
                                                     const SecretBytes& master_key) {
  GMPKI_RETURN_IF_ERROR(CheckMasterKey(master_key));
  GMPKI_ASSIGN_OR_RETURN(Bytes image, ReadWholeFile(file));
  GMPKI_ASSIGN_OR_RETURN(KeyTable table, internal::OpenKeyFile(master_key.view(), image));
  auto impl = std::make_unique<Impl>();
  impl->file = file;
  impl->master_key = master_key.Clone();
  impl->table = std::move(table);
  return std::unique_ptr<SoftDevice>(new SoftDevice(std::move(impl)));
}

Result<std::unique_ptr<Session>> SoftDevice::OpenSession() {
  return std::unique_ptr<Session>(std::make_unique<SoftSession>(impl_));
}

DeviceInfo SoftDevice::GetDeviceInfo() {
  std::shared_lock lock(impl_->table_mu);
  DeviceInfo info;
  info.manufacturer = std::string(kManufacturer);
  info.model = std::string(kModel);
  // GM/T 0018 DEVICEINFO.DeviceSerial is 16 characters: the first 8 bytes of the random device
  // id, in upper-case hex.
  info.serial = HexEncode(ByteView(impl_->table.device_id.data(), 8), /*upper=*/true);
  info.key_count = static_cast<std::uint32_t>(impl_->table.keys.size());
  return info;
}

Result<SecretBytes> GenerateMasterKey() {
  SecretBytes key(crypto::kSm4KeySize);
  GMPKI_RETURN_IF_ERROR(crypto::RandomFill(std::span<std::uint8_t>(key.data(), key.size())));
  return key;
}

}  // namespace gmpki::device
