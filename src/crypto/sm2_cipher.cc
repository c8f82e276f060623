#include "crypto/sm2_cipher_internal.h"

#include <cstring>

#include "crypto/der_internal.h"
#include "crypto/sm3.h"

namespace gmpki::crypto::internal {
namespace {

// Constant time: the loop runs over the whole of t, only the verdict leaves.
bool AllZero(const SecretBytes& t) {
  std::uint8_t acc = 0;
  for (std::size_t i = 0; i < t.size(); ++i) acc |= t[i];
  return acc == 0;
}

// C3 = Hash(x2 || M || y2) (GB/T 32918.4-2016 6.1 A7, 7.1 B6).
Sm3Digest HashC3(ByteView x2y2, ByteView m) {
  Sm3Hasher h;
  h.Update(x2y2.subspan(0, 32));
  h.Update(m);
  h.Update(x2y2.subspan(32, 32));
  return h.Final();
}

}  // namespace

Result<Sm2CipherParts> ParseSm2Cipher(ByteView der) {
  DerReader outer(der);
  GMPKI_ASSIGN_OR_RETURN(ByteView seq, outer.Read(kTagSequence));
  if (!outer.empty()) return Error(ErrorCode::kMalformedInput, "SM2Cipher: trailing data");
  DerReader body(seq);
  GMPKI_ASSIGN_OR_RETURN(ByteView x, body.ReadUnsignedInteger());
  GMPKI_ASSIGN_OR_RETURN(ByteView y, body.ReadUnsignedInteger());
  Sm2CipherParts p;
  GMPKI_ASSIGN_OR_RETURN(p.c3, body.Read(kTagOctetString));
  GMPKI_ASSIGN_OR_RETURN(p.c2, body.Read(kTagOctetString));
  if (!body.empty()) return Error(ErrorCode::kMalformedInput, "SM2Cipher: extra fields");
  if (x.size() > 32 || y.size() > 32) {
    return Error(ErrorCode::kMalformedInput, "SM2Cipher: C1 coordinate too long");
  }
  if (p.c3.size() != kSm3DigestSize) {
    return Error(ErrorCode::kMalformedInput, "SM2Cipher: HASH must be 32 bytes");
  }
  if (p.c2.empty()) return Error(ErrorCode::kMalformedInput, "SM2Cipher: empty ciphertext");
  std::memcpy(p.x1.data() + (32 - x.size()), x.data(), x.size());
  std::memcpy(p.y1.data() + (32 - y.size()), y.data(), y.size());
  return p;
}

std::optional<Bytes> FinishSm2Encrypt(ByteView c1x, ByteView c1y, ByteView x2y2, ByteView m) {
  // A5: t = KDF(x2 || y2, klen); back to A1 if t is all zero.
  SecretBytes t = Sm3Kdf(x2y2, m.size());
  if (AllZero(t)) return std::nullopt;
  // A6: C2 = M xor t. A7: C3 = Hash(x2 || M || y2). A8: C = C1 || C3 || C2 as GM/T 0009.
  Bytes c2(m.size());
  for (std::size_t i = 0; i < m.size(); ++i) c2[i] = m[i] ^ t[i];
  const Sm3Digest c3 = HashC3(x2y2, m);
  Bytes seq;
  AppendUnsignedInteger(seq, c1x);
  AppendUnsignedInteger(seq, c1y);
  AppendTlv(seq, kTagOctetString, c3);
  AppendTlv(seq, kTagOctetString, c2);
  Bytes out;
  AppendTlv(out, kTagSequence, seq);
  return out;
}

Result<SecretBytes> FinishSm2Decrypt(ByteView x2y2, ByteView c3, ByteView c2) {
  // B4: t = KDF(x2 || y2, klen); an all-zero t is an error.
  SecretBytes t = Sm3Kdf(x2y2, c2.size());
  if (AllZero(t)) return Error(ErrorCode::kBadSignature, "SM2 decryption: all-zero KDF output");
  // B5: M' = C2 xor t. B6: u = Hash(x2 || M' || y2) must equal C3, compared in constant time;
  // M' is wiped (by SecretBytes) unless it matches.
  SecretBytes m(c2.size());
  for (std::size_t i = 0; i < c2.size(); ++i) m[i] = c2[i] ^ t[i];
  const Sm3Digest u = HashC3(x2y2, m.view());
  if (!ConstantTimeEqual(u, c3)) {
    return Error(ErrorCode::kBadSignature, "SM2 decryption: C3 mismatch (wrong key or tampered)");
  }
  return m;
}

}  // namespace gmpki::crypto::internal
