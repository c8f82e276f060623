// SM2 / SM3 / SM4-GCM throughput of gmpki beside OpenSSL 3.0 and Botan 2 (issue #3 item 6).
// Benchmarks are named <operation>/<impl>, impl one of gmpki (the public crypto/*.h API),
// openssl (EVP directly) and botan (built only when CMake found botan-2: GMPKI_BENCH_BOTAN).
// After the runs a table of ops/s (MB/s for SM3 and SM4-GCM) with the ratios gmpki/openssl and
// gmpki/botan is printed: on stdout after the console output, on stderr with
// --benchmark_format=json so stdout stays one JSON document. See bench/README.md.
//
// Every signature/ciphertext a peer produces in setup is checked by gmpki (and the reverse), so a
// row cannot be fast because it computes something else.
#include <benchmark/benchmark.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/ossl_provider.h"
#include "crypto/sm2.h"
#include "crypto/sm3.h"
#include "crypto/sm4.h"
#include "crypto/sm4_fast.h"

#ifdef GMPKI_BENCH_BOTAN
#include <botan/auto_rng.h>
#include <botan/cipher_mode.h>
#include <botan/der_enc.h>
#include <botan/ec_group.h>
#include <botan/hash.h>
#include <botan/pubkey.h>
#include <botan/sm2.h>
#endif

namespace gmpki::bench {
namespace {

using crypto::kDefaultSm2Id;

constexpr std::size_t kBulkSize = 8 * 1024;  // SM3 and SM4-GCM input
constexpr std::size_t kPlainSize = 32;       // SM2 encryption plaintext

bool Same(ByteView a, ByteView b) { return std::ranges::equal(a, b); }

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "bench_crypto: setup check failed: %s\n", what);
    std::abort();
  }
}

const Bytes& Digest() {  // e = SM3(Z || M) as a caller would pass it to a digest signer
  static const Bytes e(32, 0xa5);
  return e;
}
const Bytes& Bulk() {
  static const Bytes b(kBulkSize, 0x5c);
  return b;
}
const Bytes& Plain() {
  static const Bytes p(kPlainSize, 0x3e);
  return p;
}
const Bytes& Sm4Key() {
  static const Bytes k(crypto::kSm4KeySize, 0x11);
  return k;
}
const Bytes& GcmIv() {
  static const Bytes iv(crypto::kSm4GcmIvSize, 0x22);
  return iv;
}

void Ops(benchmark::State& state) { state.SetItemsProcessed(state.iterations()); }
void Throughput(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kBulkSize);
}

// ---------------------------------------------------------------- gmpki (public API)

crypto::Sm2KeyPair GmpkiKey() {
  auto kp = crypto::Sm2GenerateKeyPair();
  Check(kp.ok(), "gmpki keygen");
  return std::move(*kp);
}

void GmpkiSign(benchmark::State& state) {
  auto kp = GmpkiKey();
  for (auto _ : state) {
    auto sig = crypto::Sm2SignDigest(kp.private_key, Digest());
    benchmark::DoNotOptimize(sig);
  }
  Ops(state);
}

// An unknown key each time: sm2.h builds a precomputed table for a key only after it has
// verified several times, so the row rotates over more keys than one run verifies twice.
void GmpkiVerify(benchmark::State& state) {
  struct Item {
    crypto::Sm2PublicKey pub;
    Bytes sig;
  };
  static const std::vector<Item> kItems = [] {
    std::vector<Item> items;
    for (int i = 0; i < 4096; ++i) {
      auto kp = GmpkiKey();
      auto sig = crypto::Sm2SignDigest(kp.private_key, Digest());
      Check(sig.ok(), "gmpki sign");
      items.push_back({kp.public_key, *sig});
    }
    return items;
  }();
  std::size_t i = 0;
  for (auto _ : state) {
    const Item& it = kItems[i++ % kItems.size()];
    Status st = crypto::Sm2VerifyDigest(it.pub, Digest(), it.sig);
    Check(st.ok(), "gmpki verify");
  }
  Ops(state);
}

