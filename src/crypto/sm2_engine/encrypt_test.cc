// SM2 public-key encryption on the engine: the GB/T 32918.5 Annex C known answer, the
// constant-time k*P against OpenSSL's EC_POINT_mul, cross-decryption with the OpenSSL-backed
// crypto::Sm2Encrypt / Sm2Decrypt in both directions, and the rejection rules of
// GB/T 32918.4-2016 7.1 (C1 on the curve, C3 match) and of the GM/T 0009 encoding.
#include "crypto/sm2_engine/encrypt.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include <array>
#include <memory>
#include <vector>

#include "crypto/der_internal.h"
#include "crypto/random.h"
#include "crypto/sm2.h"
#include "crypto/sm2_engine/test_util.h"
#include "crypto/sm2_engine/varbase.h"
#include "crypto/sm2_internal.h"
#include "crypto/test_vectors.h"

namespace gmpki::crypto::sm2_engine {
namespace {

using crypto::testing::LoadVectors;
using testing::BnPtr;
using testing::CtxPtr;
using testing::RandomU256;
using testing::ToBn;

struct GroupFree {
  void operator()(EC_GROUP* g) const { EC_GROUP_free(g); }
};
struct PointFree {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};

using Encoded = std::array<std::uint8_t, 65>;  // 04 || X || Y; all zero for infinity

Encoded Encode(const JacobianPoint& p) {
  Encoded out{};
  AffinePoint a;
  if (PointToAffine(a, p)) return out;
  out[0] = 0x04;
  FeToBytes(out.data() + 1, a.x);
  FeToBytes(out.data() + 33, a.y);
  return out;
}

// k*P from OpenSSL for P given as 04 || X || Y.
Encoded OpensslMul(const Encoded& p_enc, const U256& k) {
  std::unique_ptr<EC_GROUP, GroupFree> g(EC_GROUP_new_by_curve_name(NID_sm2));
  std::unique_ptr<EC_POINT, PointFree> p(EC_POINT_new(g.get())), r(EC_POINT_new(g.get()));
  CtxPtr ctx(BN_CTX_new());
  EXPECT_EQ(EC_POINT_oct2point(g.get(), p.get(), p_enc.data(), 65, ctx.get()), 1);
  BnPtr kb = ToBn(k);
  EXPECT_EQ(EC_POINT_mul(g.get(), r.get(), nullptr, p.get(), kb.get(), ctx.get()), 1);
  Encoded out{};
  if (EC_POINT_is_at_infinity(g.get(), r.get())) return out;
  EC_POINT_point2oct(g.get(), r.get(), POINT_CONVERSION_UNCOMPRESSED, out.data(), 65, ctx.get());
  return out;
}

U256 AddSmall(const U256& a, std::int64_t delta) {
  U256 r;
  if (delta >= 0) {
    Add4(r, a, U256{{static_cast<u64>(delta), 0, 0, 0}});
  } else {
    Sub4(r, a, U256{{static_cast<u64>(-delta), 0, 0, 0}});
  }
  return r;
}

void ExpectMulMatches(const AffinePoint& p, const U256& k) {
  JacobianPoint mine;
  ScalarMulPoint(mine, k, p);
  const Encoded p_enc = Encode(ToJacobian(p));
  EXPECT_EQ(Encode(mine), OpensslMul(p_enc, k))
      << "k = " << std::hex << k.v[3] << " " << k.v[2] << " " << k.v[1] << " " << k.v[0];
}

AffinePoint RandomPoint() {
  JacobianPoint j;
  ScalarMulBase(j, RandomU256());
  AffinePoint a;
  EXPECT_EQ(PointToAffine(a, j), 0u);
  return a;
}

// req: CC-FCS
TEST(Sm2EngineEncrypt, VariableBaseMultiplyMatchesOpenssl) {
  for (int i = 0; i < 40; ++i) {
    SCOPED_TRACE(i);
    ExpectMulMatches(RandomPoint(), RandomU256());
  }
  // Edge scalars: small values (zero digits, a single top digit), 2^255, 2^256 - 1 (reduced
  // mod n), and n - 40 .. n + 2, which include k = n - 2|d_0| where the last window's
  // addition is a doubling and k = n where the product is infinity.
  const AffinePoint p = RandomPoint();
  const std::vector<U256> fixed = {U256{{0, 0, 0, 0}},          U256{{1, 0, 0, 0}},
                                   U256{{2, 0, 0, 0}},          U256{{16, 0, 0, 0}},
                                   U256{{17, 0, 0, 0}},         U256{{31, 0, 0, 0}},
                                   U256{{32, 0, 0, 0}},         U256{{33, 0, 0, 0}},
                                   U256{{0, 0, 0, 1ULL << 63}}, U256{{~0ULL, ~0ULL, ~0ULL, ~0ULL}}};
  for (const U256& k : fixed) ExpectMulMatches(p, k);
  for (std::int64_t delta = -40; delta <= 2; ++delta) {
    SCOPED_TRACE(delta);
    ExpectMulMatches(p, AddSmall(kOrderN.m, delta));
    ExpectMulMatches(BasePoint(), AddSmall(kOrderN.m, delta));
  }
}

// req: CC-FCS
TEST(Sm2EngineEncrypt, AnnexCEncryptionKnownAnswer) {
  auto vectors = LoadVectors("gbt32918/sm2_enc.vec");
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.Where());
    auto key = PrivateKey::FromScalar(v.Hex("D"));
    ASSERT_TRUE(key.ok());
    const auto point = key->public_key().ToPoint();
    ASSERT_EQ(Bytes(point.begin(), point.end()), v.Hex("P"));
    auto ct = EncryptC1C3C2WithK(key->public_key(), v.Hex("Msg"), v.Hex("K"));
    ASSERT_TRUE(ct.ok()) << ct.error().message();
    EXPECT_EQ(*ct, v.Hex("Ct"));
    auto pt = Decrypt(*key, v.Hex("Ct"));
    ASSERT_TRUE(pt.ok()) << pt.error().message();
    const Bytes msg = v.Hex("Msg");
    EXPECT_EQ(Bytes(pt->view().begin(), pt->view().end()), msg);
  }
}

