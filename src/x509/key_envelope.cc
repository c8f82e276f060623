// SM4-ECB key envelopes: the GM/T 0016 SKF ENVELOPEDKEYBLOB and the GB/T 35276 SM2EnvelopedKey,
// the SM2Cipher <-> ECCCIPHERBLOB conversion, and the helpers shared with key_envelope_cms.cc.
#include "x509/key_envelope.h"

#include <algorithm>
#include <cstdio>
#include <span>
#include <string>

#include "crypto/random.h"
#include "crypto/sm4.h"
#include "x509/der.h"
#include "x509/key_envelope_internal.h"

namespace gmpki::x509 {

using envelope_internal::Bad;

namespace envelope_internal {

Result<Sm2CipherFields> ParseSm2CipherDer(ByteView der) {
  auto outer = der::ParseSingle(der);
  if (!outer || outer->tag != der::kSequence) return Bad("SM2Cipher is not one DER SEQUENCE");
  der::Reader r(outer->content);
  Sm2CipherFields f;
  for (auto* coord : {&f.x, &f.y}) {
    auto e = r.Expect(der::kInteger);
    if (!e) return Bad("SM2Cipher: coordinate is not an INTEGER");
    auto mag = der::ParseUnsignedInteger(*e);
    if (!mag) return Bad("SM2Cipher: coordinate is not a minimal non-negative INTEGER");
    if (mag->size() > 32) return Bad("SM2Cipher: coordinate longer than 32 bytes");
    std::copy(mag->begin(), mag->end(), coord->end() - mag->size());
  }
  auto hash = r.Expect(der::kOctetString);
  if (!hash || hash->content.size() != 32) return Bad("SM2Cipher: HASH must be 32 bytes");
  auto c2 = r.Expect(der::kOctetString);
  if (!c2 || c2->content.empty()) return Bad("SM2Cipher: CipherText missing or empty");
  if (!r.ExpectEnd()) return Bad("SM2Cipher: extra fields");
  f.hash = hash->content;
  f.c2 = c2->content;
  return f;
}

Result<SecretBytes> DecryptCek(const CekDecryptor& decrypt_cek, ByteView encrypted_cek) {
  if (!decrypt_cek) return Error(ErrorCode::kInvalidArgument, "key envelope: no CEK decryptor");
  GMPKI_ASSIGN_OR_RETURN(SecretBytes cek, decrypt_cek(encrypted_cek));
  if (cek.size() != crypto::kSm4KeySize) return Bad("the decrypted CEK is not a 16-byte SM4 key");
  return cek;
}

Result<crypto::Sm2PrivateKey> CheckedPrivateKey(
    ByteView d, const crypto::Sm2PublicKey& pub,
    const std::optional<crypto::Sm2PublicKey>& expected) {
  if (d.empty() || d.size() > 32) return Bad("the decrypted private key is not a 32-byte scalar");
  SecretBytes d32(32);
  std::copy(d.begin(), d.end(), d32.data() + (32 - d.size()));
  // GB/T 32918.1-2016 section 6.1: d in [1, n-2]; FromScalar enforces it.
  auto key = crypto::Sm2PrivateKey::FromScalar(d32.view());
  if (!key) return Bad("the decrypted private key is outside [1, n-2]");
  GMPKI_ASSIGN_OR_RETURN(crypto::Sm2PublicKey derived, key->DerivePublicKey());
  if (!(derived == pub)) {
    return Bad("the decrypted private key does not match the envelope's public key");
  }
  if (expected && !(derived == *expected)) {
    return Bad("the decrypted private key does not match the expected public key");
  }
  return std::move(key).value();
}

}  // namespace envelope_internal

namespace {

void PutLe32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint32_t GetLe32(ByteView b, std::size_t off) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | b[off + static_cast<std::size_t>(i)];
  return v;
}

// GM/T 0016 keeps coordinates in 64-byte fields (ECC_MAX_XCOORDINATE_BITS_LEN 512) with the
// 256-bit value right-aligned: 32 zero bytes, then the big-endian coordinate.
void PutField64(Bytes& out, ByteView coord32) {
  out.insert(out.end(), 32, 0);
  out.insert(out.end(), coord32.begin(), coord32.end());
}
bool AlignmentIsZero(ByteView field64) {
  return std::all_of(field64.begin(), field64.begin() + 32, [](std::uint8_t b) { return b == 0; });
}

void AppendEccCipherBlob(Bytes& out, const envelope_internal::Sm2CipherFields& f) {
  PutField64(out, f.x);
  PutField64(out, f.y);
  out.insert(out.end(), f.hash.begin(), f.hash.end());
  PutLe32(out, static_cast<std::uint32_t>(f.c2.size()));
  out.insert(out.end(), f.c2.begin(), f.c2.end());
}

// ECCCIPHERBLOB at the start of `b`, which must end exactly where Cipher[CipherLen] ends.
Result<Bytes> EccCipherBlobToDer(ByteView b) {
  if (b.size() < kSkfEccCipherBlobHeaderSize) return Bad("ECCCIPHERBLOB truncated");
  if (!AlignmentIsZero(b.subspan(0, 64)) || !AlignmentIsZero(b.subspan(64, 64))) {
    return Bad("ECCCIPHERBLOB coordinate is not right-aligned (nonzero high 32 bytes)");
  }
  const std::uint32_t cipher_len = GetLe32(b, 160);
  const std::size_t available = b.size() - kSkfEccCipherBlobHeaderSize;
  if (cipher_len > available) return Bad("ECCCIPHERBLOB CipherLen runs past the end of the input");
  if (cipher_len < available) return Bad("ECCCIPHERBLOB followed by trailing data");
  if (cipher_len == 0) return Bad("ECCCIPHERBLOB CipherLen is zero");
  return der::Sequence({der::IntegerFromUnsigned(b.subspan(32, 32)),
                        der::IntegerFromUnsigned(b.subspan(96, 32)),
                        der::OctetString(b.subspan(128, 32)),
                        der::OctetString(b.subspan(kSkfEccCipherBlobHeaderSize, cipher_len))});
}

Result<crypto::Sm2PublicKey> PointFromCoordinates(ByteView x, ByteView y) {
  Bytes point{0x04};
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  auto pub = crypto::Sm2PublicKey::FromPoint(point);
  if (!pub) return Bad("public key: " + pub.error().message());
  return pub;
}

Result<SecretBytes> Sm4EcbDecryptSecret(ByteView key, ByteView data) {
  GMPKI_ASSIGN_OR_RETURN(Bytes clear, crypto::Sm4EcbDecrypt(key, data));
  return SecretBytes::Adopt(clear);
}

bool IsZero(ByteView b) {
  std::uint8_t acc = 0;
  for (std::uint8_t v : b) acc |= v;
  return acc == 0;
}

}  // namespace

