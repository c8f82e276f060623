// The "gmpki" OpenSSL provider (ossl_provider.h): OpenSSL's EVP and X.509 calls on SM2 keys run
// through gmpki's engine, agree with sm2.h both ways under the GM/T 0009 ID rules, and stop
// doing so when OpenSSL's own SM2 is selected.
#include "crypto/ossl_provider.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "crypto/ossl_provider_internal.h"
#include "crypto/sm2.h"
#include "crypto/test_vectors.h"

namespace gmpki::crypto {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

Sm2Impl ImplFromEnvironment() {
  const char* v = std::getenv("GMPKI_SM2_IMPL");
  return v != nullptr && std::string(v) == "openssl" ? Sm2Impl::kOpenSsl : Sm2Impl::kGmpki;
}

// An EVP_PKEY for `kp` built by the named provider's key management ("default" or "gmpki").
PkeyPtr ToEvp(const Sm2KeyPair& kp, const char* propq) {
  BIGNUM* d = BN_bin2bn(kp.private_key.scalar().data(), 32, nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, kp.public_key.point().data(),
                                   65);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", propq));
  EVP_PKEY* pkey = nullptr;
  EXPECT_EQ(EVP_PKEY_fromdata_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_KEYPAIR, params), 1);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_clear_free(d);
  return PkeyPtr(pkey);
}

const char* ProviderOf(const EVP_PKEY* pkey) {
  return OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(pkey));
}

// EVP_DigestSign or EVP_DigestVerify of `msg`; `id` null means "no ID set".
Bytes EvpDigestSign(EVP_PKEY* pkey, const Bytes* id, ByteView msg) {
  MdCtxPtr m(EVP_MD_CTX_new());
  EVP_PKEY_CTX* p = nullptr;
  EXPECT_EQ(EVP_DigestSignInit(m.get(), &p, EVP_sm3(), nullptr, pkey), 1);
  if (id != nullptr) {
    EXPECT_EQ(EVP_PKEY_CTX_set1_id(p, id->data(), id->size()), 1);
  }
  std::size_t len = 0;
  EXPECT_EQ(EVP_DigestSign(m.get(), nullptr, &len, msg.data(), msg.size()), 1);
  Bytes sig(len);
  EXPECT_EQ(EVP_DigestSign(m.get(), sig.data(), &len, msg.data(), msg.size()), 1);
  sig.resize(len);
  return sig;
}

bool EvpDigestVerify(EVP_PKEY* pkey, const Bytes* id, ByteView msg, ByteView sig) {
  MdCtxPtr m(EVP_MD_CTX_new());
  EVP_PKEY_CTX* p = nullptr;
  EXPECT_EQ(EVP_DigestVerifyInit(m.get(), &p, EVP_sm3(), nullptr, pkey), 1);
  if (id != nullptr) {
    EXPECT_EQ(EVP_PKEY_CTX_set1_id(p, id->data(), id->size()), 1);
  }
  const int rc = EVP_DigestVerify(m.get(), sig.data(), sig.size(), msg.data(), msg.size());
  ERR_clear_error();
  return rc == 1;
}

class OsslProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InstallSm2Provider().ok());
    ASSERT_TRUE(SelectSm2Impl(Sm2Impl::kGmpki).ok());
    auto kp = Sm2GenerateKeyPair();
    ASSERT_TRUE(kp.ok());
    kp_.emplace(std::move(*kp));
  }
  // Every test leaves the process as the environment set it up.
  void TearDown() override { EXPECT_TRUE(SelectSm2Impl(ImplFromEnvironment()).ok()); }

  std::optional<Sm2KeyPair> kp_;
  const Bytes gmt_id_ = ToBytes(kDefaultSm2Id);
  const Bytes msg_ = ToBytes("provider message");
};

