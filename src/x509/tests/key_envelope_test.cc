// Key envelopes (KM-01..09 key distribution): GM/T 0016 ENVELOPEDKEYBLOB, GB/T 35276
// SM2EnvelopedKey and GM/T 0010 EnvelopedData, built and opened with software keys.
#include "x509/key_envelope.h"

#include <gtest/gtest.h>

#include <cstring>

#include "crypto/sm4.h"
#include "x509/tests/test_util.h"
#include "x509/der.h"

namespace gmpki::x509 {
namespace {

using testing::Must;

std::uint32_t Le32(const Bytes& b, std::size_t off) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | b[off + static_cast<std::size_t>(i)];
  return v;
}
void SetLe32(Bytes& b, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
Bytes Slice(const Bytes& b, std::size_t off, std::size_t n) {
  return Bytes(b.begin() + off, b.begin() + off + n);
}
Bytes B(ByteView v) { return Bytes(v.begin(), v.end()); }
bool AllZero(const Bytes& b) {
  for (auto v : b) {
    if (v != 0) return false;
  }
  return true;
}

// The escrowed encryption key pair and the user's signing key pair (the recipient).
struct Keys {
  crypto::Sm2KeyPair enc = Must(crypto::Sm2GenerateKeyPair());
  crypto::Sm2KeyPair sign = Must(crypto::Sm2GenerateKeyPair());
  crypto::Sm2KeyPair other = Must(crypto::Sm2GenerateKeyPair());
};

void ExpectMalformed(const Error& e, std::string_view fragment) {
  EXPECT_EQ(e.code(), ErrorCode::kMalformedInput) << e.ToString();
  EXPECT_NE(e.message().find(fragment), std::string::npos) << e.message();
}

// ---- ECB envelope and ENVELOPEDKEYBLOB ----

// req: KM-03
TEST(KeyEnvelope, EcbEnvelopeOpensWithRecipientKeyOnly) {
  Keys k;
  EcbKeyEnvelope env = Must(BuildEcbKeyEnvelope(k.enc.private_key, k.sign.public_key));
  EXPECT_EQ(env.ciphertext64.size(), 64u);
  EXPECT_EQ(env.public_key, k.enc.public_key);
  // ECB: both leading blocks encrypt a zero block under the same key, so they are equal.
  EXPECT_EQ(Slice(env.ciphertext64, 0, 16), Slice(env.ciphertext64, 16, 16));

  auto opened = OpenEcbKeyEnvelope(env, SoftwareCekDecryptor(k.sign.private_key));
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  EXPECT_EQ(Must(opened->DerivePublicKey()), k.enc.public_key);
  EXPECT_TRUE(ConstantTimeEqual(opened->scalar().view(), k.enc.private_key.scalar().view()));

  auto wrong = OpenEcbKeyEnvelope(env, SoftwareCekDecryptor(k.other.private_key));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), ErrorCode::kBadSignature);  // SM2 C3 check
}

// req: KM-03
TEST(KeyEnvelope, EcbOpenChecksExpectedKeyAndTampering) {
  Keys k;
  EcbKeyEnvelope env = Must(BuildEcbKeyEnvelope(k.enc.private_key, k.sign.public_key));
  auto dec = SoftwareCekDecryptor(k.sign.private_key);
  EXPECT_TRUE(OpenEcbKeyEnvelope(env, dec, k.enc.public_key).ok());
  auto r = OpenEcbKeyEnvelope(env, dec, k.other.public_key);
  ASSERT_FALSE(r.ok());
  ExpectMalformed(r.error(), "expected public key");

  EcbKeyEnvelope tampered_d = env;
  tampered_d.ciphertext64[63] ^= 1;  // changes the low block of d
  r = OpenEcbKeyEnvelope(tampered_d, dec);
  ASSERT_FALSE(r.ok());
  ExpectMalformed(r.error(), "does not match the envelope's public key");

  EcbKeyEnvelope tampered_prefix = env;
  tampered_prefix.ciphertext64[0] ^= 1;
  r = OpenEcbKeyEnvelope(tampered_prefix, dec);
  ASSERT_FALSE(r.ok());
  ExpectMalformed(r.error(), "32 zero bytes");

  EcbKeyEnvelope swapped_pub = env;
  swapped_pub.public_key = k.other.public_key;
  r = OpenEcbKeyEnvelope(swapped_pub, dec);
  ASSERT_FALSE(r.ok());
  ExpectMalformed(r.error(), "envelope's public key");

  EcbKeyEnvelope tampered_cek = env;
  tampered_cek.encrypted_cek.back() ^= 1;  // last byte of C2
  r = OpenEcbKeyEnvelope(tampered_cek, dec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kBadSignature);

  // A decryptor returning a key of the wrong size (a misbehaving device).
  auto short_key = [](ByteView) -> Result<SecretBytes> { return SecretBytes(8); };
  r = OpenEcbKeyEnvelope(env, short_key);
  ASSERT_FALSE(r.ok());
  ExpectMalformed(r.error(), "16-byte");
}

