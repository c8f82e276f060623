// Key envelopes against an independent implementation: OpenSSL 3.0's SM2 encryption
// (EVP_PKEY_encrypt/decrypt, GM/T 0009 ASN.1 form, shared STANDARDS-NOTES 2.5), SM4 ECB/CBC
// (EVP_sm4_ecb/EVP_sm4_cbc) and its ECPrivateKey (RFC 5915) decoder.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <memory>

#include "crypto/sm2.h"
#include "x509/der.h"
#include "x509/key_envelope.h"
#include "x509/tests/test_util.h"

namespace gmpki::x509 {
namespace {

using testing::Must;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

PkeyPtr ToOpenssl(const crypto::Sm2KeyPair& kp) {
  BIGNUM* d = BN_bin2bn(kp.private_key.scalar().data(), 32, nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, kp.public_key.point().data(),
                                   65);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", nullptr));
  EVP_PKEY* pkey = nullptr;
  EXPECT_EQ(EVP_PKEY_fromdata_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_KEYPAIR, params), 1);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_clear_free(d);
  return PkeyPtr(pkey);
}

Bytes OsslSm2Decrypt(EVP_PKEY* pkey, ByteView c) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(pkey, nullptr));
  EXPECT_EQ(EVP_PKEY_decrypt_init(ctx.get()), 1);
  std::size_t len = 0;
  EXPECT_EQ(EVP_PKEY_decrypt(ctx.get(), nullptr, &len, c.data(), c.size()), 1);
  Bytes out(len);
  if (EVP_PKEY_decrypt(ctx.get(), out.data(), &len, c.data(), c.size()) != 1) return {};
  out.resize(len);
  return out;
}

Bytes OsslSm2Encrypt(EVP_PKEY* pkey, ByteView m) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(pkey, nullptr));
  EXPECT_EQ(EVP_PKEY_encrypt_init(ctx.get()), 1);
  std::size_t len = 0;
  EXPECT_EQ(EVP_PKEY_encrypt(ctx.get(), nullptr, &len, m.data(), m.size()), 1);
  Bytes out(len);
  EXPECT_EQ(EVP_PKEY_encrypt(ctx.get(), out.data(), &len, m.data(), m.size()), 1);
  out.resize(len);
  return out;
}

// EVP_sm4_ecb / EVP_sm4_cbc, one shot. Empty result on failure (e.g. bad padding).
Bytes OsslSm4(const EVP_CIPHER* cipher, bool encrypt, bool pad, ByteView key, ByteView iv,
              ByteView in) {
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  EXPECT_EQ(EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key.data(),
                              iv.empty() ? nullptr : iv.data(), encrypt ? 1 : 0),
            1);
  EVP_CIPHER_CTX_set_padding(ctx.get(), pad ? 1 : 0);
  Bytes out(in.size() + 16);
  int n1 = 0, n2 = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &n1, in.data(), static_cast<int>(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), out.data() + n1, &n2) != 1) {
    return {};
  }
  out.resize(static_cast<std::size_t>(n1 + n2));
  return out;
}

struct Keys {
  crypto::Sm2KeyPair enc = Must(crypto::Sm2GenerateKeyPair());
  crypto::Sm2KeyPair sign = Must(crypto::Sm2GenerateKeyPair());
};

Bytes Le32(std::uint32_t v) {
  return Bytes{static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8),
               static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 24)};
}

// req: KM-03
TEST(KeyEnvelopeOpenssl, OpensslOpensOurEcbEnvelope) {
  Keys k;
  PkeyPtr recipient = ToOpenssl(k.sign);
  EcbKeyEnvelope env = Must(BuildEcbKeyEnvelope(k.enc.private_key, k.sign.public_key));
  Bytes cek = OsslSm2Decrypt(recipient.get(), env.encrypted_cek);
  ASSERT_EQ(cek.size(), 16u);
  Bytes field = OsslSm4(EVP_sm4_ecb(), false, false, cek, {}, env.ciphertext64);
  ASSERT_EQ(field.size(), 64u);
  EXPECT_EQ(Bytes(field.begin(), field.begin() + 32), Bytes(32, 0));
  EXPECT_TRUE(ConstantTimeEqual(ByteView(field).last(32), k.enc.private_key.scalar().view()));

  // The SKF blob carries the same CEK ciphertext: back to DER, OpenSSL still decrypts it.
  Bytes blob = Must(EncodeSkfEnvelopedKeyBlob(env));
  Bytes der = Must(SkfBlobToSm2CipherDer(ByteView(blob).subspan(208)));
  EXPECT_EQ(OsslSm2Decrypt(recipient.get(), der), cek);
}

