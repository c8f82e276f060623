// PKCS#7 "certs-only" messages (RFC 2315 section 9.1 degenerate SignedData: no content, no
// signers), the usual way to hand a certificate chain to clients (.p7b).
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "x509/certificate.h"

namespace gmpki::x509 {

// ContentInfo { signedData, SignedData { version 1, digestAlgorithms {}, contentInfo { data },
// certificates [0] (in the given order), signerInfos {} } }. kInvalidArgument if empty.
Result<Bytes> BuildCertsOnlyPkcs7(const std::vector<Certificate>& certs);
// The same, PEM with label "PKCS7".
Result<std::string> BuildCertsOnlyPkcs7Pem(const std::vector<Certificate>& certs);
// Certificates of a PKCS#7 SignedData (PEM or DER); signer infos, if any, are ignored.
Result<std::vector<Certificate>> ParsePkcs7Certificates(ByteView data);

}  // namespace gmpki::x509