// req: CC-FCS
TEST_F(OsslProviderTest, InstalledBesideDefaultAndSelectedByTheEnvironment) {
  EXPECT_EQ(OSSL_PROVIDER_available(nullptr, "gmpki"), 1);
  EXPECT_EQ(OSSL_PROVIDER_available(nullptr, "default"), 1);
  EXPECT_TRUE(InstallSm2Provider().ok());  // idempotent
  ASSERT_TRUE(SelectSm2Impl(ImplFromEnvironment()).ok());
  EXPECT_EQ(ActiveSm2Impl(), ImplFromEnvironment());
  // Non-SM2 algorithms still come from the default provider.
  std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> sha(EVP_MD_fetch(nullptr, "SHA256", nullptr),
                                                      &EVP_MD_free);
  ASSERT_NE(sha, nullptr);
  EXPECT_STREQ(OSSL_PROVIDER_get0_name(EVP_MD_get0_provider(sha.get())), "default");
}

// req: CC-FCS
TEST_F(OsslProviderTest, DigestSignatureWithExplicitIdAgreesWithSm2hBothWays) {
  PkeyPtr pkey = ToEvp(*kp_, nullptr);
  ASSERT_TRUE(pkey);
  EXPECT_STREQ(ProviderOf(pkey.get()), "gmpki");
  const Bytes id = ToBytes("ALICE123@YAHOO.COM");
  const Sm2ProviderCounts before = Sm2ProviderOperations();

  Bytes theirs = EvpDigestSign(pkey.get(), &id, msg_);
  EXPECT_TRUE(Sm2Verify(kp_->public_key, id, msg_, theirs).ok());
  EXPECT_FALSE(Sm2Verify(kp_->public_key, gmt_id_, msg_, theirs).ok());

  auto ours = Sm2Sign(kp_->private_key, kp_->public_key, id, msg_);
  ASSERT_TRUE(ours.ok());
  EXPECT_TRUE(EvpDigestVerify(pkey.get(), &id, msg_, *ours));
  EXPECT_FALSE(EvpDigestVerify(pkey.get(), &gmt_id_, msg_, *ours));
  Bytes bad = *ours;
  bad[bad.size() - 1] ^= 0x01;
  EXPECT_FALSE(EvpDigestVerify(pkey.get(), &id, msg_, bad));
  EXPECT_FALSE(EvpDigestVerify(pkey.get(), &id, ToBytes("other message"), *ours));

  const Sm2ProviderCounts after = Sm2ProviderOperations();
  EXPECT_EQ(after.signs - before.signs, 1u);
  EXPECT_EQ(after.verifies - before.verifies, 4u);
}

// GM/T 0009-2012 section 10: the default ID when the caller sets none.
// req: CC-FCS
TEST_F(OsslProviderTest, NoIdMeansTheGmtDefaultAndVerifyAlsoAcceptsOpenssl3EmptyId) {
  PkeyPtr pkey = ToEvp(*kp_, nullptr);
  ASSERT_TRUE(pkey);
  Bytes theirs = EvpDigestSign(pkey.get(), nullptr, msg_);
  EXPECT_TRUE(Sm2Verify(kp_->public_key, gmt_id_, msg_, theirs).ok());
  EXPECT_FALSE(Sm2Verify(kp_->public_key, {}, msg_, theirs).ok());

  auto gmt = Sm2Sign(kp_->private_key, kp_->public_key, gmt_id_, msg_);
  auto empty = Sm2Sign(kp_->private_key, kp_->public_key, {}, msg_);
  auto other = Sm2Sign(kp_->private_key, kp_->public_key, AsBytes("someone else"), msg_);
  ASSERT_TRUE(gmt.ok() && empty.ok() && other.ok());
  const Sm2ProviderCounts before = Sm2ProviderOperations();
  EXPECT_TRUE(EvpDigestVerify(pkey.get(), nullptr, msg_, *gmt));
  EXPECT_EQ(Sm2ProviderOperations().empty_id_verifies, before.empty_id_verifies);
  // What OpenSSL 3.x signs with no ID (the empty ID) is accepted when no ID is set...
  EXPECT_TRUE(EvpDigestVerify(pkey.get(), nullptr, msg_, *empty));
  EXPECT_EQ(Sm2ProviderOperations().empty_id_verifies, before.empty_id_verifies + 1);
  // ...but never when an ID was set, and no third ID is ever guessed.
  EXPECT_FALSE(EvpDigestVerify(pkey.get(), &gmt_id_, msg_, *empty));
  EXPECT_FALSE(EvpDigestVerify(pkey.get(), nullptr, msg_, *other));
  const Bytes explicit_empty;
  EXPECT_TRUE(EvpDigestVerify(pkey.get(), &explicit_empty, msg_, *empty));
  EXPECT_FALSE(EvpDigestVerify(pkey.get(), &explicit_empty, msg_, *gmt));
}

