// How a registration system (RA) reaches its CA (LD/T 02.1 §7.3.2; CA-01, HI-03, HI-05).
//
// The RA service (services/ra) talks to the CA only through this interface. Two
// implementations:
//   - LocalCaGateway (local_gateway.h): the CA runs in the same process (all-in-one demo,
//     ministry node running both roles); calls CaService directly as the RA's system actor.
//   - RemoteCaGateway (remote_gateway.h): a CA on another node, over mutually authenticated
//     TLS; every request is signed by the RA's SM2 key and kept by the CA as evidence.
//
// Every issuing or revoking call carries a request ID chosen by the RA, unique per RA: the CA
// executes a request ID at most once and answers a resubmission with the first result
// (kConflict if the same ID comes back with a different request).
//
// Thread safety: implementations are thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "services/ca/ca_service.h"
#include "x509/crl.h"

namespace gmpki::ra {

// One item of IssueMany.
struct GatewayIssue {
  std::string request_id;  // 1..128 of [A-Za-z0-9._:-]
  ca::IssueRequest request;
};

class CaGateway {
 public:
  virtual ~CaGateway() = default;

  // The name the CA knows this RA by (audit actor "ra:<name>" on the CA side).
  virtual std::string RaName() const = 0;

  virtual Result<ca::IssuedCertificate> Issue(const std::string& request_id,
                                              const ca::IssueRequest& request) = 0;
  // Many issuances in one round trip; one result per item, in order. One bad item does not
  // fail the others. A transport failure fails every item with the same error.
  virtual std::vector<Result<ca::IssuedCertificate>> IssueMany(
      const std::vector<GatewayIssue>& items) = 0;
  virtual Result<ca::IssuedCertificate> Renew(const std::string& request_id, const std::string& ca,
                                              const std::string& serial_hex,
                                              std::optional<int> validity_days) = 0;
  virtual Status Revoke(const std::string& request_id, const std::string& ca,
                        const std::string& serial_hex, x509::RevocationReason reason) = 0;
  // Dual certificates (LD/T 02.1 §7.3.2; KM-03): the encryption certificate for the good
  // signing certificate `request.sign_serial`, with the KM's key envelopes (encrypted to that
  // certificate's key). request.request_key is ignored: the CA key is "ra:<ra>:<request_id>",
  // so a resubmission returns the same certificate and key. kFailedPrecondition when the CA has
  // no key management centre.
  virtual Result<ca::DualIssued> IssueEncryption(const std::string& request_id,
                                                 const ca::EncryptionIssueRequest& request) = 0;
  // Subscriber key recovery (KM-06), after the RA's identity checks: the key of the good
  // encryption certificate `enc_serial` enveloped to the good signing certificate `sign_serial`
  // of the same subject (the new carrier).
  virtual Result<ca::KmKeyDelivery> RecoverEncryptionKey(const std::string& request_id,
                                                         const std::string& ca,
                                                         const std::string& enc_serial,
                                                         const std::string& sign_serial) = 0;
  // The certificate's current record (status, revocation) as the CA has it.
  virtual Result<ca::CertRecord> GetCertificate(const std::string& ca,
                                                const std::string& serial_hex) = 0;
  // The CA's chain, DER, the CA first and the root last.
  virtual Result<std::vector<Bytes>> CaChain(const std::string& ca) = 0;
};

}  // namespace gmpki::ra
