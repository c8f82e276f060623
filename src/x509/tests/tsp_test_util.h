// Shared by the CMS and TSP tests: a CA and a TSA certificate (RFC 3161 section 2.3: critical
// extendedKeyUsage with only id-kp-timeStamping), built with the x509 builders.
#pragma once

#include <string>

#include "x509/cms_signed.h"
#include "x509/tests/test_util.h"
#include "x509/tsp.h"

namespace gmpki::x509::testing {

inline constexpr std::string_view kTestPolicy = "1.2.156.112233.1.7.1";

struct TsaPki {
  TestKey ca_key = NewKey();
  TestKey tsa_key = NewKey();
  Name ca_name = N("C=CN,O=MOHRSS,CN=Business CA");
  Certificate ca = Must(Certificate::FromDer(IssueTestCert(
      ca_name, ca_key.pub, ca_name, ca_key.signer, true, std::nullopt, Days(-10), Days(3650))));
  Certificate tsa = Must(Certificate::FromDer(IssueTestCert(
      N("C=CN,O=MOHRSS,CN=gmpki TSA"), tsa_key.pub, ca_name, ca_key.signer, false, std::nullopt,
      Days(-1), Days(365),
      {Must(ext::ExtKeyUsage({std::string(oid::kKpTimeStamping)}, true))})));
};

// A request for SM3(data) as openssl ts -query -sm3 would make it.
inline TimeStampReq Sm3Request(std::string_view data, std::optional<Bytes> nonce,
                               bool cert_req = true) {
  TimeStampReq r;
  r.hash_oid = std::string(oid::kSm3);
  const crypto::Sm3Digest d = crypto::Sm3(AsBytes(data));
  r.hashed_message.assign(d.begin(), d.end());
  r.nonce = std::move(nonce);
  r.cert_req = cert_req;
  return r;
}

}  // namespace gmpki::x509::testing