// req: KM-03
TEST(KeyEnvelope, OpenRejectsOutOfRangeScalar) {
  // An envelope whose plaintext is d = 0: the range check [1, n-2] must refuse it before any
  // public-key comparison. Built from its parts with a known CEK.
  Keys k;
  const Bytes cek(16, 0x42);
  const Bytes field(64, 0);
  EcbKeyEnvelope env{Must(crypto::Sm2Encrypt(k.sign.public_key, cek)),
                     Must(crypto::Sm4EcbEncrypt(cek, field)), k.enc.public_key};
  auto r = OpenEcbKeyEnvelope(env, SoftwareCekDecryptor(k.sign.private_key));
  ASSERT_FALSE(r.ok());
  ExpectMalformed(r.error(), "[1, n-2]");
}

// req: KM-03
TEST(SkfEnvelopedKeyBlob, LayoutFieldByField) {
  Keys k;
  EcbKeyEnvelope env = Must(BuildEcbKeyEnvelope(k.enc.private_key, k.sign.public_key));
  Bytes blob = Must(EncodeSkfEnvelopedKeyBlob(env));
  // GM/T 0016 ENVELOPEDKEYBLOB, #pragma pack(1), ULONG 32-bit little-endian.
  ASSERT_EQ(blob.size(), 388u);
  EXPECT_EQ(Slice(blob, 0, 4), (Bytes{0x01, 0x00, 0x00, 0x00}));      // Version 1
  EXPECT_EQ(Slice(blob, 4, 4), (Bytes{0x01, 0x04, 0x00, 0x00}));      // SGD_SM4_ECB 0x401
  EXPECT_EQ(Slice(blob, 8, 4), (Bytes{0x00, 0x01, 0x00, 0x00}));      // ulBits 256
  EXPECT_EQ(Slice(blob, 12, 64), env.ciphertext64);                   // cbEncryptedPriKey
  EXPECT_EQ(Le32(blob, 76), 256u);                                    // PubKey.BitLen
  EXPECT_TRUE(AllZero(Slice(blob, 80, 32)));                          // X right-aligned
  EXPECT_EQ(Slice(blob, 112, 32), Bytes(env.public_key.x().begin(), env.public_key.x().end()));
  EXPECT_TRUE(AllZero(Slice(blob, 144, 32)));
  EXPECT_EQ(Slice(blob, 176, 32), Bytes(env.public_key.y().begin(), env.public_key.y().end()));

  // ECCCIPHERBLOB at 208, compared with the fields of the DER SM2Cipher.
  der::Element c = Must(der::ParseSingle(env.encrypted_cek));
  der::Reader r(c.content);
  Bytes x = Must(der::ParseUnsignedInteger(Must(r.Expect(der::kInteger))));
  Bytes y = Must(der::ParseUnsignedInteger(Must(r.Expect(der::kInteger))));
  ByteView hash = Must(r.Expect(der::kOctetString)).content;
  ByteView c2 = Must(r.Expect(der::kOctetString)).content;
  ASSERT_LE(x.size(), 32u);
  ASSERT_LE(y.size(), 32u);
  EXPECT_TRUE(AllZero(Slice(blob, 208, 64 - x.size())));
  EXPECT_EQ(Slice(blob, 208 + 64 - x.size(), x.size()), x);
  EXPECT_TRUE(AllZero(Slice(blob, 272, 64 - y.size())));
  EXPECT_EQ(Slice(blob, 272 + 64 - y.size(), y.size()), y);
  EXPECT_EQ(Slice(blob, 336, 32), Bytes(hash.begin(), hash.end()));
  EXPECT_EQ(Slice(blob, 368, 4), (Bytes{0x10, 0x00, 0x00, 0x00}));    // CipherLen 16
  EXPECT_EQ(Slice(blob, 372, 16), Bytes(c2.begin(), c2.end()));

  // And the whole blob again from the cipher conversion alone.
  EXPECT_EQ(Slice(blob, 208, 180), Must(Sm2CipherDerToSkfBlob(env.encrypted_cek)));
}