// GB/T 32918.5-2016 Annex A through EVP: an independent known answer, not one of ours.
// req: CC-FCS
TEST_F(OsslProviderTest, AnnexAVectorVerifiesThroughEvp) {
  for (const auto& v : testing::LoadVectors("gbt32918/sm2_sign.vec")) {
    auto priv = Sm2PrivateKey::FromScalar(v.Hex("D"));
    auto pub = Sm2PublicKey::FromPoint(v.Hex("P"));
    ASSERT_TRUE(priv.ok() && pub.ok()) << v.Where();
    Sm2KeyPair kp{std::move(*priv), *pub};
    PkeyPtr pkey = ToEvp(kp, nullptr);
    const Bytes id = v.Hex("Id");
    const Sm2ProviderCounts before = Sm2ProviderOperations();
    EXPECT_TRUE(EvpDigestVerify(pkey.get(), &id, v.Hex("Msg"), v.Hex("Sig"))) << v.Where();
    EXPECT_EQ(Sm2ProviderOperations().verifies, before.verifies + 1);
  }
}

// req: CC-FCS
TEST_F(OsslProviderTest, RawSignAndVerifyOfE) {
  PkeyPtr pkey = ToEvp(*kp_, nullptr);
  auto e = Sm2MessageDigest(kp_->public_key, gmt_id_, msg_);
  ASSERT_TRUE(e.ok());
  PkeyCtxPtr sctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  ASSERT_EQ(EVP_PKEY_sign_init(sctx.get()), 1);
  std::size_t len = 0;
  ASSERT_EQ(EVP_PKEY_sign(sctx.get(), nullptr, &len, e->data(), e->size()), 1);
  EXPECT_EQ(len, internal::kSm2MaxSignatureSize);
  Bytes sig(len);
  ASSERT_EQ(EVP_PKEY_sign(sctx.get(), sig.data(), &len, e->data(), e->size()), 1);
  sig.resize(len);
  EXPECT_TRUE(Sm2VerifyDigest(kp_->public_key, *e, sig).ok());

  auto ours = Sm2SignDigest(kp_->private_key, *e);
  ASSERT_TRUE(ours.ok());
  PkeyCtxPtr vctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  ASSERT_EQ(EVP_PKEY_verify_init(vctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_verify(vctx.get(), ours->data(), ours->size(), e->data(), e->size()), 1);
  (*ours)[10] ^= 0x40;
  EXPECT_NE(EVP_PKEY_verify(vctx.get(), ours->data(), ours->size(), e->data(), e->size()), 1);
  ERR_clear_error();
}

// req: CC-FCS
TEST_F(OsslProviderTest, EvpCiphertextsDecryptWithSm2DecryptAndViceVersa) {
  PkeyPtr pkey = ToEvp(*kp_, nullptr);
  const Bytes plain = ToBytes("a 16-byte SM4 key");
  const Sm2ProviderCounts before = Sm2ProviderOperations();

  PkeyCtxPtr ectx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  ASSERT_EQ(EVP_PKEY_encrypt_init(ectx.get()), 1);
  std::size_t len = 0;
  ASSERT_EQ(EVP_PKEY_encrypt(ectx.get(), nullptr, &len, plain.data(), plain.size()), 1);
  Bytes ct(len);
  ASSERT_EQ(EVP_PKEY_encrypt(ectx.get(), ct.data(), &len, plain.data(), plain.size()), 1);
  ct.resize(len);
  auto back = Sm2Decrypt(kp_->private_key, ct);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(ConstantTimeEqual(back->view(), plain));

  auto ours = Sm2Encrypt(kp_->public_key, plain);
  ASSERT_TRUE(ours.ok());
  PkeyCtxPtr dctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  ASSERT_EQ(EVP_PKEY_decrypt_init(dctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_decrypt(dctx.get(), nullptr, &len, ours->data(), ours->size()), 1);
  Bytes out(len);
  ASSERT_EQ(EVP_PKEY_decrypt(dctx.get(), out.data(), &len, ours->data(), ours->size()), 1);
  out.resize(len);
  EXPECT_EQ(out, plain);
  // A tampered C3 fails.
  Bytes bad = *ours;
  bad[bad.size() - plain.size() - 3] ^= 0x01;
  len = out.size();
  EXPECT_NE(EVP_PKEY_decrypt(dctx.get(), out.data(), &len, bad.data(), bad.size()), 1);
  ERR_clear_error();

  const Sm2ProviderCounts after = Sm2ProviderOperations();
  EXPECT_EQ(after.encrypts - before.encrypts, 1u);
  EXPECT_EQ(after.decrypts - before.decrypts, 2u);
}

// An SM2 certificate, self-signed through EVP (X509_sign_ctx with the GM/T ID) and returned as
// DER, for X509_verify.
Bytes SelfSignedCertificate(EVP_PKEY* pkey) {
  X509Ptr x(X509_new());
  EXPECT_EQ(X509_set_version(x.get(), X509_VERSION_3), 1);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 7);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("provider test"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  EXPECT_EQ(X509_set_pubkey(x.get(), pkey), 1);
  MdCtxPtr m(EVP_MD_CTX_new());
  EVP_PKEY_CTX* p = nullptr;
  EXPECT_EQ(EVP_DigestSignInit(m.get(), &p, EVP_sm3(), nullptr, pkey), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set1_id(p, kDefaultSm2Id.data(), kDefaultSm2Id.size()), 1);
  EXPECT_GT(X509_sign_ctx(x.get(), m.get()), 0);
  unsigned char* der = nullptr;
  const int len = i2d_X509(x.get(), &der);
  EXPECT_GT(len, 0);
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

// X509_verify as src/net/ossl.cc and src/x509/chain.cc use it (the ID set on the X509 object).
int VerifyCertificate(ByteView der, bool set_id) {
  const unsigned char* p = der.data();
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x) return -1;
  if (set_id) {
    ASN1_OCTET_STRING* id = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(id, reinterpret_cast<const unsigned char*>(kDefaultSm2Id.data()),
                          static_cast<int>(kDefaultSm2Id.size()));
    X509_set0_distinguishing_id(x.get(), id);
  }
  EVP_PKEY* pub = X509_get0_pubkey(x.get());
  const int rc = pub == nullptr ? -1 : X509_verify(x.get(), pub);
  ERR_clear_error();
  return rc;
}

// req: CC-FCS
TEST_F(OsslProviderTest, X509VerifyRunsThroughTheProviderAndRejectsTampering) {
  PkeyPtr pkey = ToEvp(*kp_, nullptr);
  const Bytes der = SelfSignedCertificate(pkey.get());
  ASSERT_FALSE(der.empty());
  // The signatureAlgorithm came from the provider: SM2-with-SM3, parameters absent.
  const Bytes alg(std::begin(internal::kSm2WithSm3AlgorithmId),
                  std::end(internal::kSm2WithSm3AlgorithmId));
  EXPECT_NE(std::search(der.begin(), der.end(), alg.begin(), alg.end()), der.end());

  Sm2ProviderCounts before = Sm2ProviderOperations();
  EXPECT_EQ(VerifyCertificate(der, true), 1);
  EXPECT_EQ(VerifyCertificate(der, false), 1);  // no ID set: the GM/T default
  EXPECT_EQ(Sm2ProviderOperations().verifies - before.verifies, 2u);

  // The certificate's public key is decoded by OpenSSL's own decoder and exported to us.
  {
    const unsigned char* p = der.data();
    X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    ASSERT_TRUE(x);
    EXPECT_EQ(EVP_PKEY_is_a(X509_get0_pubkey(x.get()), "SM2"), 1);
  }

  // Tampering with the signed part (the serial number 7 -> 6) must fail.
  Bytes bad = der;
  const Bytes serial = {0x02, 0x01, 0x07};
  auto it = std::search(bad.begin(), bad.end(), serial.begin(), serial.end());
  ASSERT_NE(it, bad.end());
  it[2] = 0x06;
  before = Sm2ProviderOperations();
  EXPECT_NE(VerifyCertificate(bad, true), 1);
  EXPECT_GE(Sm2ProviderOperations().verifies - before.verifies, 1u);

  // OpenSSL's own SM2 agrees (with the ID set) and leaves our counter still.
  ASSERT_TRUE(SelectSm2Impl(Sm2Impl::kOpenSsl).ok());
  before = Sm2ProviderOperations();
  EXPECT_EQ(VerifyCertificate(der, true), 1);
  EXPECT_NE(VerifyCertificate(bad, true), 1);
  EXPECT_EQ(Sm2ProviderOperations().total(), before.total());
}

// req: CC-FCS
TEST_F(OsslProviderTest, OpensslSelectionLeavesTheCounterStill) {
  ASSERT_TRUE(SelectSm2Impl(Sm2Impl::kOpenSsl).ok());
  EXPECT_EQ(ActiveSm2Impl(), Sm2Impl::kOpenSsl);
  const Sm2ProviderCounts before = Sm2ProviderOperations();
  PkeyPtr pkey = ToEvp(*kp_, nullptr);
  ASSERT_TRUE(pkey);
  EXPECT_STREQ(ProviderOf(pkey.get()), "default");
  Bytes theirs = EvpDigestSign(pkey.get(), &gmt_id_, msg_);
  EXPECT_TRUE(Sm2Verify(kp_->public_key, gmt_id_, msg_, theirs).ok());
  auto ours = Sm2Sign(kp_->private_key, kp_->public_key, gmt_id_, msg_);
  ASSERT_TRUE(ours.ok());
  EXPECT_TRUE(EvpDigestVerify(pkey.get(), &gmt_id_, msg_, *ours));
  PkeyCtxPtr ectx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  ASSERT_EQ(EVP_PKEY_encrypt_init(ectx.get()), 1);
  std::size_t len = 0;
  ASSERT_EQ(EVP_PKEY_encrypt(ectx.get(), nullptr, &len, msg_.data(), msg_.size()), 1);
  Bytes ct(len);
  ASSERT_EQ(EVP_PKEY_encrypt(ectx.get(), ct.data(), &len, msg_.data(), msg_.size()), 1);
  ct.resize(len);
  EXPECT_TRUE(Sm2Decrypt(kp_->private_key, ct).ok());
  EXPECT_EQ(Sm2ProviderOperations().total(), before.total());

  // An explicit fetch still reaches the provider (the benchmark's openssl-provider row).
  PkeyCtxPtr vctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), "provider=gmpki"));
  ASSERT_TRUE(vctx);
  ASSERT_EQ(EVP_PKEY_verify_init(vctx.get()), 1);
  auto e = Sm2MessageDigest(kp_->public_key, gmt_id_, msg_);
  ASSERT_TRUE(e.ok());
  auto sig = Sm2SignDigest(kp_->private_key, *e);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(EVP_PKEY_verify(vctx.get(), sig->data(), sig->size(), e->data(), e->size()), 1);
  EXPECT_EQ(Sm2ProviderOperations().verifies, before.verifies + 1);
}