struct KeyPairs {
  PrivateKey engine;
  Sm2PrivateKey theirs;
  Sm2PublicKey theirs_pub;
};

KeyPairs MakeKeys() {
  auto key = PrivateKey::Generate();
  EXPECT_TRUE(key.ok());
  const SecretBytes d = key->ToScalar();
  auto theirs = Sm2PrivateKey::FromScalar(d.view());
  EXPECT_TRUE(theirs.ok());
  const auto point = key->public_key().ToPoint();
  auto theirs_pub = Sm2PublicKey::FromPoint(ByteView(point.data(), point.size()));
  EXPECT_TRUE(theirs_pub.ok());
  return KeyPairs{std::move(*key), std::move(*theirs), std::move(*theirs_pub)};
}

Bytes RandomMessage(std::size_t len) {
  Bytes m(len);
  EXPECT_TRUE(RandomFill(std::span<std::uint8_t>(m.data(), m.size())).ok());
  return m;
}

Bytes ToBytes(const SecretBytes& s) { return Bytes(s.view().begin(), s.view().end()); }

// req: CC-FCS
TEST(Sm2EngineEncrypt, CrossDecryptsWithOpensslImplementation) {
  KeyPairs keys = MakeKeys();
  const int cases = sm2_engine::testing::DiffCases(100);  // GMPKI_SM2_DIFF_CASES for the long mode
  for (int i = 0; i < cases; ++i) {
    // Lengths 1..33 around the KDF block, then up to a few hundred bytes.
    const std::size_t len = i < 33 ? static_cast<std::size_t>(i + 1) : 17 + 7 * (i % 100);
    SCOPED_TRACE(len);
    const Bytes m = RandomMessage(len);

    auto mine = EncryptC1C3C2(keys.engine.public_key(), m);
    ASSERT_TRUE(mine.ok()) << mine.error().message();
    auto theirs_pt = internal::OsslSm2Decrypt(keys.theirs, *mine);
    ASSERT_TRUE(theirs_pt.ok()) << theirs_pt.error().message();
    EXPECT_EQ(ToBytes(*theirs_pt), m);

    auto theirs = internal::OsslSm2Encrypt(keys.theirs_pub, m);
    ASSERT_TRUE(theirs.ok()) << theirs.error().message();
    auto mine_pt = Decrypt(keys.engine, *theirs);
    ASSERT_TRUE(mine_pt.ok()) << mine_pt.error().message();
    EXPECT_EQ(ToBytes(*mine_pt), m);

    // With the same k both produce the same bytes.
    Bytes k(32);
    ToBe32(ScToInt(ScFromIntReduce(RandomU256())), k.data());
    auto a = EncryptC1C3C2WithK(keys.engine.public_key(), m, k);
    auto b = internal::Sm2EncryptWithK(keys.theirs_pub, m, k);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b);
  }
}