// req: KM-03
TEST(SkfEnvelopedKeyBlob, RoundTripAndOpen) {
  Keys k;
  EcbKeyEnvelope env = Must(BuildEcbKeyEnvelope(k.enc.private_key, k.sign.public_key));
  Bytes blob = Must(EncodeSkfEnvelopedKeyBlob(env));
  EcbKeyEnvelope back = Must(ParseSkfEnvelopedKeyBlob(blob));
  EXPECT_EQ(back.encrypted_cek, env.encrypted_cek);  // DER re-encoded byte for byte
  EXPECT_EQ(back.ciphertext64, env.ciphertext64);
  EXPECT_EQ(back.public_key, env.public_key);
  auto key = OpenEcbKeyEnvelope(back, SoftwareCekDecryptor(k.sign.private_key));
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_EQ(Must(key->DerivePublicKey()), k.enc.public_key);
}

// req: KM-03
TEST(SkfEnvelopedKeyBlob, MalformedBlobsAreRejectedClearly) {
  Keys k;
  const Bytes blob =
      Must(EncodeSkfEnvelopedKeyBlob(Must(BuildEcbKeyEnvelope(k.enc.private_key,
                                                              k.sign.public_key))));
  auto expect_bad = [](const Bytes& b, std::string_view fragment) {
    auto r = ParseSkfEnvelopedKeyBlob(b);
    ASSERT_FALSE(r.ok()) << fragment;
    ExpectMalformed(r.error(), fragment);
  };
  // Truncated at every length: a clear error, never a read past the end (ASan build).
  for (std::size_t n = 0; n < blob.size(); ++n) {
    auto r = ParseSkfEnvelopedKeyBlob(ByteView(blob.data(), n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code(), ErrorCode::kMalformedInput) << n;
  }
  expect_bad(Bytes(blob.begin(), blob.begin() + 100), "truncated");
  Bytes b = blob;
  SetLe32(b, 0, 2);
  expect_bad(b, "Version 2");
  b = blob;
  SetLe32(b, 0, 0x01000000);  // big-endian 1: the wrong byte order is caught as a bad version
  expect_bad(b, "Version");
  b = blob;
  SetLe32(b, 4, 0x00000101);  // SGD_SM1_ECB
  expect_bad(b, "ulSymmAlgID 0x00000101");
  b = blob;
  SetLe32(b, 8, 128);
  expect_bad(b, "ulBits");
  b = blob;
  SetLe32(b, 76, 512);
  expect_bad(b, "BitLen");
  b = blob;
  b[80] = 1;  // nonzero alignment byte before X
  expect_bad(b, "right-aligned");
  b = blob;
  b[150] = 1;
  expect_bad(b, "right-aligned");
  b = blob;
  b[120] ^= 0x55;  // X no longer on the curve
  expect_bad(b, "public key");
  b = blob;
  b[210] = 7;  // ECCCIPHERBLOB X alignment
  expect_bad(b, "right-aligned");
  b = blob;
  SetLe32(b, 368, 17);  // CipherLen past the end
  expect_bad(b, "past the end");
  b = blob;
  SetLe32(b, 368, 0xffffffffu);  // no overflow in the bound check
  expect_bad(b, "past the end");
  b = blob;
  SetLe32(b, 368, 8);
  expect_bad(b, "CipherLen is not 16");
  b = blob;
  b.push_back(0);
  expect_bad(b, "trailing");
}

// req: KM-03
TEST(SkfEnvelopedKeyBlob, EncodeRejectsBadParts) {
  Keys k;
  EcbKeyEnvelope env = Must(BuildEcbKeyEnvelope(k.enc.private_key, k.sign.public_key));
  EcbKeyEnvelope e = env;
  e.ciphertext64.resize(48);
  EXPECT_EQ(EncodeSkfEnvelopedKeyBlob(e).error().code(), ErrorCode::kInvalidArgument);
  e = env;
  e.encrypted_cek = Must(crypto::Sm2Encrypt(k.sign.public_key, Bytes(24, 1)));  // 24-byte key
  EXPECT_EQ(EncodeSkfEnvelopedKeyBlob(e).error().code(), ErrorCode::kInvalidArgument);
  e = env;
  e.encrypted_cek.push_back(0);  // trailing data after the SM2Cipher
  EXPECT_EQ(EncodeSkfEnvelopedKeyBlob(e).error().code(), ErrorCode::kInvalidArgument);
}

// ---- SM2Cipher <-> ECCCIPHERBLOB ----

// req: KM-03
TEST(Sm2CipherBlob, ConversionRoundTripsAndKeepsShortCoordinates) {
  Keys k;
  // Random ciphertexts: about half of the coordinates need the DER 0x00 sign byte.
  for (int i = 0; i < 100; ++i) {
    Bytes der = Must(crypto::Sm2Encrypt(k.sign.public_key, ToBytes("sixteen byte key")));
    Bytes blob = Must(Sm2CipherDerToSkfBlob(der));
    ASSERT_EQ(blob.size(), 164u + 16u);
    EXPECT_EQ(Le32(blob, 160), 16u);
    EXPECT_EQ(Must(SkfBlobToSm2CipherDer(blob)), der);
  }
  // A 31-byte x (leading zero byte, 1 in 256 at random) and a y with its top bit set: x is
  // right-aligned in its field and both come back as minimal INTEGERs.
  Bytes x(31, 0x11), y(32, 0xee);
  Bytes hash(32, 0x33), c2{1, 2, 3};
  Bytes der = der::Sequence({der::IntegerFromUnsigned(x), der::IntegerFromUnsigned(y),
                             der::OctetString(hash), der::OctetString(c2)});
  Bytes blob = Must(Sm2CipherDerToSkfBlob(der));
  ASSERT_EQ(blob.size(), 167u);
  EXPECT_TRUE(AllZero(Slice(blob, 0, 33)));
  EXPECT_EQ(Slice(blob, 33, 31), x);
  EXPECT_TRUE(AllZero(Slice(blob, 64, 32)));
  EXPECT_EQ(Slice(blob, 96, 32), y);
  EXPECT_EQ(Slice(blob, 128, 32), hash);
  EXPECT_EQ(Slice(blob, 160, 4), (Bytes{3, 0, 0, 0}));
  EXPECT_EQ(Slice(blob, 164, 3), c2);
  EXPECT_EQ(Must(SkfBlobToSm2CipherDer(blob)), der);
}

// req: KM-03
TEST(Sm2CipherBlob, MalformedInputs) {
  Keys k;
  Bytes der = Must(crypto::Sm2Encrypt(k.sign.public_key, ToBytes("key")));
  Bytes blob = Must(Sm2CipherDerToSkfBlob(der));
  for (std::size_t n = 0; n < blob.size(); ++n) {
    EXPECT_EQ(SkfBlobToSm2CipherDer(ByteView(blob.data(), n)).error().code(),
              ErrorCode::kMalformedInput);
  }
  Bytes b = blob;
  SetLe32(b, 160, 0);
  b.resize(164);
  EXPECT_EQ(SkfBlobToSm2CipherDer(b).error().code(), ErrorCode::kMalformedInput);  // empty C2
  // DER side: 33-byte coordinate, 31-byte HASH, trailing bytes, empty CipherText.
  Bytes big(33, 0x7f);
  auto bad_x = der::Sequence({der::IntegerFromUnsigned(big), der::Integer(1),
                              der::OctetString(Bytes(32)), der::OctetString(Bytes(1))});
  auto short_hash = der::Sequence({der::Integer(1), der::Integer(1),
                                   der::OctetString(Bytes(31)), der::OctetString(Bytes(1))});
  auto empty_c2 = der::Sequence({der::Integer(1), der::Integer(1), der::OctetString(Bytes(32)),
                                 der::OctetString(Bytes())});
  Bytes trailing = der;
  trailing.push_back(0);
  for (const Bytes& bad : {bad_x, short_hash, empty_c2, trailing}) {
    auto r = Sm2CipherDerToSkfBlob(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kMalformedInput);
  }
}

// ---- GB/T 35276 SM2EnvelopedKey ----

// req: KM-03
TEST(Sm2EnvelopedKeyFormat, RoundTripAndStructure) {
  Keys k;
  EcbKeyEnvelope env = Must(BuildEcbKeyEnvelope(k.enc.private_key, k.sign.public_key));
  Bytes der = Must(EncodeSm2EnvelopedKey(env));
  // SEQUENCE { SEQUENCE { 1.2.156.10197.1.104.1, NULL }, SM2Cipher, BIT STRING, BIT STRING }
  der::Element top = Must(der::ParseSingle(der));
  der::Reader r(top.content);
  der::Element alg = Must(r.Expect(der::kSequence));
  EXPECT_EQ(HexEncode(alg.whole), "300c06082a811ccf55016801" "0500");
  EXPECT_EQ(B(Must(r.Expect(der::kSequence)).whole), env.encrypted_cek);
  der::Element pub = Must(r.Expect(der::kBitString));
  EXPECT_EQ(pub.content.size(), 66u);
  EXPECT_EQ(pub.content[0], 0);     // no unused bits
  EXPECT_EQ(pub.content[1], 0x04);  // uncompressed point
  der::Element priv = Must(r.Expect(der::kBitString));
  EXPECT_EQ(Bytes(priv.content.begin() + 1, priv.content.end()), Slice(env.ciphertext64, 32, 32));
  EXPECT_TRUE(r.ExpectEnd().ok());

  Sm2EnvelopedKey parsed = Must(ParseSm2EnvelopedKey(der));
  EXPECT_EQ(parsed.encrypted_cek, env.encrypted_cek);
  EXPECT_EQ(parsed.public_key, k.enc.public_key);
  EXPECT_EQ(parsed.encrypted_private_key.size(), 32u);
  EXPECT_EQ(Must(EncodeSm2EnvelopedKey(parsed)), der);
  auto key = OpenSm2EnvelopedKey(parsed, SoftwareCekDecryptor(k.sign.private_key));
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_TRUE(ConstantTimeEqual(key->scalar().view(), k.enc.private_key.scalar().view()));
  EXPECT_FALSE(OpenSm2EnvelopedKey(parsed, SoftwareCekDecryptor(k.other.private_key)).ok());
}

// Builds an SM2EnvelopedKey by hand from a chosen plaintext form, as other implementations do.
Bytes HandMadeEnvelopedKey(const Keys& k, const Bytes& alg_id, ByteView plaintext) {
  const Bytes cek(16, 0x5a);
  return der::Sequence({alg_id, Must(crypto::Sm2Encrypt(k.sign.public_key, cek)),
                        der::BitString(k.enc.public_key.point()),
                        der::BitString(Must(crypto::Sm4EcbEncrypt(cek, plaintext)))});
}

// req: KM-03
TEST(Sm2EnvelopedKeyFormat, ParserIsTolerantOfOtherImplementations) {
  Keys k;
  const ByteView d = k.enc.private_key.scalar().view();
  Bytes padded(d.begin(), d.end());
  padded.insert(padded.end(), 16, 0x10);  // PKCS#7 padded ECB
  Bytes field(32, 0);
  field.insert(field.end(), d.begin(), d.end());  // 0^32 || d
  const Bytes bare_sm4 = der::Sequence({der::OidLiteral(kOidSm4)});
  const Bytes ecb_no_null = der::Sequence({der::OidLiteral(kOidSm4Ecb)});
  const Bytes ecb_null = der::Sequence({der::OidLiteral(kOidSm4Ecb), der::Null()});
  struct Case {
    const Bytes& alg;
    ByteView plain;
  };
  for (const Case& c : {Case{bare_sm4, d}, Case{ecb_no_null, d}, Case{ecb_null, padded},
                        Case{ecb_null, field}}) {
    Sm2EnvelopedKey parsed = Must(ParseSm2EnvelopedKey(HandMadeEnvelopedKey(k, c.alg, c.plain)));
    auto key = OpenSm2EnvelopedKey(parsed, SoftwareCekDecryptor(k.sign.private_key),
                                   k.enc.public_key);
    ASSERT_TRUE(key.ok()) << key.error().ToString();
    EXPECT_TRUE(ConstantTimeEqual(key->scalar().view(), d));
  }
  // Bad padding in the 48-byte form and a nonzero prefix in the 64-byte form.
  Bytes bad_pad = padded;
  bad_pad.back() = 0x0f;
  Bytes bad_field = field;
  bad_field[0] = 1;
  for (const Bytes& plain : {bad_pad, bad_field}) {
    Sm2EnvelopedKey parsed = Must(ParseSm2EnvelopedKey(HandMadeEnvelopedKey(k, ecb_null, plain)));
    auto key = OpenSm2EnvelopedKey(parsed, SoftwareCekDecryptor(k.sign.private_key));
    ASSERT_FALSE(key.ok());
    ExpectMalformed(key.error(), "expected form");
  }
}

// req: KM-03
TEST(Sm2EnvelopedKeyFormat, MalformedInputs) {
  Keys k;
  const ByteView d = k.enc.private_key.scalar().view();
  const Bytes ecb_null = der::Sequence({der::OidLiteral(kOidSm4Ecb), der::Null()});
  const Bytes good = HandMadeEnvelopedKey(k, ecb_null, d);
  ASSERT_TRUE(ParseSm2EnvelopedKey(good).ok());
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(ParseSm2EnvelopedKey(ByteView(good.data(), n)).error().code(),
              ErrorCode::kMalformedInput);
  }
  auto expect_bad = [](const Bytes& der, std::string_view fragment) {
    auto r = ParseSm2EnvelopedKey(der);
    ASSERT_FALSE(r.ok()) << fragment;
    ExpectMalformed(r.error(), fragment);
  };
  expect_bad(HandMadeEnvelopedKey(k, der::Sequence({der::OidLiteral(kOidSm4Cbc), der::Null()}), d),
             "not SM4-ECB");
  expect_bad(HandMadeEnvelopedKey(
                 k, der::Sequence({der::OidLiteral(kOidSm4Ecb), der::OctetString(Bytes(16))}), d),
             "parameters");
  expect_bad(HandMadeEnvelopedKey(k, ecb_null, Bytes(16, 1)), "32, 48 or 64");
  Bytes trailing = good;
  trailing.push_back(0);
  expect_bad(trailing, "SEQUENCE");
  // A public key that is not on the curve.
  Bytes point(k.enc.public_key.point().begin(), k.enc.public_key.point().end());
  point[40] ^= 1;
  const Bytes cek(16, 1);
  expect_bad(der::Sequence({ecb_null, Must(crypto::Sm2Encrypt(k.sign.public_key, cek)),
                            der::BitString(point), der::BitString(Bytes(32))}),
             "sm2PublicKey");
}