// The same public key verified again and again (a CA or OCSP key): after a few uses sm2.h
// verifies it with a precomputed per-key table (sm2_engine/precomp.h).
void GmpkiVerifyKnownKey(benchmark::State& state) {
  auto kp = GmpkiKey();
  auto sig = crypto::Sm2SignDigest(kp.private_key, Digest());
  Check(sig.ok(), "gmpki sign");
  for (auto _ : state) {
    Status st = crypto::Sm2VerifyDigest(kp.public_key, Digest(), *sig);
    Check(st.ok(), "gmpki verify");
  }
  Ops(state);
}

void GmpkiKeygen(benchmark::State& state) {
  for (auto _ : state) {
    auto kp = crypto::Sm2GenerateKeyPair();
    benchmark::DoNotOptimize(kp);
  }
  Ops(state);
}

// Batched key generation (Sm2GenerateKeyPairs, issue #5) in calls of 256 keys, as a key
// management centre fills its pool; items are key pairs.
void GmpkiKeygenBatch(benchmark::State& state) {
  constexpr std::size_t kBatch = 256;
  for (auto _ : state) {
    auto kps = crypto::Sm2GenerateKeyPairs(kBatch);
    benchmark::DoNotOptimize(kps);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kBatch);
}

void GmpkiEncrypt(benchmark::State& state) {
  auto kp = GmpkiKey();
  for (auto _ : state) {
    auto ct = crypto::Sm2Encrypt(kp.public_key, Plain());
    benchmark::DoNotOptimize(ct);
  }
  Ops(state);
}

void GmpkiDecrypt(benchmark::State& state) {
  auto kp = GmpkiKey();
  auto ct = crypto::Sm2Encrypt(kp.public_key, Plain());
  Check(ct.ok(), "gmpki encrypt");
  for (auto _ : state) {
    auto pt = crypto::Sm2Decrypt(kp.private_key, *ct);
    Check(pt.ok(), "gmpki decrypt");
  }
  Ops(state);
}

void GmpkiSm3(benchmark::State& state) {
  for (auto _ : state) {
    auto d = crypto::Sm3(Bulk());
    benchmark::DoNotOptimize(d);
  }
  Throughput(state);
}

void GmpkiSm4Gcm(benchmark::State& state) {
  for (auto _ : state) {
    auto ct = crypto::Sm4GcmSeal(Sm4Key(), GcmIv(), ByteView(), Bulk());
    benchmark::DoNotOptimize(ct);
  }
  Throughput(state);
}

void GmpkiSm4Ctr(benchmark::State& state) {
  for (auto _ : state) {
    auto ct = crypto::Sm4Ctr(Sm4Key(), Sm4Key(), Bulk());
    benchmark::DoNotOptimize(ct);
  }
  Throughput(state);
}

// SM4_GCM/gmpki-<path> and SM4_CTR/gmpki-<path>: the public API forced onto one SM4 path
// (crypto/sm4_fast.h); SM4_GCM/gmpki and SM4_CTR/gmpki are whatever this CPU chooses.
struct Sm4PathRow {
  const char* impl_name;  // "gmpki-<path>"
  crypto::internal::Sm4Impl impl;
};
constexpr Sm4PathRow kSm4PathRows[] = {
    {"gmpki-avx512", crypto::internal::Sm4Impl::kAvx512Gfni},
    {"gmpki-aesni", crypto::internal::Sm4Impl::kAesniAvx2},
    {"gmpki-portable", crypto::internal::Sm4Impl::kPortable},
    {"gmpki-reference", crypto::internal::Sm4Impl::kReference},
};

void OnSm4Path(benchmark::State& state, crypto::internal::Sm4Impl impl,
               void (*fn)(benchmark::State&)) {
  // Every path seals and encrypts to the same bytes as the CPU's default path.
  auto gcm = crypto::Sm4GcmSeal(Sm4Key(), GcmIv(), ByteView(), Bulk());
  auto ctr = crypto::Sm4Ctr(Sm4Key(), Sm4Key(), Bulk());
  crypto::internal::SetSm4ImplForTesting(impl);
  Check(crypto::internal::Sm4ActiveImpl() == impl, "SM4 path selected");
  auto gcm_path = crypto::Sm4GcmSeal(Sm4Key(), GcmIv(), ByteView(), Bulk());
  auto ctr_path = crypto::Sm4Ctr(Sm4Key(), Sm4Key(), Bulk());
  Check(gcm.ok() && gcm_path.ok() && Same(*gcm, *gcm_path) && ctr.ok() && ctr_path.ok() &&
            Same(*ctr, *ctr_path),
        "SM4 path equals the default path");
  fn(state);
  crypto::internal::SetSm4ImplForTesting(crypto::internal::Sm4Impl::kAuto);
}

