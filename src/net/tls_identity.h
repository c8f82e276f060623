// Checks on TLS credentials held by an operator (the CLI's proof of possession, CC-FIA).
#pragma once

#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace gmpki::net {

// kBadSignature when the private key (decrypted with `passphrase`) is not the key certified by
// `cert_pem`; kInvalidArgument when either cannot be read (wrong passphrase included).
Status CheckKeyMatchesCertificate(std::string_view cert_pem, const SecretBytes& key_pem,
                                  ByteView passphrase);

}  // namespace gmpki::net