// ---- GM/T 0010 EnvelopedData ----

RecipientId TestRecipient() {
  return RecipientId{testing::N("C=CN,O=MOHRSS,CN=Business CA").der(), Bytes{0x01, 0x23, 0x45}, {}};
}

// req: KM-03
TEST(GmEnvelopedData, StructureAndRoundTrip) {
  Keys k;
  CbcKeyEnvelope env = Must(BuildCbcKeyEnvelope(k.enc.private_key, k.sign.public_key));
  EXPECT_EQ(env.iv.size(), 16u);
  EXPECT_EQ(env.ciphertext.size(), 128u);  // 121-byte ECPrivateKey + 7 bytes of padding
  const RecipientId rid = TestRecipient();
  Bytes der = Must(EncodeGmEnvelopedData(env, rid));

  // ContentInfo { envelopedData, [0] { version 1, SET { RecipientInfo }, EncryptedContentInfo } }
  der::Element ci = Must(der::ParseSingle(der));
  der::Reader r(ci.content);
  EXPECT_EQ(Must(der::OidToString(Must(r.Expect(der::kOid)).content)), kOidGmEnvelopedData);
  der::Element ed = Must(der::ParseSingle(Must(r.Expect(der::ContextConstructed(0))).content));
  der::Reader e(ed.content);
  EXPECT_EQ(Must(der::ParseSmallInteger(Must(e.Expect(der::kInteger)))), 1);
  der::Reader set(Must(e.Expect(der::kSet)).content);
  der::Reader ri(Must(set.Expect(der::kSequence)).content);
  EXPECT_TRUE(set.ExpectEnd().ok());
  EXPECT_EQ(Must(der::ParseSmallInteger(Must(ri.Expect(der::kInteger)))), 1);
  der::Reader ias(Must(ri.Expect(der::kSequence)).content);
  EXPECT_EQ(B(Must(ias.Expect(der::kSequence)).whole), rid.issuer_name_der);
  EXPECT_EQ(HexEncode(Must(ias.Expect(der::kInteger)).whole), "0203012345");
  // keyEncryptionAlgorithm sm2encrypt 1.2.156.10197.1.301.3 with NULL.
  EXPECT_EQ(HexEncode(Must(ri.Expect(der::kSequence)).whole), "300d06092a811ccf5501822d030500");
  EXPECT_EQ(B(Must(ri.Expect(der::kOctetString)).content), env.encrypted_cek);
  der::Reader eci(Must(e.Expect(der::kSequence)).content);
  EXPECT_EQ(Must(der::OidToString(Must(eci.Expect(der::kOid)).content)), kOidGmData);
  der::Reader alg(Must(eci.Expect(der::kSequence)).content);
  EXPECT_EQ(Must(der::OidToString(Must(alg.Expect(der::kOid)).content)), kOidSm4Cbc);
  der::Element iv = Must(alg.Expect(der::kOctetString));
  EXPECT_EQ(Bytes(iv.content.begin(), iv.content.end()), env.iv);
  der::Element content = Must(eci.Expect(der::ContextPrimitive(0)));  // [0] IMPLICIT, primitive
  EXPECT_EQ(Bytes(content.content.begin(), content.content.end()), env.ciphertext);

  GmEnvelopedData parsed = Must(ParseGmEnvelopedData(der));
  ASSERT_EQ(parsed.recipients.size(), 1u);
  EXPECT_EQ(parsed.recipients[0].id, rid);
  EXPECT_EQ(parsed.recipients[0].key_encryption_oid, kOidSm2Encrypt);
  EXPECT_EQ(parsed.content_encryption_oid, kOidSm4Cbc);
  CbcKeyEnvelope back = Must(SelectRecipient(parsed, rid, k.enc.public_key));
  EXPECT_EQ(Must(EncodeGmEnvelopedData(back, rid)), der);
  auto key = OpenCbcKeyEnvelope(back, SoftwareCekDecryptor(k.sign.private_key));
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_TRUE(ConstantTimeEqual(key->scalar().view(), k.enc.private_key.scalar().view()));

  RecipientId other = rid;
  other.serial = {0x02};
  EXPECT_EQ(SelectRecipient(parsed, other, k.enc.public_key).error().code(),
            ErrorCode::kNotFound);
}

