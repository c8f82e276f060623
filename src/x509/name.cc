#include "x509/name.h"

#include <algorithm>
#include <cctype>

#include "x509/der.h"

namespace gmpki::x509 {
namespace {

enum class StringKind { kUtf8, kPrintable, kIa5 };

struct AttributeType {
  std::string_view short_name;
  std::string_view oid;
  StringKind kind;
};

// RFC 5280 Appendix A / RFC 4519. C and serialNumber are PrintableString, emailAddress and
// domainComponent IA5String; the DirectoryString types use UTF8String (RFC 5280 section
// 4.1.2.6: "CAs conforming to this profile MUST use either the PrintableString or
// UTF8String encoding of DirectoryString").
constexpr AttributeType kTypes[] = {
    {"C", "2.5.4.6", StringKind::kPrintable},
    {"ST", "2.5.4.8", StringKind::kUtf8},
    {"L", "2.5.4.7", StringKind::kUtf8},
    {"O", "2.5.4.10", StringKind::kUtf8},
    {"OU", "2.5.4.11", StringKind::kUtf8},
    {"CN", "2.5.4.3", StringKind::kUtf8},
    {"SERIALNUMBER", "2.5.4.5", StringKind::kPrintable},
    {"STREET", "2.5.4.9", StringKind::kUtf8},
    {"title", "2.5.4.12", StringKind::kUtf8},
    {"GN", "2.5.4.42", StringKind::kUtf8},
    {"SN", "2.5.4.4", StringKind::kUtf8},
    {"emailAddress", "1.2.840.113549.1.9.1", StringKind::kIa5},
    {"DC", "0.9.2342.19200300.100.1.25", StringKind::kIa5},
    {"UID", "0.9.2342.19200300.100.1.1", StringKind::kUtf8},
};

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

const AttributeType* ByName(std::string_view type) {
  for (const auto& t : kTypes) {
    if (IEquals(t.short_name, type) || t.oid == type) return &t;
  }
  return nullptr;
}

bool IsDottedOid(std::string_view s) {
  return !s.empty() && std::isdigit(static_cast<unsigned char>(s[0])) && der::Oid(s).ok();
}

std::string Escape(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    bool special = std::string_view(",+\"\\<>;=").find(c) != std::string_view::npos ||
                   (i == 0 && (c == '#' || c == ' ')) || (i + 1 == v.size() && c == ' ');
    if (special) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string Trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && s[b] == ' ') ++b;
  while (e > b && s[e - 1] == ' ') --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

Name::Name() : der_{der::kSequence, 0x00} {}

Result<Name> Name::FromAttributes(const std::vector<NameAttribute>& attributes) {
  std::vector<Bytes> rdns;
  Name n;
  for (const auto& a : attributes) {
    if (a.value.empty()) {
      return Error(ErrorCode::kInvalidArgument, "empty value for name attribute " + a.type);
    }
    const AttributeType* t = ByName(a.type);
    std::string oid;
    StringKind kind = StringKind::kUtf8;
    std::string type = a.type;
    if (t) {
      oid = std::string(t->oid);
      kind = t->kind;
      type = std::string(t->short_name);
    } else if (IsDottedOid(a.type)) {
      oid = a.type;
    } else {
      return Error(ErrorCode::kInvalidArgument, "unknown name attribute type: " + a.type);
    }
    Bytes value;
    if (kind == StringKind::kPrintable) {
      GMPKI_ASSIGN_OR_RETURN(value, der::PrintableString(a.value));
    } else if (kind == StringKind::kIa5) {
      GMPKI_ASSIGN_OR_RETURN(value, der::Ia5String(a.value));
    } else {
      value = der::Utf8String(a.value);
    }
    auto alpha = [](char ch) { return std::isalpha(static_cast<unsigned char>(ch)) != 0; };
    if (type == "C" && (a.value.size() != 2 || !alpha(a.value[0]) || !alpha(a.value[1]))) {
      return Error(ErrorCode::kInvalidArgument, "C must be a two-letter country code");
    }
    GMPKI_ASSIGN_OR_RETURN(Bytes oid_der, der::Oid(oid));
    rdns.push_back(der::SetOf({der::Sequence({oid_der, value})}));
    n.attributes_.push_back({type, a.value});
  }
  n.der_ = der::Sequence(rdns);
  return n;
}

Result<Name> Name::Parse(std::string_view text) {
  std::vector<NameAttribute> attrs;
  std::string cur;
  std::string type;
  bool in_value = false;
  auto flush = [&]() -> Status {
    if (!in_value) {
      if (Trim(cur).empty() && attrs.empty() && type.empty()) return OkStatus();
      return Error(ErrorCode::kInvalidArgument, "name component without '=': " + cur);
    }
    attrs.push_back({Trim(type), Trim(cur)});
    cur.clear();
    type.clear();
    in_value = false;
    return OkStatus();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (i + 1 >= text.size()) return Error(ErrorCode::kInvalidArgument, "dangling '\\'");
      cur.push_back(text[++i]);
    } else if (c == '=' && !in_value) {
      type = cur;
      cur.clear();
      in_value = true;
    } else if (c == ',') {
      GMPKI_RETURN_IF_ERROR(flush());
    } else if (c == '+') {
      return Error(ErrorCode::kInvalidArgument, "multi-valued RDNs are not supported");
    } else {
      cur.push_back(c);
    }
  }
  if (in_value || !Trim(cur).empty()) GMPKI_RETURN_IF_ERROR(flush());
  return FromAttributes(attrs);
}

Result<Name> Name::FromDer(ByteView der) {
  GMPKI_ASSIGN_OR_RETURN(der::Element seq, der::ParseSingle(der));
  if (seq.tag != der::kSequence) return Error(ErrorCode::kMalformedInput, "Name: not a SEQUENCE");
  Name n;
  n.der_.assign(der.begin(), der.end());
  der::Reader rdns(seq.content);
  while (!rdns.empty()) {
    GMPKI_ASSIGN_OR_RETURN(der::Element set, rdns.Expect(der::kSet));
    der::Reader atvs(set.content);
    if (atvs.empty()) return Error(ErrorCode::kMalformedInput, "Name: empty RDN");
    while (!atvs.empty()) {
      GMPKI_ASSIGN_OR_RETURN(der::Element atv, atvs.Expect(der::kSequence));
      der::Reader r(atv.content);
      GMPKI_ASSIGN_OR_RETURN(der::Element oid, r.Expect(der::kOid));
      GMPKI_ASSIGN_OR_RETURN(der::Element value, r.Next());
      GMPKI_RETURN_IF_ERROR(r.ExpectEnd());
      GMPKI_ASSIGN_OR_RETURN(std::string oid_text, der::OidToString(oid.content));
      auto text = der::ParseString(value);
      std::string v = text ? *text : "#" + HexEncode(value.whole);  // RFC 4514 section 2.4
      const AttributeType* t = ByName(oid_text);
      n.attributes_.push_back({t ? std::string(t->short_name) : oid_text, v});
    }
  }
  return n;
}

std::optional<std::string> Name::Get(std::string_view type) const {
  const AttributeType* t = ByName(type);
  for (const auto& a : attributes_) {
    if (t ? a.type == t->short_name : a.type == type) return a.value;
  }
  return std::nullopt;
}

std::string Name::ToString() const {
  std::string out;
  for (const auto& a : attributes_) {
    if (!out.empty()) out += ',';
    out += a.type + "=" + Escape(a.value);
  }
  return out;
}

std::string Name::ToRfc4514() const {
  std::string out;
  for (auto it = attributes_.rbegin(); it != attributes_.rend(); ++it) {
    if (!out.empty()) out += ',';
    out += it->type + "=" + Escape(it->value);
  }
  return out;
}

}  // namespace gmpki::x509
