// The soft device's key-management-centre operations (device.h): batched generation of SM2
// key pairs whose private keys leave the device only sealed (SM4-GCM under a KEK derived from
// the master key), and digital envelopes of a sealed key to a recipient's SM2 public key.
#include <algorithm>
#include <cstring>
#include <string>

#include "crypto/random.h"
#include "crypto/sm3.h"
#include "crypto/sm4.h"
#include "device/soft_device_internal.h"

namespace gmpki::device::internal {
namespace {

// PERSISTENT: the wrapped-key format (device.h WrappedKeyPair). Never change; a new format
// takes a new version byte and a new AAD label.
constexpr std::uint8_t kWrapVersion = 0x01;
constexpr std::string_view kWrapAadLabel = "gmpki-wrapped-key-v1";
constexpr std::size_t kScalarSize = 32;
constexpr std::size_t kPointSize = 65;
constexpr std::size_t kWrappedSize =
    1 + crypto::kSm4GcmIvSize + kScalarSize + crypto::kSm4GcmTagSize;  // 61

// The KEK label. PRK = HMAC-SM3(master key, "gmpki-km-kek-v1:" || context) and the KEK is its
// first 16 bytes. DeriveWrappingKey hashes "gmpki-kek-v1:" || context instead; the two labels
// differ at their eighth byte, so no context of DeriveWrappingKey yields a KM KEK and no
// caller can obtain the key that seals the escrowed private keys.
constexpr std::string_view kKmKekLabel = "gmpki-km-kek-v1:";

// SM2 curve OID 1.2.156.10197.1.301 (GB/T 33560 / GM/T 0006), DER contents.
constexpr std::uint8_t kOidSm2Curve[] = {0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D};

SecretBytes DeriveKmKek(const SecretBytes& master_key, std::string_view context) {
  std::string info(kKmKekLabel);
  info.append(context);
  crypto::Sm3Digest prk = crypto::HmacSm3(master_key.view(), AsBytes(info));
  SecretBytes kek(ByteView(prk.data(), crypto::kSm4KeySize));
  SecureZero(prk.data(), prk.size());
  return kek;
}

// The label is fixed at the start and the point is 65 bytes at the end, so the context between
// them needs no length prefix to be unambiguous.
Bytes WrapAad(std::string_view context, ByteView point) {
  Bytes aad(kWrapAadLabel.size() + context.size() + point.size());
  std::uint8_t* p = aad.data();
  std::memcpy(p, kWrapAadLabel.data(), kWrapAadLabel.size());
  p += kWrapAadLabel.size();
  if (!context.empty()) std::memcpy(p, context.data(), context.size());
  p += context.size();
  std::memcpy(p, point.data(), point.size());
  return aad;
}

Status CheckContext(std::string_view context) {
  if (context.empty()) return Error(ErrorCode::kInvalidArgument, "KEK context must be named");
  return OkStatus();
}

// The DER ECPrivateKey of RFC 5915 section 3 for (d, Q) on the SM2 curve. Every field has a
// fixed length (privateKey is always 32 bytes: "an octet string of length ceiling(log2(n)/8)"),
// so the encoding is 121 bytes:
//   30 77  02 01 01  04 20 d  a0 0a 06 08 <curve OID>  a1 44 03 42 00 <04 || X || Y>
SecretBytes EcPrivateKeyDer(ByteView d, ByteView point) {
  SecretBytes der(121);
  std::uint8_t* p = der.data();
  auto put = [&p](std::initializer_list<std::uint8_t> bytes) {
    for (std::uint8_t b : bytes) *p++ = b;
  };
  put({0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20});
  std::memcpy(p, d.data(), kScalarSize);
  p += kScalarSize;
  put({0xA0, 0x0A, 0x06, 0x08});
  std::memcpy(p, kOidSm2Curve, sizeof(kOidSm2Curve));
  p += sizeof(kOidSm2Curve);
  put({0xA1, 0x44, 0x03, 0x42, 0x00});
  std::memcpy(p, point.data(), kPointSize);
  return der;
}

// Opens a WrappedKeyPair blob: the clear d, checked to give `public_key`.
Result<SecretBytes> Unseal(const SecretBytes& master_key, std::string_view context,
                           ByteView wrapped, const crypto::Sm2PublicKey& public_key) {
  if (wrapped.size() != kWrappedSize || wrapped[0] != kWrapVersion) {
    return Error(ErrorCode::kMalformedInput, "not a wrapped SM2 private key of format 1");
  }
  const SecretBytes kek = DeriveKmKek(master_key, context);
  const ByteView nonce = wrapped.subspan(1, crypto::kSm4GcmIvSize);
  const ByteView sealed = wrapped.subspan(1 + crypto::kSm4GcmIvSize);
  auto opened = crypto::Sm4GcmOpen(kek.view(), nonce, WrapAad(context, public_key.point()), sealed);
  if (!opened.ok()) {
    return Error(ErrorCode::kIntegrityFailure,
                 "wrapped private key does not open under this device, context and public key");
  }
  SecretBytes d = SecretBytes::Adopt(*opened);
  // The AAD already binds the public point; deriving it again from d also catches a blob that
  // was sealed over a wrong pair (a fault at generation), which the tag cannot.
  auto key = crypto::Sm2PrivateKey::FromScalar(d.view());
  if (!key.ok()) return Error(ErrorCode::kIntegrityFailure, "wrapped scalar out of range");
  auto derived = key->DerivePublicKey();
  if (!derived.ok() || !(*derived == public_key)) {
    return Error(ErrorCode::kIntegrityFailure, "wrapped private key does not match the public key");
  }
  return d;
}

}  // namespace

Result<std::vector<WrappedKeyPair>> GenerateWrappedKeyPairs(const SecretBytes& master_key,
                                                            std::string_view kek_context,
                                                            std::size_t count) {
  GMPKI_RETURN_IF_ERROR(CheckContext(kek_context));
  if (count > kMaxWrappedKeyPairsPerCall) {
    return Error(ErrorCode::kInvalidArgument, "too many key pairs for one call");
  }
  std::vector<WrappedKeyPair> out;
  if (count == 0) return out;
  GMPKI_ASSIGN_OR_RETURN(std::vector<crypto::Sm2KeyPair> pairs, crypto::Sm2GenerateKeyPairs(count));
  const SecretBytes kek = DeriveKmKek(master_key, kek_context);
  // One draw for all the nonces. Random 96-bit GCM nonces: NIST SP 800-38D 8.3 allows 2^32
  // invocations of one key with random IVs, far more keys than one KM context escrows.
  Bytes nonces(crypto::kSm4GcmIvSize * count);
  GMPKI_RETURN_IF_ERROR(crypto::RandomFill(nonces));
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const ByteView nonce(nonces.data() + crypto::kSm4GcmIvSize * i, crypto::kSm4GcmIvSize);
    const ByteView point = pairs[i].public_key.point();
    GMPKI_ASSIGN_OR_RETURN(Bytes sealed,
                           crypto::Sm4GcmSeal(kek.view(), nonce, WrapAad(kek_context, point),
                                              pairs[i].private_key.scalar().view()));
    WrappedKeyPair w{pairs[i].public_key, Bytes()};
    w.wrapped_private.reserve(kWrappedSize);
    w.wrapped_private.push_back(kWrapVersion);
    w.wrapped_private.insert(w.wrapped_private.end(), nonce.begin(), nonce.end());
    w.wrapped_private.insert(w.wrapped_private.end(), sealed.begin(), sealed.end());
    out.push_back(std::move(w));
  }
  // `pairs` goes out of scope here: each private key's SecretBytes is zeroised.
  return out;
}