// req: KM-03
TEST(GmEnvelopedData, RecipientFromCertificateAndSubjectKeyId) {
  Keys k;
  testing::Chain4 chain;
  CbcKeyEnvelope env = Must(BuildCbcKeyEnvelope(k.enc.private_key, chain.ee_key.pub));
  const RecipientId rid = RecipientIdFromCertificate(chain.ee);
  EXPECT_EQ(rid.issuer_name_der, chain.business.subject().der());
  EXPECT_EQ(rid.serial, chain.ee.serial());
  GmEnvelopedData parsed = Must(ParseGmEnvelopedData(Must(EncodeGmEnvelopedData(env, rid))));
  EXPECT_EQ(parsed.recipients[0].id, rid);
  CbcKeyEnvelope back = Must(SelectRecipient(parsed, rid, k.enc.public_key));
  EXPECT_TRUE(OpenCbcKeyEnvelope(back, SoftwareCekDecryptor(*chain.ee_key.priv)).ok());

  RecipientId ski{{}, {}, Bytes{1, 2, 3, 4}};
  Bytes der = Must(EncodeGmEnvelopedData(env, ski));
  GmEnvelopedData p2 = Must(ParseGmEnvelopedData(der));
  EXPECT_EQ(p2.recipients[0].id, ski);
  EXPECT_NE(HexEncode(der).find("0201028004" "01020304"), std::string::npos);  // v2, [0] SKI
  EXPECT_EQ(EncodeGmEnvelopedData(env, RecipientId{}).error().code(),
            ErrorCode::kInvalidArgument);
}