// Both implementations reject `ct` with `code`.
void ExpectRejected(const KeyPairs& keys, const Bytes& ct, ErrorCode code) {
  auto mine = Decrypt(keys.engine, ct);
  ASSERT_FALSE(mine.ok());
  EXPECT_EQ(mine.error().code(), code) << mine.error().message();
  auto theirs = internal::OsslSm2Decrypt(keys.theirs, ct);
  ASSERT_FALSE(theirs.ok());
  EXPECT_EQ(theirs.error().code(), code) << theirs.error().message();
}

// The four fields of an SM2Cipher, coordinates padded to 32 bytes, and the re-encoding, so
// tests can change one field and keep the DER valid.
struct Fields {
  Bytes x, y, c3, c2;
};

Fields Split(const Bytes& ct) {
  internal::DerReader outer(ct);
  auto seq = outer.Read(internal::kTagSequence);
  EXPECT_TRUE(seq.ok());
  internal::DerReader body(*seq);
  Fields f;
  for (Bytes* coord : {&f.x, &f.y}) {
    auto mag = body.ReadUnsignedInteger();
    EXPECT_TRUE(mag.ok());
    *coord = Bytes(32 - mag->size(), 0);
    coord->insert(coord->end(), mag->begin(), mag->end());
  }
  for (Bytes* str : {&f.c3, &f.c2}) {
    auto v = body.Read(internal::kTagOctetString);
    EXPECT_TRUE(v.ok());
    *str = Bytes(v->begin(), v->end());
  }
  return f;
}

Bytes Join(const Fields& f) {
  Bytes seq, out;
  internal::AppendUnsignedInteger(seq, f.x);
  internal::AppendUnsignedInteger(seq, f.y);
  internal::AppendTlv(seq, internal::kTagOctetString, f.c3);
  internal::AppendTlv(seq, internal::kTagOctetString, f.c2);
  internal::AppendTlv(out, internal::kTagSequence, seq);
  return out;
}

