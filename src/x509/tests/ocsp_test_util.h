// Shared by the OCSP tests: a CA, a delegated OCSP signer (id-kp-OCSPSigning,
// ocsp-nocheck) and end-entity certificates, all with in-memory SM2 keys.
#pragma once

#include <string>

#include "x509/ocsp.h"
#include "x509/tests/test_util.h"

namespace gmpki::x509::testing {

struct OcspPki {
  TestKey ca_key = NewKey();
  TestKey signer_key = NewKey();
  TestKey ee_key = NewKey();
  Name ca_name = N("C=CN,O=MOHRSS,CN=OCSP Test CA");
  Certificate ca = Must(Certificate::FromDer(IssueTestCert(
      ca_name, ca_key.pub, ca_name, ca_key.signer, true, std::nullopt, Days(-10), Days(3650))));
  // RFC 6960 section 4.2.2.2: the delegated responder's certificate is issued
  // by the CA and carries id-kp-OCSPSigning; section 4.2.2.2.1:
  // id-pkix-ocsp-nocheck.
  Certificate signer = Must(Certificate::FromDer(IssueTestCert(
      N("C=CN,O=MOHRSS,CN=OCSP Responder"), signer_key.pub, ca_name, ca_key.signer, false,
      std::nullopt, Days(-1), Days(30), {ext::OcspSigningExtKeyUsage(), ext::OcspNoCheck()})));
  Certificate ee = Must(
      Certificate::FromDer(IssueTestCert(N("C=CN,O=MOHRSS,CN=Zhang San"), ee_key.pub, ca_name,
                                         ca_key.signer, false, std::nullopt, Days(-1), Days(365))));
  Certificate ee2 = Must(
      Certificate::FromDer(IssueTestCert(N("C=CN,O=MOHRSS,CN=Li Si"), ee_key.pub, ca_name,
                                         ca_key.signer, false, std::nullopt, Days(-1), Days(365))));
};

// A minimal valid request for one CertID, built by hand (DER, no nonce unless
// given).
inline Bytes HandmadeRequest(const OcspCertId& id, std::optional<Bytes> nonce = std::nullopt) {
  Bytes cert_id =
      der::Sequence({der::Sequence({der::OidLiteral(id.hash_oid), der::Null()}),
                     der::OctetString(id.issuer_name_hash), der::OctetString(id.issuer_key_hash),
                     der::IntegerFromUnsigned(id.serial)});
  std::vector<Bytes> tbs{der::Sequence({der::Sequence({cert_id})})};
  if (nonce) {
    Bytes ext = der::Sequence(
        {der::OidLiteral(oid::kOcspNonce), der::OctetString(der::OctetString(*nonce))});
    tbs.push_back(der::Explicit(2, der::Sequence({ext})));
  }
  return der::Sequence({der::Sequence(tbs)});
}

}  // namespace gmpki::x509::testing