// req: KM-03
TEST(GmEnvelopedData, OpenCbcRejectsWrongKeyAndTampering) {
  Keys k;
  CbcKeyEnvelope env = Must(BuildCbcKeyEnvelope(k.enc.private_key, k.sign.public_key));
  auto dec = SoftwareCekDecryptor(k.sign.private_key);
  EXPECT_EQ(OpenCbcKeyEnvelope(env, SoftwareCekDecryptor(k.other.private_key)).error().code(),
            ErrorCode::kBadSignature);
  CbcKeyEnvelope e = env;
  e.public_key = k.other.public_key;  // the encryption certificate of someone else
  ExpectMalformed(OpenCbcKeyEnvelope(e, dec).error(), "public key");
  e = env;
  e.ciphertext.back() ^= 1;  // breaks the padding
  ExpectMalformed(OpenCbcKeyEnvelope(e, dec).error(), "not a valid SM2 ECPrivateKey");
  e = env;
  e.iv[0] ^= 1;  // flips a bit of the first block: the SEQUENCE tag
  ExpectMalformed(OpenCbcKeyEnvelope(e, dec).error(), "not a valid SM2 ECPrivateKey");
  e = env;
  e.iv[9] ^= 1;  // flips a bit of d inside the ECPrivateKey: DER fine, key wrong
  ExpectMalformed(OpenCbcKeyEnvelope(e, dec).error(), "public key");
  e = env;
  e.ciphertext.pop_back();
  ExpectMalformed(OpenCbcKeyEnvelope(e, dec).error(), "multiple of 16");
}

