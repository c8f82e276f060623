// Reading and writing the signature protection of a PKIMessage (RFC 4210 §5.1.3.3) on our own
// DER code, so that the SM2 signature uses the GM/T 0009 default ID: OpenSSL 3.0's CMP code
// signs and verifies SM2 protection with the empty ID only.
//
//   PKIMessage ::= SEQUENCE { header PKIHeader, body PKIBody,
//                             protection [0] PKIProtection OPTIONAL,
//                             extraCerts [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL }
//   PKIHeader ::= SEQUENCE { pvno, sender GeneralName, recipient GeneralName,
//                            messageTime [0], protectionAlg [1], senderKID [2], recipKID [3],
//                            transactionID [4], senderNonce [5], recipNonce [6], freeText [7],
//                            generalInfo [8] }   -- all optional fields EXPLICIT (RFC 4210 App. F)
#include <map>

#include "services/cmp/cmp_message.h"
#include "x509/der.h"

namespace gmpki::cmp {
namespace {

namespace der = x509::der;

Error Malformed(const std::string& what) {
  return Error(ErrorCode::kMalformedInput, "not a CMP PKIMessage: " + what);
}

struct Parts {
  der::Element header;
  der::Element body;
  std::optional<der::Element> protection;
  std::optional<der::Element> extra_certs;
};

Result<Parts> Split(ByteView message) {
  auto outer = der::ParseSingle(message);
  if (!outer.ok() || outer->tag != der::kSequence) return Malformed("no outer SEQUENCE");
  der::Reader m(outer->content);
  Parts p;
  auto header = m.Expect(der::kSequence);
  if (!header.ok()) return Malformed("no PKIHeader");
  p.header = *header;
  auto body = m.Next();
  if (!body.ok() || (body->tag & 0xe0) != 0xa0) return Malformed("no PKIBody");
  p.body = *body;
  auto prot = m.Optional(der::ContextConstructed(0));
  if (!prot.ok()) return Malformed("bad protection");
  p.protection = *prot;
  auto extra = m.Optional(der::ContextConstructed(1));
  if (!extra.ok()) return Malformed("bad extraCerts");
  p.extra_certs = *extra;
  if (!m.empty()) return Malformed("trailing data after extraCerts");
  return p;
}

}  // namespace

Result<ReceivedProtection> ReadProtection(ByteView message) {
  GMPKI_ASSIGN_OR_RETURN(auto p, Split(message));
  ReceivedProtection out;
  out.protected_part = der::Sequence({Bytes(p.header.whole.begin(), p.header.whole.end()),
                                      Bytes(p.body.whole.begin(), p.body.whole.end())});
  if (p.protection) {
    auto bits = der::ParseSingle(p.protection->content);
    if (!bits.ok() || bits->tag != der::kBitString) {
      return Malformed("protection is not a BIT STRING");
    }
    std::uint8_t unused = 0;
    GMPKI_ASSIGN_OR_RETURN(auto value, der::ParseBitString(*bits, &unused));
    if (unused != 0) return Malformed("protection has unused bits");
    out.protection.assign(value.begin(), value.end());
  }
  if (p.extra_certs) {
    auto seq = der::ParseSingle(p.extra_certs->content);
    if (!seq.ok() || seq->tag != der::kSequence) return Malformed("extraCerts is not a SEQUENCE");
    der::Reader r(seq->content);
    while (!r.empty()) {
      auto cert = r.Expect(der::kSequence);
      if (!cert.ok()) return Malformed("extraCerts holds a non-certificate");
      out.extra_certs.emplace_back(cert->whole.begin(), cert->whole.end());
    }
  }
  return out;
}

Result<Bytes> AddSignatureProtection(ByteView message, ByteView sender_name_der,
                                     ByteView sender_kid, const std::vector<Bytes>& extra_certs,
                                     const ProtectionSigner& sign) {
  GMPKI_ASSIGN_OR_RETURN(auto p, Split(message));
  der::Reader h(p.header.content);
  auto pvno = h.Expect(der::kInteger);
  auto sender = pvno.ok() ? h.Next() : pvno;
  auto recipient = sender.ok() ? h.Next() : sender;
  if (!recipient.ok()) return Malformed("no pvno/sender/recipient");
  // The optional fields by tag number; [1] and [2] are replaced, the rest kept as received.
  std::map<int, Bytes> fields;
  while (!h.empty()) {
    auto f = h.Next();
    if (!f.ok() || (f->tag & 0xe0) != 0xa0) return Malformed("unexpected header field");
    int n = f->tag & 0x1f;
    if (fields.count(n) != 0) return Malformed("repeated header field");
    fields[n] = Bytes(f->whole.begin(), f->whole.end());
  }
  GMPKI_ASSIGN_OR_RETURN(auto alg_oid, der::Oid(kOidSm2WithSm3));
  // GM/T 0010 / RFC 8998-style AlgorithmIdentifier for SM2-with-SM3: parameters absent.
  fields[1] = der::Explicit(1, der::Sequence({alg_oid}));
  if (sender_kid.empty()) {
    fields.erase(2);
  } else {
    fields[2] = der::Explicit(2, der::OctetString(sender_kid));
  }
  // RFC 4210 §5.1.1: with signature protection the sender is the subject of the protecting
  // certificate (directoryName [4]).
  std::vector<Bytes> header{Bytes(pvno->whole.begin(), pvno->whole.end()),
                            der::Explicit(4, sender_name_der),
                            Bytes(recipient->whole.begin(), recipient->whole.end())};
  for (auto& [n, f] : fields) header.push_back(std::move(f));  // std::map: ascending tags
  Bytes header_der = der::Sequence(header);
  Bytes body_der(p.body.whole.begin(), p.body.whole.end());
  Bytes protected_part = der::Sequence({header_der, body_der});
  GMPKI_ASSIGN_OR_RETURN(auto signature, sign(protected_part));
  std::vector<Bytes> msg{header_der, body_der, der::Explicit(0, der::BitString(signature))};
  if (!extra_certs.empty()) msg.push_back(der::Explicit(1, der::Sequence(extra_certs)));
  return der::Sequence(msg);
}

}  // namespace gmpki::cmp
