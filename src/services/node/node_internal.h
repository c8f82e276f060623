// Internal to src/services/node: helpers shared by node.cc and node_km.cc.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "device/device.h"
#include "net/tls_pki.h"
#include "services/core/roles.h"

namespace gmpki::node::internal {

// Writes a file durably (fsync); secret files are created 0600.
Status WriteFile(const std::filesystem::path& p, std::string_view data, bool secret);
Result<std::string> ReadFile(const std::filesystem::path& p);
// The passphrase of the TLS keys kept outside the device, derived inside it.
Result<SecretBytes> TlsPassphrase(device::CryptoDevice& dev);
// The deployment's TLS CA, its key decrypted with the device-derived passphrase.
Result<net::TlsIssuer> LoadTlsIssuer(const std::filesystem::path& home, device::CryptoDevice& dev);
// SM3 of a PEM certificate's DER, lower-case hex: how TLS peers are recognised.
Result<std::string> SessionFingerprint(std::string_view cert_pem);
Result<std::string> WriteOperatorCredential(const net::TlsIssuer& tls_ca, const std::string& name,
                                            services::Role role, const std::filesystem::path& dir);
// A required string member of a link request or response file.
Result<std::string> JsonString(const nlohmann::json& j, const char* key);

}  // namespace gmpki::node::internal