// req: KM-03
TEST(GmEnvelopedData, ParserToleranceAndMalformedInputs) {
  Keys k;
  CbcKeyEnvelope env = Must(BuildCbcKeyEnvelope(k.enc.private_key, k.sign.public_key));
  const RecipientId rid = TestRecipient();
  const Bytes rid_der =
      der::Sequence({rid.issuer_name_der, der::IntegerFromUnsigned(rid.serial)});
  // Assembles an EnvelopedData from chosen pieces, as other implementations might.
  auto make = [&](std::string_view outer, int version, std::string_view key_alg, bool null,
                  std::string_view content_alg, bool with_content, Bytes extra = {}) {
    std::vector<Bytes> alg{der::OidLiteral(key_alg)};
    if (null) alg.push_back(der::Null());
    Bytes ri = der::Sequence({der::Integer(version), rid_der, der::Sequence(alg),
                              der::OctetString(env.encrypted_cek)});
    std::vector<Bytes> eci{der::OidLiteral(kOidGmData),
                           der::Sequence({der::OidLiteral(content_alg),
                                          der::OctetString(env.iv)})};
    if (with_content) eci.push_back(der::Tlv(der::ContextPrimitive(0), env.ciphertext));
    if (!extra.empty()) eci.push_back(extra);
    Bytes ed = der::Sequence({der::Integer(version), der::SetOf({ri}), der::Sequence(eci)});
    return der::Sequence({der::OidLiteral(outer), der::Explicit(0, ed)});
  };
  // GmSSL: keyEncryptionAlgorithm 301.2 without parameters; CFCA: bare SM4 OID; RFC 2315
  // outer type and version 0; sharedInfo1 present.
  for (const Bytes& der :
       {make(kOidGmEnvelopedData, 1, kOidSm2EncryptGmssl, false, kOidSm4Cbc, true),
        make(kOidGmEnvelopedData, 1, kOidSm2Encrypt, true, kOidSm4, true),
        make("1.2.840.113549.1.7.3", 0, kOidSm2Encrypt, true, kOidSm4Cbc, true),
        make(kOidGmEnvelopedData, 1, kOidSm2Encrypt, true, kOidSm4Cbc, true,
             der::Tlv(der::ContextPrimitive(1), ToBytes("shared")))}) {
    GmEnvelopedData parsed = Must(ParseGmEnvelopedData(der));
    auto key = OpenCbcKeyEnvelope(Must(SelectRecipient(parsed, rid, k.enc.public_key)),
                                  SoftwareCekDecryptor(k.sign.private_key));
    ASSERT_TRUE(key.ok()) << key.error().ToString();
  }
  auto expect_bad = [](const Bytes& der, std::string_view fragment) {
    auto r = ParseGmEnvelopedData(der);
    ASSERT_FALSE(r.ok()) << fragment;
    ExpectMalformed(r.error(), fragment);
  };
  expect_bad(make("1.2.156.10197.6.1.4.2.2", 1, kOidSm2Encrypt, true, kOidSm4Cbc, true),
             "not envelopedData");
  expect_bad(make(kOidGmEnvelopedData, 3, kOidSm2Encrypt, true, kOidSm4Cbc, true), "version");
  expect_bad(make(kOidGmEnvelopedData, 1, "1.2.156.10197.1.301.1", true, kOidSm4Cbc, true),
             "not SM2 encryption");
  expect_bad(make(kOidGmEnvelopedData, 1, kOidSm2Encrypt, true, kOidSm4Ecb, true),
             "not SM4-CBC");
  expect_bad(make(kOidGmEnvelopedData, 1, kOidSm2Encrypt, true, kOidSm4Cbc, false),
             "encryptedContent absent");
  const Bytes good = Must(EncodeGmEnvelopedData(env, rid));
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(ParseGmEnvelopedData(ByteView(good.data(), n)).error().code(),
              ErrorCode::kMalformedInput);
  }
  Bytes big(1024 * 1024 + 1, 0x30);
  EXPECT_EQ(ParseGmEnvelopedData(big).error().code(), ErrorCode::kTooLarge);
}

