// What the CMP service reads from a PKIMessage without OpenSSL (RFC 4210 §5.1), and the
// unprotected error message it sends when it cannot trust a request enough to protect an answer
// (RFC 9483 §3.6.4). Our own bounded DER reader (x509/der.h) does the parsing.
#pragma once

#include <cstdint>
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

}  // namespace gmpki::cmp