// ---------------------------------------------------------------- OpenSSL 3.0 EVP

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdFree {
  void operator()(EVP_MD* p) const { EVP_MD_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

Pkey OsslKeygen() {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", nullptr));
  EVP_PKEY* key = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &key) != 1) {
    return nullptr;
  }
  return Pkey(key);
}

// The public point of an OpenSSL key as gmpki's Sm2PublicKey, for the cross-checks.
crypto::Sm2PublicKey OsslPublic(EVP_PKEY* key) {
  std::uint8_t point[65];
  std::size_t len = 0;
  Check(EVP_PKEY_get_octet_string_param(key, "pub", point, sizeof(point), &len) == 1 &&
            len == sizeof(point),
        "openssl public point");
  auto pub = crypto::Sm2PublicKey::FromPoint(ByteView(point, len));
  Check(pub.ok(), "openssl public point on curve");
  return *pub;
}

// Signs e directly: OpenSSL 3.0's SM2 signature provider treats the EVP_PKEY_sign input as the
// digest (the DigestSign path is what adds Z with the "1234567812345678" distid).
Bytes OsslSign(EVP_PKEY_CTX* ctx) {
  std::uint8_t sig[80];
  std::size_t len = sizeof(sig);
  Check(EVP_PKEY_sign(ctx, sig, &len, Digest().data(), Digest().size()) == 1, "openssl sign");
  return Bytes(sig, sig + len);
}

void OsslSignBench(benchmark::State& state) {
  Pkey key = OsslKeygen();
  Check(key != nullptr, "openssl keygen");
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  Check(ctx != nullptr && EVP_PKEY_sign_init(ctx.get()) == 1, "openssl sign init");
  Check(crypto::Sm2VerifyDigest(OsslPublic(key.get()), Digest(), OsslSign(ctx.get())).ok(),
        "openssl signature verifies in gmpki");
  for (auto _ : state) {
    std::uint8_t sig[80];
    std::size_t len = sizeof(sig);
    int rc = EVP_PKEY_sign(ctx.get(), sig, &len, Digest().data(), Digest().size());
    benchmark::DoNotOptimize(rc);
  }
  Ops(state);
}

void OsslVerifyBench(benchmark::State& state) {
  Pkey key = OsslKeygen();
  Check(key != nullptr, "openssl keygen");
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  Check(ctx != nullptr && EVP_PKEY_sign_init(ctx.get()) == 1, "openssl sign init");
  Bytes sig = OsslSign(ctx.get());
  PkeyCtx vctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  Check(vctx != nullptr && EVP_PKEY_verify_init(vctx.get()) == 1, "openssl verify init");
  for (auto _ : state) {
    int rc = EVP_PKEY_verify(vctx.get(), sig.data(), sig.size(), Digest().data(),
                             Digest().size());
    Check(rc == 1, "openssl verify");
  }
  Ops(state);
}

// EVP_PKEY_verify through the "gmpki" provider (crypto/ossl_provider.h): what OpenSSL's X.509,
// CRL and CMP code pays per SM2 verification on gmpki's engine, EVP overhead included. The
// provider is fetched explicitly (Main selects OpenSSL's own SM2 for the openssl rows); keys
// rotate as in SM2_Verify/gmpki so that none gets a precomputed table.
void OsslProviderVerifyBench(benchmark::State& state) {
  struct Item {
    Pkey key;
    PkeyCtx ctx;
    Bytes sig;
  };
  static const std::vector<Item>* kItems = [] {
    auto* items = new std::vector<Item>();
    for (int i = 0; i < 4096; ++i) {
      auto kp = GmpkiKey();
      auto sig = crypto::Sm2SignDigest(kp.private_key, Digest());
      Check(sig.ok(), "gmpki sign");
      OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string("group", const_cast<char*>("SM2"), 0),
          OSSL_PARAM_construct_octet_string(
              "pub", const_cast<std::uint8_t*>(kp.public_key.point().data()), 65),
          OSSL_PARAM_construct_end(),
      };
      PkeyCtx kctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", "provider=gmpki"));
      EVP_PKEY* key = nullptr;
      Check(kctx != nullptr && EVP_PKEY_fromdata_init(kctx.get()) == 1 &&
                EVP_PKEY_fromdata(kctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) == 1,
            "gmpki provider key import");
      Pkey pkey(key);
      PkeyCtx vctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), "provider=gmpki"));
      Check(vctx != nullptr && EVP_PKEY_verify_init(vctx.get()) == 1,
            "gmpki provider verify init");
      items->push_back({std::move(pkey), std::move(vctx), *sig});
    }
    return items;
  }();
  const std::uint64_t before = crypto::Sm2ProviderOperations().verifies;
  std::size_t i = 0;
  for (auto _ : state) {
    const Item& it = (*kItems)[i++ % kItems->size()];
    int rc = EVP_PKEY_verify(it.ctx.get(), it.sig.data(), it.sig.size(), Digest().data(),
                             Digest().size());
    Check(rc == 1, "gmpki provider verify");
  }
  Check(crypto::Sm2ProviderOperations().verifies - before == i, "verified by the provider");
  Ops(state);
}