// A key made by OpenSSL's default provider (as PEM/DER decoding and certificates give them)
// is exported to the provider when one of its operations is fetched; a key generated by the
// provider is exported to OpenSSL's encoders for PEM and read back.
// req: CC-FCS
TEST_F(OsslProviderTest, KeysCrossBetweenProviders) {
  PkeyPtr theirs = ToEvp(*kp_, "provider=default");
  ASSERT_TRUE(theirs);
  EXPECT_STREQ(ProviderOf(theirs.get()), "default");
  const Sm2ProviderCounts before = Sm2ProviderOperations();
  Bytes sig = EvpDigestSign(theirs.get(), &gmt_id_, msg_);
  EXPECT_EQ(Sm2ProviderOperations().signs, before.signs + 1);
  EXPECT_TRUE(Sm2Verify(kp_->public_key, gmt_id_, msg_, sig).ok());

  PkeyCtxPtr gen(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", nullptr));
  EVP_PKEY* raw = nullptr;
  ASSERT_EQ(EVP_PKEY_keygen_init(gen.get()), 1);
  ASSERT_EQ(EVP_PKEY_keygen(gen.get(), &raw), 1);
  PkeyPtr ours(raw);
  EXPECT_STREQ(ProviderOf(ours.get()), "gmpki");
  EXPECT_EQ(EVP_PKEY_get_bits(ours.get()), 256);
  EXPECT_EQ(EVP_PKEY_check(PkeyCtxPtr(EVP_PKEY_CTX_new_from_pkey(nullptr, ours.get(), nullptr))
                               .get()),
            1);
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), ours.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
  PkeyPtr back(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(back);
  EXPECT_EQ(EVP_PKEY_eq(ours.get(), back.get()), 1);
  // The point read back is the generated one, and the scalar signs for it.
  std::uint8_t point[65];
  std::size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_octet_string_param(back.get(), OSSL_PKEY_PARAM_PUB_KEY, point,
                                            sizeof(point), &len),
            1);
  auto pub = Sm2PublicKey::FromPoint(ByteView(point, len));
  ASSERT_TRUE(pub.ok());
  Bytes sig2 = EvpDigestSign(back.get(), nullptr, msg_);
  EXPECT_TRUE(Sm2Verify(*pub, gmt_id_, msg_, sig2).ok());
  unsigned char* spki = nullptr;
  const int spki_len = i2d_PUBKEY(ours.get(), &spki);
  ASSERT_GT(spki_len, 0);
  EXPECT_EQ(Bytes(spki, spki + spki_len), pub->ToSpkiDer());
  OPENSSL_free(spki);
}

