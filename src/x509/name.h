// X.501 Name (RFC 5280 section 4.1.2.4) as an ordered list of attributes, with exact DER.
//
// Building: one attribute per RDN, in the order given; values are UTF8String except C,
// SERIALNUMBER and DC/emailAddress (PrintableString / IA5String, RFC 5280 Appendix A).
// Parsing keeps the received DER unchanged (name chaining compares DER, not text).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace gmpki::x509 {

struct NameAttribute {
  // Short name when known ("C", "ST", "L", "O", "OU", "CN", "SERIALNUMBER", "STREET",
  // "title", "GN", "SN", "emailAddress", "DC", "UID"), else the dotted OID.
  std::string type;
  std::string value;  // UTF-8
  bool operator==(const NameAttribute&) const = default;
};

class Name {
 public:
  // The empty Name (an empty SEQUENCE).
  Name();

  // kInvalidArgument for an unknown short name, an empty value, C that is not two
  // PrintableString letters, or a value outside its string type's alphabet.
  static Result<Name> FromAttributes(const std::vector<NameAttribute>& attributes);
  // "C=CN,O=MOHRSS,CN=Zhang San" in encoding order (first = outermost RDN). Types are short
  // names (case-insensitive) or dotted OIDs; ',', '+', '=', '\\' and '"' in values are
  // escaped with a backslash (RFC 4514 section 2.4). Spaces around ',' and '=' are dropped.
  static Result<Name> Parse(std::string_view text);
  // kMalformedInput when `der` is not exactly one DER Name. Multi-valued RDNs are accepted;
  // their attributes are listed in order.
  static Result<Name> FromDer(ByteView der);

  const Bytes& der() const { return der_; }
  const std::vector<NameAttribute>& attributes() const { return attributes_; }
  bool empty() const { return attributes_.empty(); }
  // First value of `type` (short name or dotted OID), if present.
  std::optional<std::string> Get(std::string_view type) const;

  // "C=CN,O=MOHRSS,CN=Zhang San": encoding order, RFC 4514 escaping; Parse(ToString()) gives
  // the same attributes.
  std::string ToString() const;
  // RFC 4514 section 2.1 order (last RDN first): "CN=Zhang San,O=MOHRSS,C=CN".
  std::string ToRfc4514() const;

  // DER equality (RFC 5280 section 7.1 comparison is not attempted).
  bool operator==(const Name& o) const { return der_ == o.der_; }

 private:
  Bytes der_;
  std::vector<NameAttribute> attributes_;
};

}  // namespace gmpki::x509