void OsslKeygenBench(benchmark::State& state) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", nullptr));
  Check(ctx != nullptr && EVP_PKEY_keygen_init(ctx.get()) == 1, "openssl keygen init");
  for (auto _ : state) {
    EVP_PKEY* key = nullptr;
    Check(EVP_PKEY_keygen(ctx.get(), &key) == 1, "openssl keygen");
    EVP_PKEY_free(key);
  }
  Ops(state);
}

Bytes OsslEncrypt(EVP_PKEY_CTX* ctx) {
  std::uint8_t ct[256];
  std::size_t len = sizeof(ct);
  Check(EVP_PKEY_encrypt(ctx, ct, &len, Plain().data(), Plain().size()) == 1, "openssl encrypt");
  return Bytes(ct, ct + len);
}

void OsslEncryptBench(benchmark::State& state) {
  Pkey key = OsslKeygen();
  Check(key != nullptr, "openssl keygen");
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  Check(ctx != nullptr && EVP_PKEY_encrypt_init(ctx.get()) == 1, "openssl encrypt init");
  // Same GM/T 0009 ASN.1 ciphertext as gmpki's: gmpki must decrypt it.
  {
    std::uint8_t d[32];
    std::size_t dlen = 0;
    BIGNUM* bn = nullptr;
    Check(EVP_PKEY_get_bn_param(key.get(), "priv", &bn) == 1 &&
              (dlen = static_cast<std::size_t>(BN_bn2binpad(bn, d, sizeof(d)))) == 32,
          "openssl private scalar");
    BN_clear_free(bn);
    auto priv = crypto::Sm2PrivateKey::FromScalar(ByteView(d, dlen));
    Check(priv.ok(), "openssl scalar in gmpki");
    auto pt = crypto::Sm2Decrypt(*priv, OsslEncrypt(ctx.get()));
    Check(pt.ok() && Same(pt->view(), Plain()), "openssl ciphertext decrypts in gmpki");
  }
  for (auto _ : state) {
    std::uint8_t ct[256];
    std::size_t len = sizeof(ct);
    int rc = EVP_PKEY_encrypt(ctx.get(), ct, &len, Plain().data(), Plain().size());
    benchmark::DoNotOptimize(rc);
  }
  Ops(state);
}

void OsslDecryptBench(benchmark::State& state) {
  Pkey key = OsslKeygen();
  Check(key != nullptr, "openssl keygen");
  auto ct = crypto::Sm2Encrypt(OsslPublic(key.get()), Plain());  // gmpki -> OpenSSL
  Check(ct.ok(), "gmpki encrypt to openssl key");
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  Check(ctx != nullptr && EVP_PKEY_decrypt_init(ctx.get()) == 1, "openssl decrypt init");
  for (auto _ : state) {
    std::uint8_t pt[256];
    std::size_t len = sizeof(pt);
    int rc = EVP_PKEY_decrypt(ctx.get(), pt, &len, ct->data(), ct->size());
    Check(rc == 1 && len == kPlainSize, "openssl decrypt");
  }
  Ops(state);
}

