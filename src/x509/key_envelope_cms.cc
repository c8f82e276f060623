// SM4-CBC key envelopes in GM/T 0010 / GB/T 35275 EnvelopedData (shared STANDARDS-NOTES 2.2-2.4):
// the encrypted content is the DER ECPrivateKey (RFC 5915) of the escrowed SM2 key.
#include <algorithm>
#include <span>

#include "crypto/random.h"
#include "crypto/sm4.h"
#include "x509/certificate.h"
#include "x509/der.h"
#include "x509/key_envelope.h"
#include "x509/key_envelope_internal.h"
#include "x509/name.h"

namespace gmpki::x509 {

using envelope_internal::Bad;

namespace {

constexpr std::string_view kOidPkcs7Data = "1.2.840.113549.1.7.1";           // RFC 2315 §14
constexpr std::string_view kOidPkcs7EnvelopedData = "1.2.840.113549.1.7.3";  // RFC 2315 §14
constexpr std::size_t kMaxEnvelopedDataSize = 1024 * 1024;

// DER of 1.2.156.10197.1.301 (sm2p256v1), STANDARDS-NOTES 1.1.
constexpr std::uint8_t kSm2CurveOidTlv[] = {0x06, 0x08, 0x2a, 0x81, 0x1c,
                                            0xcf, 0x55, 0x01, 0x82, 0x2d};

// RFC 5915 section 3: ECPrivateKey ::= SEQUENCE { version INTEGER (1), privateKey OCTET STRING
// (ceiling(log2(n)/8) = 32 bytes), parameters [0] ECParameters OPTIONAL, publicKey [1] BIT
// STRING OPTIONAL }. Built by hand into secret memory (a fixed 121-byte layout) so the clear
// key never sits in an ordinary vector; both optional fields are included, as OpenSSL writes.
Result<SecretBytes> EncodeEcPrivateKey(const crypto::Sm2PrivateKey& key,
                                       const crypto::Sm2PublicKey& pub) {
  const ByteView d = key.scalar().view();
  if (d.size() != 32) return Error(ErrorCode::kInvalidArgument, "SM2 private key is not 32 bytes");
  SecretBytes out(121);
  std::size_t pos = 0;
  auto put = [&](ByteView b) {
    std::copy(b.begin(), b.end(), out.data() + pos);
    pos += b.size();
  };
  const std::uint8_t head[] = {0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20};
  put(head);
  put(d);
  const std::uint8_t params[] = {0xa0, 0x0a};
  put(params);
  put(kSm2CurveOidTlv);
  const std::uint8_t pub_head[] = {0xa1, 0x44, 0x03, 0x42, 0x00};
  put(pub_head);
  put(pub.point());
  return out;
}

Error BadContent() {
  // One message for every way the decrypted content can be wrong (padding, DER, curve), so that
  // a caller relaying errors does not become a padding oracle.
  return Bad("the decrypted content is not a valid SM2 ECPrivateKey");
}

// Parses the ECPrivateKey in `der` (secret memory; the reader only takes views) and checks it
// against `pub` and the optional embedded public key.
Result<crypto::Sm2PrivateKey> DecodeEcPrivateKey(ByteView der, const crypto::Sm2PublicKey& pub) {
  auto outer = der::ParseSingle(der);
  if (!outer || outer->tag != der::kSequence) return BadContent();
  der::Reader r(outer->content);
  auto version = r.Expect(der::kInteger);
  if (!version) return BadContent();
  auto v = der::ParseSmallInteger(*version);
  if (!v || *v != 1) return BadContent();
  auto d = r.Expect(der::kOctetString);
  if (!d) return BadContent();
  auto params = r.Optional(der::ContextConstructed(0));
  if (!params) return BadContent();
  if (*params && !std::ranges::equal((*params)->content, ByteView(kSm2CurveOidTlv))) {
    return BadContent();
  }
  auto embedded = r.Optional(der::ContextConstructed(1));
  if (!embedded || !r.ExpectEnd()) return BadContent();
  std::optional<crypto::Sm2PublicKey> embedded_pub;
  if (*embedded) {
    auto bits = der::ParseSingle((*embedded)->content);
    std::uint8_t unused = 0;
    if (!bits || bits->tag != der::kBitString) return BadContent();
    auto point = der::ParseBitString(*bits, &unused);
    if (!point || unused != 0) return BadContent();
    auto p = crypto::Sm2PublicKey::FromPoint(*point);
    if (!p) return BadContent();
    embedded_pub = *p;
  }
  return envelope_internal::CheckedPrivateKey(d->content, pub, embedded_pub);
}

Result<std::string> ReadOid(der::Reader& r, const char* what) {
  auto e = r.Expect(der::kOid);
  if (!e) return Bad(std::string(what) + ": OBJECT IDENTIFIER expected");
  auto s = der::OidToString(e->content);
  if (!s) return Bad(std::string(what) + ": bad OBJECT IDENTIFIER");
  return s;
}

Result<GmRecipientInfo> ParseRecipientInfo(const der::Element& ri) {
  if (ri.tag != der::kSequence) return Bad("RecipientInfo is not a SEQUENCE");
  der::Reader r(ri.content);
  auto version = r.Expect(der::kInteger);
  auto v = version ? der::ParseSmallInteger(*version)
                   : Result<std::int64_t>(ErrorCode::kMalformedInput, "");
  if (!v || *v < 0 || *v > 2) return Bad("RecipientInfo version must be 0, 1 or 2");
  GmRecipientInfo out;
  auto next = r.Next();
  if (!next) return Bad("RecipientInfo: recipient identifier missing");
  if (next->tag == der::kSequence) {
    der::Reader ias(next->content);
    auto name = ias.Expect(der::kSequence);
    auto serial = name ? ias.Expect(der::kInteger) : Result<der::Element>(name.error());
    if (!name || !serial || !ias.ExpectEnd()) {
      return Bad("RecipientInfo: IssuerAndSerialNumber is not { Name, INTEGER }");
    }
    auto mag = der::ParseUnsignedInteger(*serial);
    if (!mag) return Bad("RecipientInfo: serial number is not a non-negative INTEGER");
    out.id.issuer_name_der.assign(name->whole.begin(), name->whole.end());
    out.id.serial = std::move(mag).value();
  } else if (next->tag == der::ContextPrimitive(0)) {
    if (next->content.empty()) return Bad("RecipientInfo: empty subjectKeyIdentifier");
    out.id.subject_key_id.assign(next->content.begin(), next->content.end());
  } else {
    return Bad("RecipientInfo: unknown recipient identifier");
  }
  auto alg = r.Expect(der::kSequence);
  if (!alg) return Bad("RecipientInfo: keyEncryptionAlgorithm missing");
  der::Reader a(alg->content);
  GMPKI_ASSIGN_OR_RETURN(out.key_encryption_oid, ReadOid(a, "keyEncryptionAlgorithm"));
  if (out.key_encryption_oid != kOidSm2Encrypt && out.key_encryption_oid != kOidSm2EncryptGmssl) {
    return Bad("keyEncryptionAlgorithm " + out.key_encryption_oid + " is not SM2 encryption");
  }
  auto null = a.Optional(der::kNull);
  if (!null || (*null && !(*null)->content.empty()) || !a.ExpectEnd()) {
    return Bad("keyEncryptionAlgorithm parameters must be NULL or absent");
  }
  auto key = r.Expect(der::kOctetString);
  if (!key) return Bad("RecipientInfo: encryptedKey missing");
  GMPKI_RETURN_IF_ERROR(envelope_internal::ParseSm2CipherDer(key->content));
  if (!r.ExpectEnd()) return Bad("RecipientInfo: extra fields");
  out.encrypted_cek.assign(key->content.begin(), key->content.end());
  return out;
}

Status ParseEncryptedContentInfo(const der::Element& eci, GmEnvelopedData& out) {
  if (eci.tag != der::kSequence) return Bad("EncryptedContentInfo is not a SEQUENCE");
  der::Reader r(eci.content);
  GMPKI_ASSIGN_OR_RETURN(std::string type, ReadOid(r, "EncryptedContentInfo contentType"));
  if (type != kOidGmData && type != kOidPkcs7Data) {
    return Bad("EncryptedContentInfo contentType " + type + " is not data");
  }
  auto alg = r.Expect(der::kSequence);
  if (!alg) return Bad("contentEncryptionAlgorithm missing");
  der::Reader a(alg->content);
  GMPKI_ASSIGN_OR_RETURN(out.content_encryption_oid, ReadOid(a, "contentEncryptionAlgorithm"));
  // CFCA SADK labels SM4-CBC with the bare SM4 OID (STANDARDS-NOTES 2.3).
  if (out.content_encryption_oid != kOidSm4Cbc && out.content_encryption_oid != kOidSm4) {
    return Bad("contentEncryptionAlgorithm " + out.content_encryption_oid + " is not SM4-CBC");
  }
  auto iv = a.Expect(der::kOctetString);
  if (!iv || iv->content.size() != crypto::kSm4BlockSize || !a.ExpectEnd()) {
    return Bad("SM4-CBC parameters must be a 16-byte OCTET STRING IV");
  }
  out.iv.assign(iv->content.begin(), iv->content.end());
  // GM/T 0010: encryptedContent [0] IMPLICIT OCTET STRING OPTIONAL (primitive in DER).
  auto content = r.Optional(der::ContextPrimitive(0));
  if (!content) return Bad("encryptedContent: " + content.error().message());
  if (!*content) return Bad("encryptedContent absent (detached content is not a key envelope)");
  const ByteView ct = (*content)->content;
  if (ct.empty() || ct.size() % crypto::kSm4BlockSize != 0) {
    return Bad("encryptedContent is not a non-empty multiple of 16 bytes");
  }
  out.ciphertext.assign(ct.begin(), ct.end());
  // sharedInfo1 [1], sharedInfo2 [2] (GM/T 0010 additions): allowed, not used.
  for (int n = 1; n <= 2; ++n) {
    auto shared = r.Optional(der::ContextPrimitive(n));
    if (!shared) return Bad("sharedInfo: " + shared.error().message());
  }
  if (!r.ExpectEnd()) return Bad("EncryptedContentInfo: extra fields");
  return OkStatus();
}

}  // namespace

Result<CbcKeyEnvelope> BuildCbcKeyEnvelope(const crypto::Sm2PrivateKey& key,
                                           const crypto::Sm2PublicKey& recipient) {
  GMPKI_ASSIGN_OR_RETURN(crypto::Sm2PublicKey pub, key.DerivePublicKey());
  GMPKI_ASSIGN_OR_RETURN(SecretBytes ec_key, EncodeEcPrivateKey(key, pub));
  SecretBytes cek(crypto::kSm4KeySize);
  GMPKI_RETURN_IF_ERROR(crypto::RandomFill(std::span<std::uint8_t>(cek.data(), cek.size())));
  GMPKI_ASSIGN_OR_RETURN(Bytes iv, crypto::RandomBytes(crypto::kSm4BlockSize));
  GMPKI_ASSIGN_OR_RETURN(Bytes encrypted_cek, crypto::Sm2Encrypt(recipient, cek.view()));
  GMPKI_ASSIGN_OR_RETURN(Bytes ciphertext,
                         crypto::Sm4CbcEncrypt(cek.view(), iv, ec_key.view(), /*pad=*/true));
  return CbcKeyEnvelope{std::move(encrypted_cek), std::move(iv), std::move(ciphertext), pub};
}

Result<crypto::Sm2PrivateKey> OpenCbcKeyEnvelope(const CbcKeyEnvelope& envelope,
                                                 const CekDecryptor& decrypt_cek) {
  if (envelope.iv.size() != crypto::kSm4BlockSize) return Bad("the IV is not 16 bytes");
  if (envelope.ciphertext.empty() || envelope.ciphertext.size() % crypto::kSm4BlockSize != 0) {
    return Bad("the ciphertext is not a non-empty multiple of 16 bytes");
  }
  GMPKI_ASSIGN_OR_RETURN(SecretBytes cek,
                         envelope_internal::DecryptCek(decrypt_cek, envelope.encrypted_cek));
  auto clear = crypto::Sm4CbcDecrypt(cek.view(), envelope.iv, envelope.ciphertext, /*pad=*/true);
  if (!clear) return BadContent();
  SecretBytes ec_key = SecretBytes::Adopt(*clear);
  return DecodeEcPrivateKey(ec_key.view(), envelope.public_key);
}

RecipientId RecipientIdFromCertificate(const Certificate& cert) {
  return RecipientId{cert.issuer().der(), cert.serial(), {}};
}

Result<Bytes> EncodeGmEnvelopedData(const CbcKeyEnvelope& envelope, const RecipientId& recipient) {
  if (envelope.iv.size() != crypto::kSm4BlockSize) {
    return Error(ErrorCode::kInvalidArgument, "EnvelopedData: the IV must be 16 bytes");
  }
  if (envelope.ciphertext.empty() || envelope.ciphertext.size() % crypto::kSm4BlockSize != 0) {
    return Error(ErrorCode::kInvalidArgument, "EnvelopedData: bad SM4-CBC ciphertext length");
  }
  if (!envelope_internal::ParseSm2CipherDer(envelope.encrypted_cek)) {
    return Error(ErrorCode::kInvalidArgument, "EnvelopedData: CEK is not a DER SM2Cipher");
  }
  // GM/T 0010 RecipientInfo: version 1 with IssuerAndSerialNumber; version 2 with [0]
  // SubjectKeyIdentifier follows emmansun/gmsm for CFCA interop (STANDARDS-NOTES 2.3).
  Bytes rid;
  std::int64_t ri_version = 1;
  if (!recipient.subject_key_id.empty()) {
    ri_version = 2;
    rid = der::Tlv(der::ContextPrimitive(0), recipient.subject_key_id);
  } else {
    auto name = der::ParseSingle(recipient.issuer_name_der);
    if (!name || name->tag != der::kSequence || recipient.serial.empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   "EnvelopedData: recipient needs an issuer Name and a serial number");
    }
    rid = der::Sequence({recipient.issuer_name_der, der::IntegerFromUnsigned(recipient.serial)});
  }
  Bytes recipient_info = der::Sequence({
      der::Integer(ri_version),
      rid,
      der::Sequence({der::OidLiteral(kOidSm2Encrypt), der::Null()}),
      der::OctetString(envelope.encrypted_cek),
  });
  Bytes encrypted_content_info = der::Sequence({
      der::OidLiteral(kOidGmData),
      der::Sequence({der::OidLiteral(kOidSm4Cbc), der::OctetString(envelope.iv)}),
      der::Tlv(der::ContextPrimitive(0), envelope.ciphertext),
  });
  // GM/T 0010 keeps version 1 for EnvelopedData (RFC 2315 has 0), STANDARDS-NOTES 2.4.
  Bytes enveloped_data = der::Sequence({der::Integer(1), der::SetOf({std::move(recipient_info)}),
                                        std::move(encrypted_content_info)});
  return der::Sequence({der::OidLiteral(kOidGmEnvelopedData), der::Explicit(0, enveloped_data)});
}