// req: KM-03
TEST(KeyEnvelopeOpenssl, OpensslOpensOurCbcEnvelopeAndParsesTheKey) {
  Keys k;
  PkeyPtr recipient = ToOpenssl(k.sign);
  CbcKeyEnvelope env = Must(BuildCbcKeyEnvelope(k.enc.private_key, k.sign.public_key));
  // Take the parts from the encoded EnvelopedData, as a third party would.
  GmEnvelopedData parsed = Must(ParseGmEnvelopedData(
      Must(EncodeGmEnvelopedData(env, RecipientId{{}, {}, Bytes{9, 9}}))));
  Bytes cek = OsslSm2Decrypt(recipient.get(), parsed.recipients[0].encrypted_cek);
  ASSERT_EQ(cek.size(), 16u);
  Bytes ec_der = OsslSm4(EVP_sm4_cbc(), false, true, cek, parsed.iv, parsed.ciphertext);
  ASSERT_EQ(ec_der.size(), 121u);

  // OpenSSL's own ECPrivateKey encoding of the same key is byte-identical (RFC 5915 with the
  // named curve and the public key, as OpenSSL writes it).
  PkeyPtr enc = ToOpenssl(k.enc);
  unsigned char* theirs = nullptr;
  const int len = i2d_PrivateKey(enc.get(), &theirs);
  ASSERT_GT(len, 0);
  Bytes theirs_der(theirs, theirs + len);
  OPENSSL_clear_free(theirs, static_cast<std::size_t>(len));
  EXPECT_EQ(HexEncode(ec_der), HexEncode(theirs_der));

  // And OpenSSL decodes ours back to the same private scalar.
  const unsigned char* p = ec_der.data();
  PkeyPtr decoded(d2i_PrivateKey(EVP_PKEY_EC, nullptr, &p, static_cast<long>(ec_der.size())));
  ASSERT_TRUE(decoded);
  BIGNUM* d = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(decoded.get(), OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
  Bytes d32(32);
  ASSERT_EQ(BN_bn2binpad(d, d32.data(), 32), 32);
  BN_clear_free(d);
  EXPECT_TRUE(ConstantTimeEqual(d32, k.enc.private_key.scalar().view()));
}

// An ENVELOPEDKEYBLOB laid out by this test from OpenSSL-made parts (GM/T 0016 struct, pack(1),
// little-endian ULONGs), parsed and opened by gmpki.
// req: KM-03
TEST(KeyEnvelopeOpenssl, WeOpenAnOpensslMadeSkfBlobAndSm2EnvelopedKey) {
  Keys k;
  PkeyPtr recipient = ToOpenssl(k.sign);
  const Bytes cek{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                  0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
  Bytes field(32, 0);
  const ByteView d = k.enc.private_key.scalar().view();
  field.insert(field.end(), d.begin(), d.end());
  const Bytes enc_field = OsslSm4(EVP_sm4_ecb(), true, false, cek, {}, field);
  ASSERT_EQ(enc_field.size(), 64u);
  const Bytes enc_cek = OsslSm2Encrypt(recipient.get(), cek);

  // ECCCIPHERBLOB from the DER fields, by hand.
  der::Element c = Must(der::ParseSingle(enc_cek));
  der::Reader r(c.content);
  Bytes x = Must(der::ParseUnsignedInteger(Must(r.Expect(der::kInteger))));
  Bytes y = Must(der::ParseUnsignedInteger(Must(r.Expect(der::kInteger))));
  ByteView hash = Must(r.Expect(der::kOctetString)).content;
  ByteView c2 = Must(r.Expect(der::kOctetString)).content;
  auto field64 = [](ByteView v) {
    Bytes f(64 - v.size(), 0);
    f.insert(f.end(), v.begin(), v.end());
    return f;
  };
  Bytes blob;
  auto append = [&blob](const Bytes& b) { blob.insert(blob.end(), b.begin(), b.end()); };
  append(Le32(1));
  append(Le32(0x401));
  append(Le32(256));
  append(enc_field);
  append(Le32(256));
  append(field64(k.enc.public_key.x()));
  append(field64(k.enc.public_key.y()));
  append(field64(x));
  append(field64(y));
  append(Bytes(hash.begin(), hash.end()));
  append(Le32(static_cast<std::uint32_t>(c2.size())));
  append(Bytes(c2.begin(), c2.end()));

  EcbKeyEnvelope env = Must(ParseSkfEnvelopedKeyBlob(blob));
  EXPECT_EQ(env.encrypted_cek, enc_cek);
  auto key = OpenEcbKeyEnvelope(env, SoftwareCekDecryptor(k.sign.private_key), k.enc.public_key);
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_TRUE(ConstantTimeEqual(key->scalar().view(), d));

  // The GB/T 35276 form from the same parts: SM4-ECB(d) is the last 32 bytes.
  Bytes sm2_env = der::Sequence({der::Sequence({der::OidLiteral(kOidSm4Ecb), der::Null()}),
                                 enc_cek, der::BitString(k.enc.public_key.point()),
                                 der::BitString(OsslSm4(EVP_sm4_ecb(), true, false, cek, {}, d))});
  EXPECT_EQ(Must(EncodeSm2EnvelopedKey(env)), sm2_env);
  auto key2 = OpenSm2EnvelopedKey(Must(ParseSm2EnvelopedKey(sm2_env)),
                                  SoftwareCekDecryptor(k.sign.private_key));
  ASSERT_TRUE(key2.ok()) << key2.error().ToString();
  EXPECT_TRUE(ConstantTimeEqual(key2->scalar().view(), d));
}

// req: KM-03
TEST(KeyEnvelopeOpenssl, WeOpenAnOpensslMadeCbcEnvelope) {
  Keys k;
  PkeyPtr recipient = ToOpenssl(k.sign);
  PkeyPtr enc = ToOpenssl(k.enc);
  unsigned char* raw = nullptr;
  const int len = i2d_PrivateKey(enc.get(), &raw);
  ASSERT_GT(len, 0);
  Bytes ec_der(raw, raw + len);
  OPENSSL_clear_free(raw, static_cast<std::size_t>(len));
  const Bytes cek(16, 0xa5), iv(16, 0x3c);
  CbcKeyEnvelope env{OsslSm2Encrypt(recipient.get(), cek), iv,
                     OsslSm4(EVP_sm4_cbc(), true, true, cek, iv, ec_der), k.enc.public_key};
  auto key = OpenCbcKeyEnvelope(env, SoftwareCekDecryptor(k.sign.private_key));
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_TRUE(ConstantTimeEqual(key->scalar().view(), k.enc.private_key.scalar().view()));
}

}  // namespace
}  // namespace gmpki::x509