// OpenSSL 3.0's SM4-CTR (its table-based S-box), the same key, IV and input as SM4_CTR/gmpki.
void OsslSm4CtrBench(benchmark::State& state) {
  struct CipherFree {
    void operator()(EVP_CIPHER* p) const { EVP_CIPHER_free(p); }
  };
  struct CtxFree {
    void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
  };
  std::unique_ptr<EVP_CIPHER, CipherFree> cipher(EVP_CIPHER_fetch(nullptr, "SM4-CTR", nullptr));
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  Check(cipher != nullptr && ctx != nullptr, "openssl SM4-CTR fetch");
  std::vector<std::uint8_t> out(kBulkSize);
  auto run = [&] {
    int len = 0;
    return EVP_EncryptInit_ex2(ctx.get(), cipher.get(), Sm4Key().data(), Sm4Key().data(),
                               nullptr) == 1 &&
           EVP_EncryptUpdate(ctx.get(), out.data(), &len, Bulk().data(),
                             static_cast<int>(kBulkSize)) == 1 &&
           len == static_cast<int>(kBulkSize);
  };
  auto ours = crypto::Sm4Ctr(Sm4Key(), Sm4Key(), Bulk());
  Check(run() && ours.ok() && Same(ByteView(out.data(), out.size()), *ours),
        "openssl SM4-CTR equals gmpki SM4-CTR");
  for (auto _ : state) {
    bool ok = run();
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(out.data());
  }
  Throughput(state);
}

void OsslSm3Bench(benchmark::State& state) {
  // Fetched once: an implicit fetch per call (EVP_sm3()) would be measured too.
  std::unique_ptr<EVP_MD, MdFree> md(EVP_MD_fetch(nullptr, "SM3", nullptr));
  Check(md != nullptr, "openssl SM3 fetch");
  std::uint8_t out[32];
  unsigned int len = 0;
  Check(EVP_Digest(Bulk().data(), Bulk().size(), out, &len, md.get(), nullptr) == 1 &&
            Same(ByteView(out, len), crypto::Sm3(Bulk())),
        "openssl SM3 equals gmpki SM3");
  for (auto _ : state) {
    int rc = EVP_Digest(Bulk().data(), Bulk().size(), out, &len, md.get(), nullptr);
    benchmark::DoNotOptimize(rc);
    benchmark::DoNotOptimize(out);
  }
  Throughput(state);
}

// ---------------------------------------------------------------- Botan 2

#ifdef GMPKI_BENCH_BOTAN

Botan::RandomNumberGenerator& BotanRng() {
  static Botan::AutoSeeded_RNG rng;
  return rng;
}

const Botan::EC_Group& BotanGroup() {
  static const Botan::EC_Group group("sm2p256v1");
  return group;
}

crypto::Sm2PublicKey BotanPublic(const Botan::SM2_PrivateKey& key) {
  std::vector<std::uint8_t> point = key.public_point().encode(Botan::PointGFp::UNCOMPRESSED);
  auto pub = crypto::Sm2PublicKey::FromPoint(ByteView(point.data(), point.size()));
  Check(pub.ok(), "botan public point");
  return *pub;
}

crypto::Sm2PrivateKey BotanPrivate(const Botan::SM2_PrivateKey& key) {
  auto d = Botan::BigInt::encode_1363(key.private_value(), 32);
  auto priv = crypto::Sm2PrivateKey::FromScalar(ByteView(d.data(), d.size()));
  Check(priv.ok(), "botan scalar in gmpki");
  return std::move(*priv);
}

// Botan 2's SM2 signature parameter is "userid,hash"; hash "Raw" signs the given bytes as e
// (no Z, no hashing), which is what the other two rows do.
constexpr const char* kBotanSignRaw = "1234567812345678,Raw";

void BotanSign(benchmark::State& state) {
  Botan::SM2_PrivateKey key(BotanRng(), BotanGroup());
  Botan::PK_Signer signer(key, BotanRng(), kBotanSignRaw, Botan::DER_SEQUENCE);
  auto sig = signer.sign_message(Digest().data(), Digest().size(), BotanRng());
  Check(crypto::Sm2VerifyDigest(BotanPublic(key), Digest(), ByteView(sig.data(), sig.size()))
            .ok(),
        "botan signature verifies in gmpki");
  for (auto _ : state) {
    auto s = signer.sign_message(Digest().data(), Digest().size(), BotanRng());
    benchmark::DoNotOptimize(s);
  }
  Ops(state);
}

