// Start-up known-answer tests (CC-FPT). The expected values are copied from the published
// examples, never computed by gmpki: GB/T 32905-2016 Appendix A (SM3), GM/T 0042-2015 Appendix
// D.3 (HMAC-SM3, as in OpenSSL's evpmac_sm3.txt), GB/T 32907-2016 Appendix A and
// draft-ribose-cfrg-sm4 (SM4 ECB/CBC/CTR, as in OpenSSL's evpciph_sm4.txt), RFC 8998 Appendix
// A.1 (SM4-GCM), GB/T 32918.5-2016 Annex A and Annex C (SM2 signature and encryption; the same
// values as OpenSSL's test/sm2_internal_test.c).
#include "crypto/self_test.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <string_view>

#include "crypto/random.h"
#include "crypto/sm2.h"
#include "crypto/sm3.h"
#include "crypto/sm4.h"

namespace gmpki::crypto {
namespace {

std::atomic<bool> g_inject_failure{false};

Bytes H(std::string_view hex) {
  auto r = HexDecode(hex);
  return r.ok() ? std::move(r).value() : Bytes{};
}

Status Fail(const std::string& what) {
  return Error(ErrorCode::kSelfTestFailure, "self-test failed: " + what);
}

bool Same(ByteView a, ByteView b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

Status TestSm3() {
  Bytes msg = ToBytes("abc");
  if (g_inject_failure.load()) msg[0] ^= 1;
  const Sm3Digest d = Sm3(msg);
  if (!Same(d, H("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"))) {
    return Fail("SM3 KAT");
  }
  return OkStatus();
}

Status TestHmacSm3() {
  const Sm3Digest mac =
      HmacSm3(H("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
              AsBytes("Hi There"));
  if (!Same(mac, H("c0ba18c68b90c88bc07de794bfc7d2c8d19ec31ed8773bc2b390c9604e0be11e"))) {
    return Fail("HMAC-SM3 KAT");
  }
  return OkStatus();
}

Status TestSm4() {
  const Bytes k = H("0123456789abcdeffedcba9876543210");
  const Bytes p2 = H("0123456789abcdeffedcba98765432100123456789abcdeffedcba9876543210");
  auto ecb = Sm4EcbEncrypt(k, k);
  if (!ecb.ok() || !Same(*ecb, H("681edf34d206965e86b3e94f536e4246"))) return Fail("SM4-ECB KAT");
  auto ecb_back = Sm4EcbDecrypt(k, *ecb);
  if (!ecb_back.ok() || !Same(*ecb_back, k)) return Fail("SM4-ECB decrypt KAT");
  auto cbc = Sm4CbcEncrypt(k, k, p2, false);
  if (!cbc.ok() ||
      !Same(*cbc, H("2677f46b09c122cc975533105bd4a22af6125f7275ce552c3a2bbcf533de8a3b"))) {
    return Fail("SM4-CBC KAT");
  }
  const Bytes ctr_in = H(
      "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd"
      "eeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa");
  const Bytes ctr_out = H(
      "c2b4759e78ac3cf43d0852f4e8d5f9fd7256e8a5fcb65a350ee00630912e4449"
      "2a0b17e1b85b060d0fba612d8a95831638b361fd5ffacd942f081485a83ca35d");
  auto ctr = Sm4Ctr(k, k, ctr_in);
  if (!ctr.ok() || !Same(*ctr, ctr_out)) {
    return Fail("SM4-CTR KAT");
  }
  const Bytes iv = H("00001234567800000000abcd");
  const Bytes aad = H("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const Bytes expected = H(
      "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735"
      "d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d"
      "83de3541e4c2b58177e065a9bf7b62ec");
  auto gcm = Sm4GcmSeal(k, iv, aad, ctr_in);
  if (!gcm.ok() || !Same(*gcm, expected)) return Fail("SM4-GCM seal KAT");
  auto opened = Sm4GcmOpen(k, iv, aad, expected);
  if (!opened.ok() || !Same(*opened, ctr_in)) return Fail("SM4-GCM open KAT");
  Bytes tampered = expected;
  tampered.back() ^= 1;
  if (Sm4GcmOpen(k, iv, aad, tampered).ok()) return Fail("SM4-GCM accepted a bad tag");
  return OkStatus();
}

constexpr std::string_view kAnnexD =
    "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
constexpr std::string_view kAnnexP =
    "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";

Status TestSm2() {
  auto pub = Sm2PublicKey::FromPoint(H(kAnnexP));
  auto priv = Sm2PrivateKey::FromScalar(H(kAnnexD));
  if (!pub.ok() || !priv.ok()) return Fail("SM2 KAT key");
  auto derived = priv->DerivePublicKey();
  if (!derived.ok() || !(*derived == *pub)) return Fail("SM2 public key derivation KAT");
  // GB/T 32918.5-2016 Annex A: ID "1234567812345678", M = "message digest".
  const Bytes sig = H(
      "3046022100f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3"
      "022100b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa");
  if (!Sm2Verify(*pub, AsBytes(kDefaultSm2Id), AsBytes("message digest"), sig).ok()) {
    return Fail("SM2 signature verification KAT");
  }
  if (Sm2Verify(*pub, AsBytes(kDefaultSm2Id), AsBytes("message digesT"), sig).ok()) {
    return Fail("SM2 verification accepted a wrong message");
  }
  // GB/T 32918.5-2016 Annex C in GM/T 0009 ASN.1 form: decrypts to "encryption standard".
  const Bytes ct = H(
      "307c022004ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73"
      "022100e858f9d81e5430a57b36daab8f950a3c64e6ee6a63094d99283aff767e124df0"
      "042059983c18f809e262923c53aec295d30383b54e39d609d160afcb1908d0bd8766"
      "041321886ca989ca9c7d58087307ca93092d651efa");
  auto m = Sm2Decrypt(*priv, ct);
  if (!m.ok() || !Same(m->view(), AsBytes("encryption standard"))) {
    return Fail("SM2 decryption KAT");
  }
  // Pairwise consistency of a fresh key pair (Sm2GenerateKeyPair also runs one internally).
  auto kp = Sm2GenerateKeyPair();
  if (!kp.ok()) return Fail("SM2 key generation");
  auto fresh_sig = Sm2Sign(kp->private_key, kp->public_key, AsBytes(kDefaultSm2Id), AsBytes("pct"));
  if (!fresh_sig.ok() ||
      !Sm2Verify(kp->public_key, AsBytes(kDefaultSm2Id), AsBytes("pct"), *fresh_sig).ok()) {
    return Fail("SM2 pairwise consistency (sign/verify)");
  }
  auto enc = Sm2Encrypt(kp->public_key, AsBytes("pct"));
  if (!enc.ok()) return Fail("SM2 pairwise consistency (encrypt)");
  auto dec = Sm2Decrypt(kp->private_key, *enc);
  if (!dec.ok() || !Same(dec->view(), AsBytes("pct"))) {
    return Fail("SM2 pairwise consistency (decrypt)");
  }
  return OkStatus();
}

// A health test of the random source: two draws must differ and a draw must not be one byte
// repeated (a stuck generator), in the spirit of SP 800-90B 4.4's repetition count test.
Status TestRandom() {
  auto a = RandomBytes(32);
  auto b = RandomBytes(32);
  if (!a.ok() || !b.ok()) return Fail("random source unavailable");
  if (Same(*a, *b)) return Fail("random source returned the same block twice");
  bool constant = true;
  for (std::uint8_t c : *a) constant = constant && c == (*a)[0];
  if (constant) return Fail("random source is constant");
  return OkStatus();
}

}  // namespace

Status RunSelfTests() {
  GMPKI_RETURN_IF_ERROR(TestSm3());
  GMPKI_RETURN_IF_ERROR(TestHmacSm3());
  GMPKI_RETURN_IF_ERROR(TestSm4());
  GMPKI_RETURN_IF_ERROR(TestSm2());
  GMPKI_RETURN_IF_ERROR(TestRandom());
  return OkStatus();
}

void InjectSelfTestFailureForTesting(bool on) { g_inject_failure.store(on); }

}  // namespace gmpki::crypto