// req: CC-FCS
TEST(Sm2EngineEncrypt, RejectsTamperedAndMalformedCiphertexts) {
  KeyPairs keys = MakeKeys();
  const Bytes m = RandomMessage(40);
  auto ct = EncryptC1C3C2(keys.engine.public_key(), m);
  ASSERT_TRUE(ct.ok());
  const Fields f = Split(*ct);
  ASSERT_EQ(Join(f), *ct);
  ASSERT_EQ(f.c3.size(), 32u);
  ASSERT_EQ(f.c2.size(), 40u);

  // C1 with a flipped bit of x or y: off the curve (B1).
  Fields bad = f;
  bad.x[20] ^= 0x04;
  ExpectRejected(keys, Join(bad), ErrorCode::kMalformedInput);
  bad = f;
  bad.y[31] ^= 0x01;
  ExpectRejected(keys, Join(bad), ErrorCode::kMalformedInput);
  // C1 replaced by another point of the curve (G): the shared point differs, caught by C3.
  bad = f;
  const Encoded g = Encode(ToJacobian(BasePoint()));
  bad.x.assign(g.begin() + 1, g.begin() + 33);
  bad.y.assign(g.begin() + 33, g.end());
  ExpectRejected(keys, Join(bad), ErrorCode::kBadSignature);
  // C3 or C2 modified: the hash check fails (B6).
  bad = f;
  bad.c3[5] ^= 0x80;
  ExpectRejected(keys, Join(bad), ErrorCode::kBadSignature);
  bad = f;
  bad.c2[39] ^= 0x01;
  ExpectRejected(keys, Join(bad), ErrorCode::kBadSignature);
  bad = f;
  bad.c2.pop_back();
  ExpectRejected(keys, Join(bad), ErrorCode::kBadSignature);
  // Wrong field sizes: a 31-byte HASH, an empty CipherText.
  bad = f;
  bad.c3.pop_back();
  ExpectRejected(keys, Join(bad), ErrorCode::kMalformedInput);
  bad = f;
  bad.c2.clear();
  ExpectRejected(keys, Join(bad), ErrorCode::kMalformedInput);
  // Truncated and with trailing bytes.
  Bytes raw = *ct;
  raw.pop_back();
  ExpectRejected(keys, raw, ErrorCode::kMalformedInput);
  ExpectRejected(keys, Bytes(ct->begin(), ct->begin() + 10), ErrorCode::kMalformedInput);
  raw = *ct;
  raw.push_back(0x00);
  ExpectRejected(keys, raw, ErrorCode::kMalformedInput);
  ExpectRejected(keys, Bytes{}, ErrorCode::kMalformedInput);
  // The wrong private key.
  KeyPairs other = MakeKeys();
  auto wrong = Decrypt(other.engine, *ct);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), ErrorCode::kBadSignature);
  // The original still decrypts.
  auto good = Decrypt(keys.engine, *ct);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(ToBytes(*good), m);
}

// req: CC-FCS
TEST(Sm2EngineEncrypt, RejectsCoordinatesNotBelowP) {
  // C1 = (p, y) encoded by hand: x = p must be rejected as out of range, not reduced to 0.
  KeyPairs keys = MakeKeys();
  Bytes p(32);
  ToBe32(kFieldP.m, p.data());
  Bytes body;
  auto append = [&body](std::uint8_t tag, const Bytes& content) {
    body.push_back(tag);
    body.push_back(static_cast<std::uint8_t>(content.size()));
    body.insert(body.end(), content.begin(), content.end());
  };
  Bytes x = {0x00};
  x.insert(x.end(), p.begin(), p.end());  // sign byte: p has its top bit set
  append(0x02, x);
  append(0x02, Bytes{0x01});
  append(0x04, Bytes(32, 0xab));
  append(0x04, Bytes(5, 0xcd));
  Bytes ct = {0x30, static_cast<std::uint8_t>(body.size())};
  ct.insert(ct.end(), body.begin(), body.end());
  ExpectRejected(keys, ct, ErrorCode::kMalformedInput);
}

// req: CC-FCS
TEST(Sm2EngineEncrypt, RejectsBadArguments) {
  KeyPairs keys = MakeKeys();
  auto empty = EncryptC1C3C2(keys.engine.public_key(), ByteView());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidArgument);
  const Bytes m = {1, 2, 3};
  Bytes n(32);
  ToBe32(kOrderN.m, n.data());
  for (const Bytes& k : {Bytes(32, 0), n, Bytes(31, 1)}) {
    auto r = EncryptC1C3C2WithK(keys.engine.public_key(), m, k);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
  // k = n - 1 is in range: C1 = -G.
  n[31] -= 1;
  auto r = EncryptC1C3C2WithK(keys.engine.public_key(), m, n);
  ASSERT_TRUE(r.ok());
  auto back = Decrypt(keys.engine, *r);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(ToBytes(*back), m);
}

}  // namespace
}  // namespace gmpki::crypto::sm2_engine