void BotanVerify(benchmark::State& state) {
  Botan::SM2_PrivateKey key(BotanRng(), BotanGroup());
  // gmpki signs, Botan verifies: the reverse of BotanSign's cross-check.
  auto sig = crypto::Sm2SignDigest(BotanPrivate(key), Digest());
  Check(sig.ok(), "gmpki sign with botan key");
  Botan::PK_Verifier verifier(key, kBotanSignRaw, Botan::DER_SEQUENCE);
  for (auto _ : state) {
    bool ok = verifier.verify_message(Digest().data(), Digest().size(), sig->data(), sig->size());
    Check(ok, "botan verify");
  }
  Ops(state);
}

void BotanKeygen(benchmark::State& state) {
  for (auto _ : state) {
    Botan::SM2_PrivateKey key(BotanRng(), BotanGroup());
    benchmark::DoNotOptimize(key);
  }
  Ops(state);
}

void BotanEncrypt(benchmark::State& state) {
  Botan::SM2_PrivateKey key(BotanRng(), BotanGroup());
  Botan::PK_Encryptor_EME enc(key, BotanRng(), "SM3");
  auto ct = enc.encrypt(Plain().data(), Plain().size(), BotanRng());
  auto pt = crypto::Sm2Decrypt(BotanPrivate(key), ByteView(ct.data(), ct.size()));
  Check(pt.ok() && Same(pt->view(), Plain()), "botan ciphertext decrypts in gmpki");
  for (auto _ : state) {
    auto c = enc.encrypt(Plain().data(), Plain().size(), BotanRng());
    benchmark::DoNotOptimize(c);
  }
  Ops(state);
}

void BotanDecrypt(benchmark::State& state) {
  Botan::SM2_PrivateKey key(BotanRng(), BotanGroup());
  auto ct = crypto::Sm2Encrypt(BotanPublic(key), Plain());  // gmpki -> Botan
  Check(ct.ok(), "gmpki encrypt to botan key");
  Botan::PK_Decryptor_EME dec(key, BotanRng(), "SM3");
  for (auto _ : state) {
    auto pt = dec.decrypt(ct->data(), ct->size());
    Check(pt.size() == kPlainSize, "botan decrypt");
  }
  Ops(state);
}

void BotanSm3(benchmark::State& state) {
  auto hash = Botan::HashFunction::create_or_throw("SM3");
  auto d = hash->process(Bulk().data(), Bulk().size());
  Check(Same(ByteView(d.data(), d.size()), crypto::Sm3(Bulk())),
        "botan SM3 equals gmpki SM3");
  for (auto _ : state) {
    hash->update(Bulk().data(), Bulk().size());
    auto out = hash->final();
    benchmark::DoNotOptimize(out);
  }
  Throughput(state);
}

void BotanSm4Gcm(benchmark::State& state) {
  auto mode = Botan::Cipher_Mode::create_or_throw("SM4/GCM", Botan::ENCRYPTION);
  mode->set_key(Sm4Key().data(), Sm4Key().size());
  Botan::secure_vector<std::uint8_t> buf(Bulk().begin(), Bulk().end());
  mode->start(GcmIv().data(), GcmIv().size());
  mode->finish(buf);
  auto ours = crypto::Sm4GcmSeal(Sm4Key(), GcmIv(), ByteView(), Bulk());
  Check(ours.ok() && Same(ByteView(buf.data(), buf.size()), *ours),
        "botan SM4-GCM equals gmpki SM4-GCM");
  for (auto _ : state) {
    buf.assign(Bulk().begin(), Bulk().end());
    mode->start(GcmIv().data(), GcmIv().size());
    mode->finish(buf);
    benchmark::DoNotOptimize(buf.data());
  }
  Throughput(state);
}

#endif  // GMPKI_BENCH_BOTAN

// ---------------------------------------------------------------- registration and table

// The operations in table order, with the unit their rate is shown in.
struct Operation {
  const char* name;
  bool bytes;  // MB/s rather than ops/s
};
constexpr Operation kOperations[] = {
    {"SM2_Sign", false},    {"SM2_Verify", false},  {"SM2_VerifyKnownKey", false},
    {"SM2_Keygen", false},  {"SM2_Encrypt", false}, {"SM2_Decrypt", false},
    {"SM3", true},          {"SM4_GCM", true},      {"SM4_CTR", true},
    {"SM2_KeygenBatch", false},
};

