// Key envelopes of the dual-certificate system (LD/T 02.1-2022 §7.3.2, KM-01..09): the wire
// formats in which the key management centre hands an escrowed SM2 encryption private key to
// the user's carrier, encrypted to the user's signing public key.
//
// Three formats, all with the same cryptographic core (a random 16-byte SM4 content-encryption
// key (CEK), SM2-encrypted to the recipient as a GM/T 0009 SM2Cipher, and the private key
// SM4-encrypted under the CEK):
// - GM/T 0016 SKF ENVELOPEDKEYBLOB (SKF_ImportECCKeyPair), SM4-ECB over 0^32 || d;
// - GB/T 35276 SM2EnvelopedKey DER, SM4-ECB over d;
// - GM/T 0010 / GB/T 35275 EnvelopedData, SM4-CBC/PKCS#7 over a DER ECPrivateKey (RFC 5915).
// See shared STANDARDS-NOTES.md sections 2 and 3 for the sources of each layout.
//
// The cryptographic parts normally come from a crypto device (which never releases the clear
// key); this file builds and parses the formats, and offers software builders and openers for
// tests, the CLI and client tools. Parsers never read outside their input and return
// kMalformedInput for anything that does not have the documented shape.
//
// Thread safety: all functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/sm2.h"

namespace gmpki::x509 {

class Certificate;

// ---- OIDs (shared STANDARDS-NOTES.md 1.1 and 2.1) ----
inline constexpr std::string_view kOidSm4 = "1.2.156.10197.1.104";         // bare (CFCA)
inline constexpr std::string_view kOidSm4Ecb = "1.2.156.10197.1.104.1";
inline constexpr std::string_view kOidSm4Cbc = "1.2.156.10197.1.104.2";
// GM/T 0006: 301.3 is SM2 encryption. GmSSL 3 emits 301.2 (key exchange in GM/T 0006) for it;
// we emit 301.3 and accept both on parse (STANDARDS-NOTES 1.1 "Quirk", 2.3).
inline constexpr std::string_view kOidSm2Encrypt = "1.2.156.10197.1.301.3";
inline constexpr std::string_view kOidSm2EncryptGmssl = "1.2.156.10197.1.301.2";
inline constexpr std::string_view kOidGmData = "1.2.156.10197.6.1.4.2.1";
inline constexpr std::string_view kOidGmEnvelopedData = "1.2.156.10197.6.1.4.2.3";

// ---- GM/T 0016 constants ----
inline constexpr std::uint32_t kSkfEnvelopedKeyBlobVersion = 1;
inline constexpr std::uint32_t kSgdSm4Ecb = 0x00000401;  // GM/T 0006 SGD_SM4_ECB
// Bytes before ECCCIPHERBLOB.Cipher in an ENVELOPEDKEYBLOB (#pragma pack(1)): Version,
// ulSymmAlgID, ulBits (4 each), cbEncryptedPriKey[64], ECCPUBLICKEYBLOB (4 + 64 + 64),
// ECCCIPHERBLOB X[64] Y[64] HASH[32] CipherLen(4).
inline constexpr std::size_t kSkfEnvelopedKeyBlobHeaderSize = 372;
// Bytes before ECCCIPHERBLOB.Cipher: X[64], Y[64], HASH[32], CipherLen.
inline constexpr std::size_t kSkfEccCipherBlobHeaderSize = 164;

// ---- SM2 ciphertext conversions ----
// GM/T 0009 DER SM2Cipher { x INTEGER, y INTEGER, HASH OCTET STRING(32), CipherText OCTET
// STRING } <-> GM/T 0016 ECCCIPHERBLOB bytes { X[64], Y[64], HASH[32], CipherLen (ULONG,
// little-endian), Cipher[CipherLen] }, coordinates right-aligned in their 64-byte fields.
// kMalformedInput for: not strict DER, a coordinate over 32 bytes, a HASH that is not 32 bytes,
// an empty CipherText; on the blob side, nonzero alignment bytes, or a CipherLen of zero or one
// that does not end exactly at the end of the input. Neither decrypts nor checks that (x, y)
// is on the curve (the decryptor does).
Result<Bytes> Sm2CipherDerToSkfBlob(ByteView sm2_cipher_der);
Result<Bytes> SkfBlobToSm2CipherDer(ByteView ecc_cipher_blob);

// ---- The envelope parts ----
// SM4-ECB envelope: the CEK SM2-encrypted to the recipient (DER SM2Cipher), and SM4-ECB (no
// padding) of the 64-byte GM/T 0016 ECCPRIVATEKEYBLOB.PrivateKey field 0^32 || d.
struct EcbKeyEnvelope {
  Bytes encrypted_cek;
  Bytes ciphertext64;
  crypto::Sm2PublicKey public_key;  // the enveloped key's public key (the encryption key)
};

// SM4-CBC envelope: CEK as above, the 16-byte IV, and SM4-CBC/PKCS#7 of the DER ECPrivateKey
// (RFC 5915: version 1, d, [0] sm2p256v1, [1] 04||X||Y).
struct CbcKeyEnvelope {
  Bytes encrypted_cek;
  Bytes iv;
  Bytes ciphertext;
  // The public key that the opened private key must match. EnvelopedData does not carry it:
  // after parsing, the caller sets it from the encryption certificate.
  crypto::Sm2PublicKey public_key;
};

// Decrypts a DER SM2Cipher with the recipient's private key: a crypto device's
// InternalDecrypt, or SoftwareCekDecryptor for a key in memory.
using CekDecryptor = std::function<Result<SecretBytes>(ByteView sm2_cipher_der)>;
CekDecryptor SoftwareCekDecryptor(const crypto::Sm2PrivateKey& recipient_key);  // borrows the key

// ---- Software builders (tests, tools): a fresh random CEK (and IV) per call ----
Result<EcbKeyEnvelope> BuildEcbKeyEnvelope(const crypto::Sm2PrivateKey& key,
                                           const crypto::Sm2PublicKey& recipient);
Result<CbcKeyEnvelope> BuildCbcKeyEnvelope(const crypto::Sm2PrivateKey& key,
                                           const crypto::Sm2PublicKey& recipient);

// ---- Software openers ----
// Decrypt the CEK with `decrypt_cek` (its errors are returned as they are; in software a wrong
// recipient key or a changed encrypted_cek gives kBadSignature, the SM2 C3 check), then the
// private key. kMalformedInput if the CEK is not 16 bytes, if the decrypted field does not have
// its shape (nonzero 32-byte prefix; bad padding or DER), if d is outside [1, n-2], or if d*G is
// not the envelope's public key, nor `expected` when given (the encryption certificate's key).
// Every clear intermediate (CEK, decrypted field) is zeroised.
Result<crypto::Sm2PrivateKey> OpenEcbKeyEnvelope(
    const EcbKeyEnvelope& envelope, const CekDecryptor& decrypt_cek,
    const std::optional<crypto::Sm2PublicKey>& expected = std::nullopt);
Result<crypto::Sm2PrivateKey> OpenCbcKeyEnvelope(const CbcKeyEnvelope& envelope,
                                                 const CekDecryptor& decrypt_cek);

// ---- GM/T 0016 ENVELOPEDKEYBLOB ----
// #pragma pack(1), ULONG = 32-bit little-endian (as on the x86/ARM carriers):
//   0 Version = 1 | 4 ulSymmAlgID = SGD_SM4_ECB | 8 ulBits = 256 | 12 cbEncryptedPriKey[64]
//   76 PubKey.BitLen = 256 | 80 X[64] | 144 Y[64]
//   208 ECCCipherBlob.X[64] | 272 Y[64] | 336 HASH[32] | 368 CipherLen = 16 | 372 Cipher[16]
// (388 bytes in all). Encode: kInvalidArgument unless ciphertext64 is 64 bytes and
// encrypted_cek a DER SM2Cipher of a 16-byte key. Parse: kMalformedInput on a wrong size,
// Version, algorithm, ulBits, BitLen, alignment bytes, CipherLen (must be 16 and end exactly at
// the end of the input) or a public key not on the curve.
Result<Bytes> EncodeSkfEnvelopedKeyBlob(const EcbKeyEnvelope& envelope);
Result<EcbKeyEnvelope> ParseSkfEnvelopedKeyBlob(ByteView blob);

// ---- GB/T 35276 SM2EnvelopedKey ----
// SM2EnvelopedKey ::= SEQUENCE { symAlgID AlgorithmIdentifier, symEncryptedKey SM2Cipher,
//   sm2PublicKey BIT STRING (04||X||Y), sm2EncryptedPrivateKey BIT STRING }
// It carries SM4-ECB(d) only (32 bytes), not the 64-byte 0^32 || d field, so it parses into
// its own shape. The emitted form follows emmansun/gmsm: symAlgID SM4-ECB with NULL parameters,
// SM4-ECB of the 32-byte d without padding (STANDARDS-NOTES 3.2).
struct Sm2EnvelopedKey {
  Bytes encrypted_cek;            // DER SM2Cipher (the symEncryptedKey SEQUENCE)
  Bytes encrypted_private_key;    // SM4-ECB ciphertext: 32, 48 or 64 bytes (see Open)
  crypto::Sm2PublicKey public_key;
};
// Uses the last 32 bytes of ciphertext64 (ECB blocks are independent: SM4-ECB(d)).
Result<Bytes> EncodeSm2EnvelopedKey(const EcbKeyEnvelope& envelope);
Result<Bytes> EncodeSm2EnvelopedKey(const Sm2EnvelopedKey& envelope);
// Tolerant of what implementations emit: symAlgID SM4-ECB with NULL or absent parameters, or
// the bare SM4 OID; an encrypted key of 32 (d), 48 (d PKCS#7-padded) or 64 (0^32 || d) bytes.
// Anything else is kMalformedInput.
Result<Sm2EnvelopedKey> ParseSm2EnvelopedKey(ByteView der);
// As OpenEcbKeyEnvelope, for the three plaintext forms accepted above.
Result<crypto::Sm2PrivateKey> OpenSm2EnvelopedKey(
    const Sm2EnvelopedKey& envelope, const CekDecryptor& decrypt_cek,
    const std::optional<crypto::Sm2PublicKey>& expected = std::nullopt);

// ---- GM/T 0010 / GB/T 35275 EnvelopedData ----
// Who the CEK is encrypted to. issuer_name_der + serial is IssuerAndSerialNumber (version 1
// RecipientInfo, the GM/T 0010 form); a non-empty subject_key_id selects the [0]
// SubjectKeyIdentifier form with version 2 instead (what CFCA SADK emits, STANDARDS-NOTES 2.3).
struct RecipientId {
  Bytes issuer_name_der;  // DER Name of the recipient certificate's issuer
  Bytes serial;           // unsigned big-endian serial number
  Bytes subject_key_id;
  bool operator==(const RecipientId&) const = default;
};
// IssuerAndSerialNumber of `cert` (normally the user's signing certificate).
RecipientId RecipientIdFromCertificate(const Certificate& cert);

// ContentInfo { 1.2.156.10197.6.1.4.2.3, [0] EnvelopedData { version 1, recipientInfos SET {
//   RecipientInfo { version 1, IssuerAndSerialNumber, { sm2encrypt 301.3, NULL },
//   encryptedKey OCTET STRING (DER SM2Cipher) } },
//   EncryptedContentInfo { data 1.2.156.10197.6.1.4.2.1, { sm4-cbc 104.2, OCTET STRING IV },
//   [0] IMPLICIT encryptedContent } } }
// kInvalidArgument on an IV that is not 16 bytes, an empty ciphertext, or a recipient id
// without issuer name and serial and without subject key id.
Result<Bytes> EncodeGmEnvelopedData(const CbcKeyEnvelope& envelope, const RecipientId& recipient);

struct GmRecipientInfo {
  RecipientId id;
  std::string key_encryption_oid;  // 301.3 or 301.2
  Bytes encrypted_cek;             // DER SM2Cipher
};
struct GmEnvelopedData {
  std::vector<GmRecipientInfo> recipients;  // at least one
  std::string content_encryption_oid;       // 104.2, or bare 104 (CFCA)
  Bytes iv;
  Bytes ciphertext;
};
// Tolerant: contentType GM envelopedData or PKCS#7 1.2.840.113549.1.7.3; EnvelopedData and
// RecipientInfo versions 0..2; keyEncryptionAlgorithm 301.3 or 301.2 with NULL or absent
// parameters; inner contentType GM data or PKCS#7 data; sm4-cbc as 104.2 or bare 104 with a
// 16-byte OCTET STRING IV. Requires the encryptedContent (a detached content is not a key
// envelope). sharedInfo1/2 are skipped. Everything else is kMalformedInput.
Result<GmEnvelopedData> ParseGmEnvelopedData(ByteView der);
// The envelope for `recipient` with the public key the key must match (from the encryption
// certificate). kNotFound when no RecipientInfo names that recipient.
Result<CbcKeyEnvelope> SelectRecipient(const GmEnvelopedData& data, const RecipientId& recipient,
                                       const crypto::Sm2PublicKey& enc_public_key);

}  // namespace gmpki::x509