// ---- SM2Cipher <-> ECCCIPHERBLOB ----

Result<Bytes> Sm2CipherDerToSkfBlob(ByteView sm2_cipher_der) {
  GMPKI_ASSIGN_OR_RETURN(auto f, envelope_internal::ParseSm2CipherDer(sm2_cipher_der));
  if (f.c2.size() > 0xffffffffu) return Bad("SM2Cipher CipherText too long for a ULONG");
  Bytes out;
  out.reserve(kSkfEccCipherBlobHeaderSize + f.c2.size());
  AppendEccCipherBlob(out, f);
  return out;
}

Result<Bytes> SkfBlobToSm2CipherDer(ByteView ecc_cipher_blob) {
  return EccCipherBlobToDer(ecc_cipher_blob);
}

// ---- Software CEK decryption, builder and opener ----

CekDecryptor SoftwareCekDecryptor(const crypto::Sm2PrivateKey& recipient_key) {
  return [&recipient_key](ByteView c) { return crypto::Sm2Decrypt(recipient_key, c); };
}

Result<EcbKeyEnvelope> BuildEcbKeyEnvelope(const crypto::Sm2PrivateKey& key,
                                           const crypto::Sm2PublicKey& recipient) {
  GMPKI_ASSIGN_OR_RETURN(crypto::Sm2PublicKey pub, key.DerivePublicKey());
  SecretBytes cek(crypto::kSm4KeySize);
  GMPKI_RETURN_IF_ERROR(crypto::RandomFill(std::span<std::uint8_t>(cek.data(), cek.size())));
  // GM/T 0016 ECCPRIVATEKEYBLOB.PrivateKey[64]: d right-aligned after 32 zero bytes; GmSSL's
  // reference construction (src/skf/skf_ext.c) encrypts this whole field, no padding.
  SecretBytes field(64);
  std::copy(key.scalar().view().begin(), key.scalar().view().end(), field.data() + 32);
  GMPKI_ASSIGN_OR_RETURN(Bytes encrypted_cek, crypto::Sm2Encrypt(recipient, cek.view()));
  GMPKI_ASSIGN_OR_RETURN(Bytes ciphertext64, crypto::Sm4EcbEncrypt(cek.view(), field.view()));
  return EcbKeyEnvelope{std::move(encrypted_cek), std::move(ciphertext64), pub};
}