void Register(const std::string& name, void (*fn)(benchmark::State&)) {
  benchmark::RegisterBenchmark(name.c_str(), fn);
}

void RegisterAll() {
  Register("SM2_Sign/gmpki", GmpkiSign);
  Register("SM2_Verify/gmpki", GmpkiVerify);
  Register("SM2_VerifyKnownKey/gmpki", GmpkiVerifyKnownKey);
  Register("SM2_Keygen/gmpki", GmpkiKeygen);
  Register("SM2_KeygenBatch/gmpki", GmpkiKeygenBatch);
  Register("SM2_Encrypt/gmpki", GmpkiEncrypt);
  Register("SM2_Decrypt/gmpki", GmpkiDecrypt);
  Register("SM3/gmpki", GmpkiSm3);
  Register("SM4_GCM/gmpki", GmpkiSm4Gcm);
  Register("SM4_CTR/gmpki", GmpkiSm4Ctr);
  for (const Sm4PathRow& row : kSm4PathRows) {
    if (!crypto::internal::Sm4ImplSupported(row.impl)) continue;
    using Fn = void (*)(benchmark::State&);
    const std::pair<const char*, Fn> ops[] = {{"SM4_GCM/", GmpkiSm4Gcm}, {"SM4_CTR/", GmpkiSm4Ctr}};
    for (const auto& [op, fn] : ops) {
      benchmark::RegisterBenchmark((std::string(op) + row.impl_name).c_str(),
                                   [impl = row.impl, fn = fn](benchmark::State& state) {
                                     OnSm4Path(state, impl, fn);
                                   });
    }
  }

  Register("SM2_Sign/openssl", OsslSignBench);
  // EVP_PKEY_verify keeps nothing per key beyond the EVP_PKEY itself, so the known-key row is
  // the same call; it is listed so the table has an OpenSSL reference for it.
  Register("SM2_Verify/openssl", OsslVerifyBench);
  Register("SM2_Verify/openssl-provider", OsslProviderVerifyBench);
  Register("SM2_VerifyKnownKey/openssl", OsslVerifyBench);
  Register("SM2_Keygen/openssl", OsslKeygenBench);
  Register("SM2_Encrypt/openssl", OsslEncryptBench);
  Register("SM2_Decrypt/openssl", OsslDecryptBench);
  Register("SM3/openssl", OsslSm3Bench);
  Register("SM4_CTR/openssl", OsslSm4CtrBench);
  // No SM4_GCM/openssl: OpenSSL 3.0 has SM4 ECB/CBC/CFB/OFB/CTR only (SM4-GCM arrived in 3.2).

#ifdef GMPKI_BENCH_BOTAN
  Register("SM2_Sign/botan", BotanSign);
  Register("SM2_Verify/botan", BotanVerify);
  // Botan's PK_Verifier holds the key and its Z; reusing it is the known-key case.
  Register("SM2_VerifyKnownKey/botan", BotanVerify);
  Register("SM2_Keygen/botan", BotanKeygen);
  Register("SM2_Encrypt/botan", BotanEncrypt);
  Register("SM2_Decrypt/botan", BotanDecrypt);
  Register("SM3/botan", BotanSm3);
  Register("SM4_GCM/botan", BotanSm4Gcm);
#endif
}

// Wraps the reporter chosen for the format so rates can be collected for the table.
template <class Base>
class Collecting : public Base {
 public:
  using Base::Base;
  void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run>& runs) override {
    for (const auto& run : runs) {
      if (run.error_occurred) continue;
      // With repetitions, the median stands for the name; otherwise the single run does.
      if (run.run_type == benchmark::BenchmarkReporter::Run::RT_Aggregate &&
          run.aggregate_name != "median") {
        continue;
      }
      std::string name = run.run_name.str();
      for (const char* counter : {"items_per_second", "bytes_per_second"}) {
        auto it = run.counters.find(counter);
        if (it != run.counters.end()) rates_[name] = it->second.value;
      }
    }
    Base::ReportRuns(runs);
  }
  const std::map<std::string, double>& rates() const { return rates_; }

 private:
  std::map<std::string, double> rates_;
};

