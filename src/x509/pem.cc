#include "x509/pem.h"

#include <cctype>

namespace gmpki::x509 {

std::string PemEncode(std::string_view label, ByteView der) {
  std::string b64 = Base64Encode(der);
  std::string out = "-----BEGIN " + std::string(label) + "-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) {
    out += b64.substr(i, 64);
    out += '\n';
  }
  out += "-----END " + std::string(label) + "-----\n";
  return out;
}

Result<std::vector<Bytes>> PemDecodeAll(std::string_view text, std::string_view label) {
  const std::string begin = "-----BEGIN " + std::string(label) + "-----";
  const std::string end = "-----END " + std::string(label) + "-----";
  std::vector<Bytes> out;
  std::size_t pos = 0;
  while ((pos = text.find(begin, pos)) != std::string_view::npos) {
    std::size_t body = pos + begin.size();
    std::size_t stop = text.find(end, body);
    if (stop == std::string_view::npos) {
      return Error(ErrorCode::kMalformedInput, "PEM: missing " + end);
    }
    std::string_view b64 = text.substr(body, stop - body);
    if (b64.find("-----") != std::string_view::npos || b64.find(':') != std::string_view::npos) {
      return Error(ErrorCode::kMalformedInput, "PEM: nested boundary or headers in " +
                                                   std::string(label) + " block");
    }
    auto der = Base64Decode(b64);
    if (!der || der->empty()) {
      return Error(ErrorCode::kMalformedInput, "PEM: bad base64 in " + std::string(label));
    }
    out.push_back(std::move(der).value());
    pos = stop + end.size();
  }
  if (out.empty()) {
    return Error(ErrorCode::kMalformedInput, "PEM: no " + std::string(label) + " block");
  }
  return out;
}

Result<Bytes> PemDecode(std::string_view text, std::string_view label) {
  GMPKI_ASSIGN_OR_RETURN(auto all, PemDecodeAll(text, label));
  return std::move(all.front());
}

bool LooksLikePem(ByteView data) {
  std::size_t i = 0;
  while (i < data.size() && std::isspace(data[i])) ++i;
  static constexpr std::string_view kBegin = "-----BEGIN ";
  return data.size() - i >= kBegin.size() &&
         std::string_view(reinterpret_cast<const char*>(data.data()) + i, kBegin.size()) == kBegin;
}

}  // namespace gmpki::x509