// req: CC-FCS
TEST_F(OsslProviderTest, ImportRejectsOtherCurvesAndMismatchedPairs) {
  auto other = Sm2GenerateKeyPair();
  ASSERT_TRUE(other.ok());
  // The public point of one key with the scalar of another.
  BIGNUM* d = BN_bin2bn(other->private_key.scalar().data(), 32, nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, kp_->public_key.point().data(),
                                   65);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
  OSSL_PARAM* mismatched = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  BN_clear_free(d);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", "provider=gmpki"));
  ASSERT_EQ(EVP_PKEY_fromdata_init(ctx.get()), 1);
  EVP_PKEY* pkey = nullptr;
  EXPECT_NE(EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_KEYPAIR, mismatched), 1);
  EVP_PKEY_free(pkey);
  OSSL_PARAM_free(mismatched);

  OSSL_PARAM p256[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                       const_cast<char*>("prime256v1"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                        const_cast<std::uint8_t*>(kp_->public_key.point().data()),
                                        65),
      OSSL_PARAM_construct_end(),
  };
  pkey = nullptr;
  EXPECT_NE(EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, p256), 1);
  EVP_PKEY_free(pkey);
  ERR_clear_error();
}

std::vector<Bytes>* g_wiped = nullptr;
void RecordWipe(ByteView scalar) {
  if (g_wiped != nullptr) g_wiped->emplace_back(scalar.begin(), scalar.end());
}

// CC-FCS key destruction: a provider key object's private scalar is zeroised when OpenSSL
// frees it (the sm2.h key inside wipes its own copy, SecretBytes).
// req: CC-FCS
TEST_F(OsslProviderTest, PrivateKeysAreZeroisedWhenFreed) {
  std::vector<Bytes> wiped;
  g_wiped = &wiped;
  internal::SetKeyWipeHookForTesting(&RecordWipe);
  {
    PkeyPtr ours = ToEvp(*kp_, "provider=gmpki");
    ASSERT_TRUE(ours);
    EvpDigestSign(ours.get(), nullptr, msg_);
  }
  // A default-provider key exported to us for an operation: the exported copy is freed with
  // the EVP_PKEY.
  {
    PkeyPtr theirs = ToEvp(*kp_, "provider=default");
    EvpDigestSign(theirs.get(), nullptr, msg_);
  }
  internal::SetKeyWipeHookForTesting(nullptr);
  g_wiped = nullptr;
  ASSERT_GE(wiped.size(), 2u);
  for (const Bytes& w : wiped) {
    ASSERT_EQ(w.size(), 32u);
    EXPECT_EQ(w, Bytes(32, 0));
  }
}

}  // namespace
}  // namespace gmpki::crypto
