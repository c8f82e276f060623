// PEM (RFC 7468) encoding and decoding of DER objects.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace gmpki::x509 {

inline constexpr std::string_view kPemCertificate = "CERTIFICATE";
inline constexpr std::string_view kPemCsr = "CERTIFICATE REQUEST";
inline constexpr std::string_view kPemCrl = "X509 CRL";
inline constexpr std::string_view kPemPkcs7 = "PKCS7";
inline constexpr std::string_view kPemCtl = "GMPKI CERTIFICATE TRUST LIST";

// "-----BEGIN label-----", base64 in 64-column lines, "-----END label-----\n".
std::string PemEncode(std::string_view label, ByteView der);
// All blocks with `label`, in order; blocks with other labels and text between blocks are
// skipped. kMalformedInput if a block with `label` is broken or none is found.
Result<std::vector<Bytes>> PemDecodeAll(std::string_view text, std::string_view label);
// Exactly the first block with `label`.
Result<Bytes> PemDecode(std::string_view text, std::string_view label);
// True if `data` starts (after whitespace) with "-----BEGIN ".
bool LooksLikePem(ByteView data);

}  // namespace gmpki::x509