Result<crypto::Sm2PrivateKey> OpenEcbKeyEnvelope(
    const EcbKeyEnvelope& envelope, const CekDecryptor& decrypt_cek,
    const std::optional<crypto::Sm2PublicKey>& expected) {
  if (envelope.ciphertext64.size() != 64) return Bad("encrypted private key is not 64 bytes");
  GMPKI_ASSIGN_OR_RETURN(SecretBytes cek,
                         envelope_internal::DecryptCek(decrypt_cek, envelope.encrypted_cek));
  GMPKI_ASSIGN_OR_RETURN(SecretBytes field, Sm4EcbDecryptSecret(cek.view(), envelope.ciphertext64));
  if (!IsZero(field.view().first(32))) {
    return Bad("the decrypted private key field does not start with 32 zero bytes");
  }
  return envelope_internal::CheckedPrivateKey(field.view().last(32), envelope.public_key,
                                              expected);
}

// ---- GM/T 0016 ENVELOPEDKEYBLOB ----

Result<Bytes> EncodeSkfEnvelopedKeyBlob(const EcbKeyEnvelope& envelope) {
  if (envelope.ciphertext64.size() != 64) {
    return Error(ErrorCode::kInvalidArgument, "ENVELOPEDKEYBLOB: cbEncryptedPriKey is 64 bytes");
  }
  auto f = envelope_internal::ParseSm2CipherDer(envelope.encrypted_cek);
  if (!f) return Error(ErrorCode::kInvalidArgument, f.error().message());
  if (f->c2.size() != crypto::kSm4KeySize) {
    return Error(ErrorCode::kInvalidArgument, "ENVELOPEDKEYBLOB: the CEK must be 16 bytes");
  }
  Bytes out;
  out.reserve(kSkfEnvelopedKeyBlobHeaderSize + crypto::kSm4KeySize);
  PutLe32(out, kSkfEnvelopedKeyBlobVersion);
  PutLe32(out, kSgdSm4Ecb);
  PutLe32(out, 256);  // ulBits: the enveloped SM2 key's length
  out.insert(out.end(), envelope.ciphertext64.begin(), envelope.ciphertext64.end());
  PutLe32(out, 256);  // ECCPUBLICKEYBLOB.BitLen
  PutField64(out, envelope.public_key.x());
  PutField64(out, envelope.public_key.y());
  AppendEccCipherBlob(out, *f);
  return out;
}