Result<KeyEnvelopeParts> EnvelopeWrappedKey(const SecretBytes& master_key,
                                            std::string_view kek_context, ByteView wrapped_private,
                                            const crypto::Sm2PublicKey& public_key,
                                            const crypto::Sm2PublicKey& recipient,
                                            EnvelopeForm form) {
  GMPKI_RETURN_IF_ERROR(CheckContext(kek_context));
  if (form != EnvelopeForm::kSm4Ecb64 && form != EnvelopeForm::kSm4CbcDer) {
    return Error(ErrorCode::kInvalidArgument, "unknown envelope form");
  }
  // Sm2PublicKey values are validated when made, but a default-constructed one holds no point:
  // both keys are checked again (GB/T 32918.1-2016 6.2.1) before anything is decrypted.
  if (!crypto::Sm2PublicKey::FromPoint(recipient.point()).ok()) {
    return Error(ErrorCode::kInvalidArgument, "envelope recipient is not a valid SM2 public key");
  }
  if (!crypto::Sm2PublicKey::FromPoint(public_key.point()).ok()) {
    return Error(ErrorCode::kInvalidArgument, "wrapped key's public key is not valid");
  }
  GMPKI_ASSIGN_OR_RETURN(SecretBytes d,
                         Unseal(master_key, kek_context, wrapped_private, public_key));
  SecretBytes cek(crypto::kSm4KeySize);
  GMPKI_RETURN_IF_ERROR(crypto::RandomFill(std::span<std::uint8_t>(cek.data(), cek.size())));

  KeyEnvelopeParts parts;
  GMPKI_ASSIGN_OR_RETURN(parts.encrypted_cek, crypto::Sm2Encrypt(recipient, cek.view()));
  if (form == EnvelopeForm::kSm4Ecb64) {
    // GM/T 0016 ECCPRIVATEKEYBLOB.PrivateKey[64]: d right-aligned in 64 bytes (the field is
    // sized for 512-bit curves); SKF_ImportECCKeyPair decrypts it with SM4-ECB, no padding.
    SecretBytes blob(2 * kScalarSize);
    std::memcpy(blob.data() + kScalarSize, d.data(), kScalarSize);
    GMPKI_ASSIGN_OR_RETURN(parts.ciphertext, crypto::Sm4EcbEncrypt(cek.view(), blob.view()));
  } else {
    const SecretBytes der = EcPrivateKeyDer(d.view(), public_key.point());
    GMPKI_ASSIGN_OR_RETURN(parts.iv, crypto::RandomBytes(crypto::kSm4BlockSize));
    GMPKI_ASSIGN_OR_RETURN(parts.ciphertext,
                           crypto::Sm4CbcEncrypt(cek.view(), parts.iv, der.view(), /*pad=*/true));
  }
  return parts;
}

}  // namespace gmpki::device::internal
