// What the CMP service reads from a PKIMessage without OpenSSL (RFC 4210 §5.1), and the
// unprotected error message it sends when it cannot trust a request enough to protect an answer
// (RFC 9483 §3.6.4). Our own bounded DER reader (x509/der.h) does the parsing.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/result.h"

namespace gmpki::cmp {

// PKIBody CHOICE tags (RFC 4210 §5.1.2).
enum class BodyType : int {
  kIr = 0, kIp = 1, kCr = 2, kCp = 3, kP10cr = 4, kKur = 7, kKup = 8, kRr = 11, kRp = 12,
  kPkiConf = 19, kGenm = 21, kGenp = 22, kError = 23, kCertConf = 24, kPollReq = 25,
};

// PKIFailureInfo bit numbers (RFC 4210 §5.2.3).
enum FailBit : int {
  kBadAlg = 0, kBadMessageCheck = 1, kBadRequest = 2, kBadCertId = 4, kBadDataFormat = 5,
  kWrongAuthority = 6, kIncorrectData = 7, kBadPop = 9, kCertRevoked = 10, kWrongIntegrity = 12,
  kBadRecipientNonce = 13, kUnacceptedPolicy = 15, kBadSenderNonce = 18, kBadCertTemplate = 19,
  kSignerNotTrusted = 20, kTransactionIdInUse = 21, kUnsupportedVersion = 22,
  kNotAuthorized = 23, kSystemUnavail = 24, kSystemFailure = 25,
};

inline constexpr const char* kOidPasswordBasedMac = "1.2.840.113533.7.66.13";
// SM2 signature with SM3 (GM/T 0006), used as the CMP signature protectionAlg
// (RFC 4210 §5.1.3.3) with the GM/T 0009 default signer ID 1234567812345678.
inline constexpr const char* kOidSm2WithSm3 = "1.2.156.10197.1.501";
inline constexpr const char* kOidCaCerts = "1.3.6.1.5.5.7.4.17";  // id-it-caCerts

struct MessageInfo {
  int body = -1;  // BodyType value
  int pvno = 0;
  Bytes sender_der;  // the sender GeneralName as received
  std::optional<Bytes> sender_kid;
  std::optional<std::string> protection_alg;  // dotted OID
  Bytes transaction_id;
  Bytes sender_nonce;
  Bytes recip_nonce;
  bool protected_ = false;  // a protection BIT STRING is present
  // The first PKIStatusInfo of an ip/cp/kup/rp/error body.
  std::optional<int> status;
  std::uint32_t fail_info = 0;
  std::string status_text;
  // Certificates (DER): the first certificate of a certification response, or the list of a
  // genp id-it-caCerts value.
  std::vector<Bytes> certificates;
  std::vector<std::string> genp_types;  // infoType OIDs of a genp
};

// kMalformedInput unless `der` is one PKIMessage with a well-formed header.
Result<MessageInfo> ReadMessage(ByteView der);

// An unprotected PKIMessage with an ErrorMsgContent (status rejection, one failure bit and
// `text`), answering `request` (transactionID copied, recipNonce = its senderNonce).
Result<Bytes> BuildErrorMessage(const MessageInfo& request, FailBit bit, const std::string& text,
                                TimePoint now);

// The protection of a PKIMessage as received (RFC 4210 §5.1.3):
//   ProtectedPart ::= SEQUENCE { header PKIHeader, body PKIBody }
// built from the header and body octets exactly as they appear in the message.
struct ReceivedProtection {
  Bytes protected_part;             // DER ProtectedPart, the signed/MACed octets
  Bytes protection;                 // the PKIProtection BIT STRING value (empty when absent)
  std::vector<Bytes> extra_certs;   // extraCerts [1], DER certificates, in order
};
Result<ReceivedProtection> ReadProtection(ByteView message);

// Signs a DER ProtectedPart; returns the DER SM2Signature.
using ProtectionSigner = std::function<Result<Bytes>(ByteView protected_part)>;

// Re-encodes `message` with SM2-with-SM3 signature protection (RFC 4210 §5.1.3.3): in the
// header, sender := directoryName `sender_name_der` (the DER Name of the signer's certificate
// subject), protectionAlg [1] := sm2-with-sm3 (no parameters), senderKID [2] := `sender_kid`
// (RFC 9483 §3.1: the SubjectKeyIdentifier of the signer's certificate; left out when empty,
// the signer is then named by the first extraCerts certificate); every other header
// field and the body are kept byte for byte; protection [0] := sign(ProtectedPart) and
// extraCerts [1] := `extra_certs` (signer first, RFC 9483 §3.3), replacing any protection
// and extraCerts the message had. kMalformedInput for a message that is not a PKIMessage.
Result<Bytes> AddSignatureProtection(ByteView message, ByteView sender_name_der,
                                     ByteView sender_kid, const std::vector<Bytes>& extra_certs,
                                     const ProtectionSigner& sign);

}  // namespace gmpki::cmp
