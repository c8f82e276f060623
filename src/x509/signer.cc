#include "x509/signer.h"

#include <string>

#include "x509/der.h"

namespace gmpki::x509 {

Signer MakeSoftwareSigner(std::shared_ptr<const crypto::Sm2PrivateKey> key,
                          const crypto::Sm2PublicKey& public_key, std::string_view id) {
  Signer s;
  s.public_key = public_key;
  s.sign = [key = std::move(key), public_key, id = std::string(id)](ByteView message) {
    return crypto::Sm2Sign(*key, public_key, AsBytes(id), message);
  };
  return s;
}

Bytes Sm3WithSm2AlgorithmId() { return der::Sequence({der::OidLiteral(kSm3WithSm2Oid)}); }

Result<Bytes> SignAndWrap(ByteView tbs_der, const Signer& signer) {
  if (!signer.sign) return Error(ErrorCode::kInvalidArgument, "signer has no sign function");
  GMPKI_ASSIGN_OR_RETURN(Bytes sig, signer.sign(tbs_der));
  return der::Sequence({Bytes(tbs_der.begin(), tbs_der.end()), Sm3WithSm2AlgorithmId(),
                        der::BitString(sig)});
}

Status VerifySm2Signature(const crypto::Sm2PublicKey& key, ByteView tbs_der,
                          ByteView der_signature) {
  Status s = crypto::Sm2Verify(key, AsBytes(kSm2SignerId), tbs_der, der_signature);
  if (!s.ok()) {
    if (s.error().code() == ErrorCode::kBadSignature) return s;
    return Error(ErrorCode::kBadSignature, "SM2 signature: " + s.error().message());
  }
  return s;
}

}  // namespace gmpki::x509