void PrintTable(std::FILE* out, const std::map<std::string, double>& rates) {
  auto rate = [&](const std::string& op, const char* impl, bool bytes) -> double {
    auto it = rates.find(op + "/" + impl);
    if (it == rates.end()) return 0;
    return bytes ? it->second / 1e6 : it->second;
  };
  auto cell = [](double v) {
    char buf[32];
    if (v <= 0) return std::string("-");
    std::snprintf(buf, sizeof(buf), v >= 100 ? "%.0f" : "%.1f", v);
    return std::string(buf);
  };
  auto ratio = [](double a, double b) {
    char buf[32];
    if (a <= 0 || b <= 0) return std::string("-");
    std::snprintf(buf, sizeof(buf), "%.2f", a / b);
    return std::string(buf);
  };
  std::fprintf(out, "\n%-20s %-6s %12s %12s %12s %14s %12s\n", "operation", "unit", "gmpki",
               "openssl", "botan", "gmpki/openssl", "gmpki/botan");
  for (const Operation& op : kOperations) {
    double g = rate(op.name, "gmpki", op.bytes);
    double o = rate(op.name, "openssl", op.bytes);
    double b = rate(op.name, "botan", op.bytes);
    if (g <= 0 && o <= 0 && b <= 0) continue;  // filtered out
    std::fprintf(out, "%-20s %-6s %12s %12s %12s %14s %12s\n", op.name,
                 op.bytes ? "MB/s" : "ops/s", cell(g).c_str(), cell(o).c_str(), cell(b).c_str(),
                 ratio(g, o).c_str(), ratio(g, b).c_str());
  }
  // The SM4 paths one by one (the gmpki column above is the CPU's default path).
  for (const char* op : {"SM4_GCM", "SM4_CTR"}) {
    for (const Sm4PathRow& row : kSm4PathRows) {
      const double g = rate(op, row.impl_name, true);
      if (g <= 0) continue;
      const double o = rate(op, "openssl", true);
      const double b = rate(op, "botan", true);
      std::fprintf(out, "%-20s %-6s %12s %12s %12s %14s %12s\n",
                   (std::string(op) + "/" + (row.impl_name + 6)).c_str(), "MB/s",
                   cell(g).c_str(), cell(o).c_str(), cell(b).c_str(), ratio(g, o).c_str(),
                   ratio(g, b).c_str());
    }
  }
#ifndef GMPKI_BENCH_BOTAN
  std::fprintf(out, "(botan rows not built: botan-2 was not found at configure time)\n");
#endif
  std::fprintf(out, "(SM4_GCM/openssl: OpenSSL 3.0 has no SM4-GCM, compare SM4_CTR; ratios > 1 "
                    "favour gmpki)\n");
}

int Main(int argc, char** argv) {
  // A short default run (~15 s for all rows); a --benchmark_min_time given on the command line
  // comes later and wins. Set here, not with ->MinTime(), which would append "/min_time:..." to
  // every name.
  std::vector<char*> args(argv, argv + argc);
  static char kMinTime[] = "--benchmark_min_time=0.3";
  args.insert(args.begin() + 1, kMinTime);
  args.push_back(nullptr);
  argc = static_cast<int>(args.size()) - 1;
  argv = args.data();
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a(argv[i]);
    if (a == "--benchmark_format=json") json = true;
    if (a == "--benchmark_format=csv") {
      std::fprintf(stderr, "bench_crypto: --benchmark_format must be console or json\n");
      return 2;
    }
  }
  // gmpki_crypto installs its OpenSSL provider and makes OpenSSL prefer it: the openssl rows
  // must measure OpenSSL's own SM2, so unnamed fetches go back to it here.
  Check(crypto::SelectSm2Impl(crypto::Sm2Impl::kOpenSsl).ok(), "select OpenSSL's SM2");
  RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (json) {
    Collecting<benchmark::JSONReporter> reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    PrintTable(stderr, reporter.rates());
  } else {
    Collecting<benchmark::ConsoleReporter> reporter(
        isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_Defaults
                              : benchmark::ConsoleReporter::OO_Tabular);
    benchmark::RunSpecifiedBenchmarks(&reporter);
    std::fflush(stdout);
    PrintTable(stdout, reporter.rates());
  }
  benchmark::Shutdown();
  return 0;
}

}  // namespace
}  // namespace gmpki::bench

int main(int argc, char** argv) { return gmpki::bench::Main(argc, argv); }
