// How a CA reaches its key management centre for the encryption half of the dual-certificate
// system (LD/T 02.1 §7.3.2; KM-01..KM-09). The CA never sees an encryption private key: the KM
// returns the public key for the certificate and the private key enveloped to the subscriber's
// signing key, which the CA hands on unopened.
//
// Implementations: km::RemoteKmGateway (services/km_link: mutual TLS to a KM node) and, in
// tests, an in-process gateway over km::KmService.
//
// Thread safety: implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/sm2.h"

namespace gmpki::ca {

struct KmKeyDelivery {
  std::string key_id;
  crypto::Sm2PublicKey enc_public_key;
  Bytes skf_blob;           // GM/T 0016 ENVELOPEDKEYBLOB
  Bytes sm2_enveloped_key;  // GB/T 35276 SM2EnvelopedKey (DER)
  Bytes enveloped_data;     // GB/T 35275 / GM/T 0010 EnvelopedData (DER ContentInfo)
};

class KmGateway {
 public:
  virtual ~KmGateway() = default;
  // A key pair for the subscriber of `sign_cert_der`, enveloped to its public key. The same
  // request ID with the same signing key returns the same key.
  virtual Result<KmKeyDelivery> ApplyKey(const std::string& request_id, ByteView sign_cert_der,
                                         std::int64_t not_after_unix) = 0;
  // `cert_ref` names the encryption certificate as "<ca>:<serial hex>".
  virtual Status BindCertificate(const std::string& key_id, const std::string& cert_ref) = 0;
  virtual Status RevokeKey(const std::string& cert_ref, const std::string& reason) = 0;
  // Re-delivers the key of an encryption certificate to a (new) signing certificate's key.
  virtual Result<KmKeyDelivery> RestoreKey(const std::string& request_id,
                                           const std::string& cert_ref,
                                           ByteView sign_cert_der) = 0;
};

}  // namespace gmpki::ca