Result<EcbKeyEnvelope> ParseSkfEnvelopedKeyBlob(ByteView blob) {
  if (blob.size() < kSkfEnvelopedKeyBlobHeaderSize) {
    return Bad("ENVELOPEDKEYBLOB truncated (" + std::to_string(blob.size()) + " bytes)");
  }
  const std::uint32_t version = GetLe32(blob, 0);
  if (version != kSkfEnvelopedKeyBlobVersion) {
    return Bad("ENVELOPEDKEYBLOB Version " + std::to_string(version) + " (expected 1)");
  }
  const std::uint32_t alg = GetLe32(blob, 4);
  if (alg != kSgdSm4Ecb) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08X", alg);
    return Bad(std::string("ENVELOPEDKEYBLOB ulSymmAlgID ") + hex + " (only SGD_SM4_ECB)");
  }
  if (GetLe32(blob, 8) != 256) return Bad("ENVELOPEDKEYBLOB ulBits is not 256");
  if (GetLe32(blob, 76) != 256) return Bad("ENVELOPEDKEYBLOB PubKey.BitLen is not 256");
  if (!AlignmentIsZero(blob.subspan(80, 64)) || !AlignmentIsZero(blob.subspan(144, 64))) {
    return Bad("ENVELOPEDKEYBLOB public key is not right-aligned (nonzero high 32 bytes)");
  }
  GMPKI_ASSIGN_OR_RETURN(crypto::Sm2PublicKey pub,
                         PointFromCoordinates(blob.subspan(112, 32), blob.subspan(176, 32)));
  // The CEK inside ECCCIPHERBLOB is a 16-byte SM4 key (GmSSL skf_ext.c: symmKey[16]).
  const std::uint32_t cipher_len = GetLe32(blob, 368);
  if (cipher_len > blob.size() - kSkfEnvelopedKeyBlobHeaderSize) {
    return Bad("ENVELOPEDKEYBLOB CipherLen " + std::to_string(cipher_len) +
               " runs past the end of the blob");
  }
  if (cipher_len != crypto::kSm4KeySize) return Bad("ENVELOPEDKEYBLOB CipherLen is not 16");
  GMPKI_ASSIGN_OR_RETURN(Bytes encrypted_cek, EccCipherBlobToDer(blob.subspan(208)));
  EcbKeyEnvelope env{std::move(encrypted_cek),
                     Bytes(blob.begin() + 12, blob.begin() + 76), pub};
  return env;
}

// ---- GB/T 35276 SM2EnvelopedKey ----

Result<Bytes> EncodeSm2EnvelopedKey(const Sm2EnvelopedKey& envelope) {
  if (!envelope_internal::ParseSm2CipherDer(envelope.encrypted_cek)) {
    return Error(ErrorCode::kInvalidArgument, "SM2EnvelopedKey: CEK is not a DER SM2Cipher");
  }
  const std::size_t n = envelope.encrypted_private_key.size();
  if (n != 32 && n != 48 && n != 64) {
    return Error(ErrorCode::kInvalidArgument, "SM2EnvelopedKey: encrypted key of 32/48/64 bytes");
  }
  return der::Sequence({
      der::Sequence({der::OidLiteral(kOidSm4Ecb), der::Null()}),
      envelope.encrypted_cek,  // symEncryptedKey is the SM2Cipher SEQUENCE itself
      der::BitString(envelope.public_key.point()),
      der::BitString(envelope.encrypted_private_key),
  });
}

Result<Bytes> EncodeSm2EnvelopedKey(const EcbKeyEnvelope& envelope) {
  if (envelope.ciphertext64.size() != 64) {
    return Error(ErrorCode::kInvalidArgument, "SM2EnvelopedKey: ciphertext64 is 64 bytes");
  }
  // ECB encrypts each 16-byte block on its own, so the last two blocks of SM4-ECB(0^32 || d)
  // are exactly SM4-ECB(d), the GB/T 35276 plaintext form.
  Sm2EnvelopedKey k{envelope.encrypted_cek,
                    Bytes(envelope.ciphertext64.begin() + 32, envelope.ciphertext64.end()),
                    envelope.public_key};
  return EncodeSm2EnvelopedKey(k);
}