// Bouncy Castle (not gmpki, not OpenSSL) parses the ContentInfo with its CMS ASN.1 classes,
// decrypts the CEK with its SM2Engine and the key with its SM4-CBC, and reads the ECPrivateKey.
// req: KM-03
TEST(GmEnvelopedData, BouncyCastleParsesAndOpensIt) {
  const std::string jars = "/usr/share/java/bcprov.jar:/usr/share/java/bcutil.jar:"
                           "/usr/share/java/bcpkix.jar";
  ASSERT_EQ(testing::RunCommand("java -version").status, 0)
      << "needs java 17 and Bouncy Castle (Debian: openjdk-17-jdk-headless libbcprov-java "
         "libbcpkix-java; tools/install-deps.sh)";
  Keys k;
  testing::Chain4 chain;
  CbcKeyEnvelope env = Must(BuildCbcKeyEnvelope(k.enc.private_key, chain.ee_key.pub));
  const RecipientId rid = RecipientIdFromCertificate(chain.ee);
  testing::TempDir dir;
  dir.Write("env.der", Must(EncodeGmEnvelopedData(env, rid)));
  const std::string cmd = "java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp " + jars + " " +
                          GMPKI_SOURCE_DIR "/src/x509/tests/KeyEnvelopeBcCheck.java " +
                          dir.Path("env.der") + " ";
  auto run = [&](const crypto::Sm2PrivateKey& recipient) {
    return testing::RunCommand(cmd + HexEncode(recipient.scalar().view()) + " " +
                               HexEncode(rid.issuer_name_der) + " " + HexEncode(rid.serial) +
                               " " + HexEncode(k.enc.private_key.scalar().view()));
  };
  auto ok = run(*chain.ee_key.priv);
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_NE(ok.output.find("{\"ok\":true}"), std::string::npos) << ok.output;
  // The wrong recipient key: BC's SM2 decryption must fail (C3 check), so the check is real.
  auto wrong = run(k.other.private_key);
  EXPECT_NE(wrong.status, 0) << wrong.output;
  EXPECT_NE(wrong.output.find("InvalidCipherTextException"), std::string::npos) << wrong.output;
}

}  // namespace
}  // namespace gmpki::x509