Result<GmEnvelopedData> ParseGmEnvelopedData(ByteView input) {
  if (input.size() > kMaxEnvelopedDataSize) {
    return Error(ErrorCode::kTooLarge, "EnvelopedData larger than 1 MiB");
  }
  auto ci = der::ParseSingle(input);
  if (!ci || ci->tag != der::kSequence) return Bad("ContentInfo is not one DER SEQUENCE");
  der::Reader r(ci->content);
  GMPKI_ASSIGN_OR_RETURN(std::string type, ReadOid(r, "ContentInfo contentType"));
  if (type != kOidGmEnvelopedData && type != kOidPkcs7EnvelopedData) {
    return Bad("ContentInfo contentType " + type + " is not envelopedData");
  }
  auto wrapped = r.Expect(der::ContextConstructed(0));
  if (!wrapped || !r.ExpectEnd()) return Bad("ContentInfo content must be one [0] EXPLICIT");
  auto ed = der::ParseSingle(wrapped->content);
  if (!ed || ed->tag != der::kSequence) return Bad("EnvelopedData is not a SEQUENCE");
  der::Reader e(ed->content);
  auto version = e.Expect(der::kInteger);
  auto v = version ? der::ParseSmallInteger(*version)
                   : Result<std::int64_t>(ErrorCode::kMalformedInput, "");
  if (!v || *v < 0 || *v > 2) return Bad("EnvelopedData version must be 0, 1 or 2");
  auto set = e.Expect(der::kSet);
  if (!set) return Bad("EnvelopedData: recipientInfos missing");
  GmEnvelopedData out;
  der::Reader s(set->content);
  while (!s.empty()) {
    auto ri = s.Next();
    if (!ri) return Bad("recipientInfos: " + ri.error().message());
    GMPKI_ASSIGN_OR_RETURN(GmRecipientInfo info, ParseRecipientInfo(*ri));
    out.recipients.push_back(std::move(info));
  }
  if (out.recipients.empty()) return Bad("EnvelopedData has no RecipientInfo");
  auto eci = e.Expect(der::kSequence);
  if (!eci) return Bad("EnvelopedData: EncryptedContentInfo missing");
  GMPKI_RETURN_IF_ERROR(ParseEncryptedContentInfo(*eci, out));
  if (!e.ExpectEnd()) return Bad("EnvelopedData: extra fields");
  return out;
}

Result<CbcKeyEnvelope> SelectRecipient(const GmEnvelopedData& data, const RecipientId& recipient,
                                       const crypto::Sm2PublicKey& enc_public_key) {
  for (const GmRecipientInfo& ri : data.recipients) {
    if (ri.id == recipient) {
      return CbcKeyEnvelope{ri.encrypted_cek, data.iv, data.ciphertext, enc_public_key};
    }
  }
  return Error(ErrorCode::kNotFound, "EnvelopedData has no RecipientInfo for this recipient");
}

}  // namespace gmpki::x509