Result<Sm2EnvelopedKey> ParseSm2EnvelopedKey(ByteView input) {
  auto outer = der::ParseSingle(input);
  if (!outer || outer->tag != der::kSequence) return Bad("SM2EnvelopedKey is not a DER SEQUENCE");
  der::Reader r(outer->content);
  auto alg = r.Expect(der::kSequence);
  if (!alg) return Bad("SM2EnvelopedKey: symAlgID missing");
  {
    der::Reader a(alg->content);
    auto oid = a.Expect(der::kOid);
    if (!oid) return Bad("SM2EnvelopedKey: symAlgID has no OID");
    auto text = der::OidToString(oid->content);
    // emmansun/gmsm accepts the bare SM4 OID as well as SM4-ECB; so do we (STANDARDS-NOTES 3.2).
    if (!text || (*text != kOidSm4Ecb && *text != kOidSm4)) {
      return Bad("SM2EnvelopedKey: symAlgID is not SM4-ECB");
    }
    auto null = a.Optional(der::kNull);
    if (!null || (*null && !(*null)->content.empty()) || !a.ExpectEnd()) {
      return Bad("SM2EnvelopedKey: symAlgID parameters must be NULL or absent");
    }
  }
  auto cipher = r.Expect(der::kSequence);
  if (!cipher) return Bad("SM2EnvelopedKey: symEncryptedKey missing");
  GMPKI_RETURN_IF_ERROR(envelope_internal::ParseSm2CipherDer(cipher->whole));
  auto pub_bits = r.Expect(der::kBitString);
  std::uint8_t unused = 0;
  auto pub_point = pub_bits ? der::ParseBitString(*pub_bits, &unused) : Result<ByteView>(
                                  ErrorCode::kMalformedInput, "missing");
  if (!pub_point || unused != 0) return Bad("SM2EnvelopedKey: sm2PublicKey is not a BIT STRING");
  auto pub = crypto::Sm2PublicKey::FromPoint(*pub_point);
  if (!pub) return Bad("SM2EnvelopedKey: sm2PublicKey: " + pub.error().message());
  auto priv_bits = r.Expect(der::kBitString);
  auto priv = priv_bits ? der::ParseBitString(*priv_bits, &unused) : Result<ByteView>(
                              ErrorCode::kMalformedInput, "missing");
  if (!priv || unused != 0) {
    return Bad("SM2EnvelopedKey: sm2EncryptedPrivateKey is not a BIT STRING");
  }
  if (priv->size() != 32 && priv->size() != 48 && priv->size() != 64) {
    return Bad("SM2EnvelopedKey: sm2EncryptedPrivateKey is not 32, 48 or 64 bytes");
  }
  if (!r.ExpectEnd()) return Bad("SM2EnvelopedKey: extra fields");
  return Sm2EnvelopedKey{Bytes(cipher->whole.begin(), cipher->whole.end()),
                         Bytes(priv->begin(), priv->end()), *pub};
}

Result<crypto::Sm2PrivateKey> OpenSm2EnvelopedKey(
    const Sm2EnvelopedKey& envelope, const CekDecryptor& decrypt_cek,
    const std::optional<crypto::Sm2PublicKey>& expected) {
  const std::size_t n = envelope.encrypted_private_key.size();
  if (n != 32 && n != 48 && n != 64) return Bad("encrypted private key is not 32, 48 or 64 bytes");
  GMPKI_ASSIGN_OR_RETURN(SecretBytes cek,
                         envelope_internal::DecryptCek(decrypt_cek, envelope.encrypted_cek));
  GMPKI_ASSIGN_OR_RETURN(SecretBytes clear,
                         Sm4EcbDecryptSecret(cek.view(), envelope.encrypted_private_key));
  ByteView d = clear.view();
  bool shape_ok = true;
  if (n == 48) {
    // d with a full PKCS#7 padding block (16 x 0x10), as padding ECB implementations emit.
    std::uint8_t acc = 0;
    for (std::uint8_t b : d.last(16)) acc |= static_cast<std::uint8_t>(b ^ 0x10);
    shape_ok = acc == 0;
    d = d.first(32);
  } else if (n == 64) {
    shape_ok = IsZero(d.first(32));  // the GM/T 0016 0^32 || d field
    d = d.last(32);
  }
  if (!shape_ok) return Bad("the decrypted private key does not have the expected form");
  return envelope_internal::CheckedPrivateKey(d, envelope.public_key, expected);
}

}  // namespace gmpki::x509
