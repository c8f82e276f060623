#include "device/key_file.h"

#include <algorithm>
#include <set>
#include <string>

#include "crypto/random.h"
#include "crypto/sm4.h"

namespace gmpki::device::internal {
namespace {

constexpr std::size_t kPointSize = 65;
constexpr std::size_t kScalarSize = 32;
constexpr std::size_t kHeaderSize = 8 + 4;  // magic || version: also the GCM AAD
// A hard bound on the table so a forged length can never drive a large allocation.
constexpr std::uint32_t kMaxKeys = 100000;

void PutU32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void PutU64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void PutBytes(Bytes& out, ByteView b) { out.insert(out.end(), b.begin(), b.end()); }

// A bounds-checked cursor over the plaintext: every read fails rather than run past the end.
class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  bool ReadU8(std::uint8_t& v) {
    if (remaining() < 1) return false;
    v = data_[pos_++];
    return true;
  }
  bool ReadU32(std::uint32_t& v) {
    if (remaining() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | data_[pos_++];
    return true;
  }
  bool ReadU64(std::uint64_t& v) {
    if (remaining() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | data_[pos_++];
    return true;
  }
  bool ReadView(std::size_t n, ByteView& v) {
    if (remaining() < n) return false;
    v = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  std::size_t remaining() const { return data_.size() - pos_; }

 private:
  ByteView data_;
  std::size_t pos_ = 0;
};

Bytes Header() {
  Bytes h = ToBytes(kKeyFileMagic);
  PutU32(h, kKeyFileVersion);
  return h;
}

Error Malformed(const std::string& what) {
  return Error(ErrorCode::kMalformedInput, "key table: " + what);
}

}  // namespace

Status ValidateLabel(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabelSize) {
    return Error(ErrorCode::kInvalidArgument, "key label must be 1..64 characters");
  }
  for (char c : label) {
    if (c < 0x20 || c > 0x7E) {
      return Error(ErrorCode::kInvalidArgument, "key label must be printable ASCII");
    }
  }
  return OkStatus();
}

SecretBytes SerializeTable(const KeyTable& table) {
  Bytes out;
  out.reserve(kDeviceIdSize + 8 + table.keys.size() * (4 + 1 + 8 + 1 + 64 + 65 + 32));
  PutBytes(out, table.device_id);
  PutU32(out, table.next_index);
  PutU32(out, static_cast<std::uint32_t>(table.keys.size()));
  for (const auto& key : table.keys) {
    PutU32(out, key->info.index);
    out.push_back(static_cast<std::uint8_t>(key->info.purpose));
    PutU64(out, static_cast<std::uint64_t>(key->info.created_unix));
    out.push_back(static_cast<std::uint8_t>(key->info.label.size()));
    PutBytes(out, AsBytes(key->info.label));
    PutBytes(out, key->info.public_key.point());
    PutBytes(out, key->private_key.scalar().view());
  }
  // Adopt wipes `out`; the reserve above keeps push_back from leaving reallocated copies of
  // the scalars behind in freed memory.
  return SecretBytes::Adopt(out);
}

Result<KeyTable> ParseTable(ByteView plaintext) {
  Reader r(plaintext);
  KeyTable table;
  ByteView id;
  std::uint32_t count = 0;
  if (!r.ReadView(kDeviceIdSize, id) || !r.ReadU32(table.next_index) || !r.ReadU32(count)) {
    return Malformed("truncated header");
  }
  table.device_id.assign(id.begin(), id.end());
  if (table.next_index < 1 || count > kMaxKeys) return Malformed("bad counters");

  std::set<std::string> labels;
  std::uint32_t previous_index = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t index = 0;
    std::uint8_t purpose = 0;
    std::uint64_t created = 0;
    std::uint8_t label_len = 0;
    ByteView label, point, scalar;
    if (!r.ReadU32(index) || !r.ReadU8(purpose) || !r.ReadU64(created) ||
        !r.ReadU8(label_len) || !r.ReadView(label_len, label) || !r.ReadView(kPointSize, point) ||
        !r.ReadView(kScalarSize, scalar)) {
      return Malformed("truncated key entry");
    }
    if (index <= previous_index || index >= table.next_index) return Malformed("bad key index");
    previous_index = index;
    if (purpose != static_cast<std::uint8_t>(KeyPurpose::kSign) &&
        purpose != static_cast<std::uint8_t>(KeyPurpose::kEncrypt)) {
      return Malformed("bad key purpose");
    }
    std::string label_text = ToString(label);
    if (!ValidateLabel(label_text) || !labels.insert(label_text).second) {
      return Malformed("bad or duplicate key label");
    }
    auto public_key = crypto::Sm2PublicKey::FromPoint(point);
    if (!public_key) return Malformed("bad public key at index " + std::to_string(index));
    auto private_key = crypto::Sm2PrivateKey::FromScalar(scalar);
    if (!private_key) return Malformed("bad private key at index " + std::to_string(index));
    // Pairwise consistency: the stored public key must be the one the scalar generates.
    auto derived = private_key->DerivePublicKey();
    if (!derived || !(*derived == *public_key)) {
      return Malformed("key pair mismatch at index " + std::to_string(index));
    }
    KeyInfo info;
    info.index = index;
    info.label = std::move(label_text);
    info.purpose = static_cast<KeyPurpose>(purpose);
    info.public_key = *public_key;
    info.created_unix = static_cast<std::int64_t>(created);
    table.keys.push_back(std::make_shared<const StoredKey>(
        StoredKey{std::move(info), std::move(private_key).value()}));
  }
  if (r.remaining() != 0) return Malformed("trailing bytes");
  return table;
}

Result<Bytes> SealKeyFile(ByteView master_key, const KeyTable& table) {
  if (master_key.size() != crypto::kSm4KeySize) {
    return Error(ErrorCode::kInvalidArgument, "master key must be 16 bytes");
  }
  // A fresh random 96-bit nonce per write (NIST SP 800-38D section 8.2.2): the number of writes
  // under one master key stays far below the 2^32 limit for random nonces.
  Bytes nonce(crypto::kSm4GcmIvSize);
  GMPKI_RETURN_IF_ERROR(crypto::RandomFill(nonce));
  const Bytes header = Header();
  const SecretBytes plaintext = SerializeTable(table);
  GMPKI_ASSIGN_OR_RETURN(Bytes sealed,
                         crypto::Sm4GcmSeal(master_key, nonce, header, plaintext.view()));
  Bytes image = header;
  PutBytes(image, nonce);
  PutBytes(image, sealed);
  return image;
}

Result<KeyTable> OpenKeyFile(ByteView master_key, ByteView image) {
  if (master_key.size() != crypto::kSm4KeySize) {
    return Error(ErrorCode::kInvalidArgument, "master key must be 16 bytes");
  }
  if (image.size() < kKeyFileMagic.size() ||
      ToString(image.first(kKeyFileMagic.size())) != kKeyFileMagic) {
    return Error(ErrorCode::kMalformedInput, "not a gmpki soft device key file");
  }
  if (image.size() < kHeaderSize + crypto::kSm4GcmIvSize + crypto::kSm4GcmTagSize) {
    return Error(ErrorCode::kIntegrityFailure, "key file truncated");
  }
  const ByteView header = image.first(kHeaderSize);
  if (!std::equal(header.begin(), header.end(), Header().begin())) {
    return Error(ErrorCode::kUnsupported, "unsupported key file version");
  }
  const ByteView nonce = image.subspan(kHeaderSize, crypto::kSm4GcmIvSize);
  const ByteView sealed = image.subspan(kHeaderSize + crypto::kSm4GcmIvSize);
  auto opened = crypto::Sm4GcmOpen(master_key, nonce, header, sealed);
  if (!opened) {
    if (opened.error().code() == ErrorCode::kBadSignature) {
      return Error(ErrorCode::kIntegrityFailure,
                   "key file does not authenticate: wrong master key or altered file");
    }
    return opened.error();
  }
  const SecretBytes plaintext = SecretBytes::Adopt(opened.value());
  return ParseTable(plaintext.view());
}

}  // namespace gmpki::device::internal
