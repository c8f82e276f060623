// PKIMessage reading and the unprotected error message, on the project's own DER code.
#include "services/cmp/cmp_message.h"

#include "crypto/random.h"
#include "x509/der.h"

namespace gmpki::cmp {
namespace {

namespace der = x509::der;

template <class T>
Status AsStatus(const Result<T>& r) {
  if (!r.ok()) return r.error();
  return OkStatus();
}

Error Malformed(const std::string& what) {
  return Error(ErrorCode::kMalformedInput, "not a CMP PKIMessage: " + what);
}

// PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL,
//                              failInfo PKIFailureInfo OPTIONAL }   (RFC 4210 §5.2.3)
Status ReadStatusInfo(ByteView whole, MessageInfo& out) {
  GMPKI_ASSIGN_OR_RETURN(auto seq, der::ParseSingle(whole));
  der::Reader r(seq.content);
  GMPKI_ASSIGN_OR_RETURN(auto st, r.Expect(der::kInteger));
  GMPKI_ASSIGN_OR_RETURN(auto status, der::ParseSmallInteger(st));
  out.status = static_cast<int>(status);
  GMPKI_ASSIGN_OR_RETURN(auto text, r.Optional(der::kSequence));
  if (text) {
    der::Reader t(text->content);
    while (!t.empty()) {
      GMPKI_ASSIGN_OR_RETURN(auto s, t.Next());
      GMPKI_ASSIGN_OR_RETURN(auto str, der::ParseString(s));
      if (!out.status_text.empty()) out.status_text += "; ";
      out.status_text += str;
    }
  }
  GMPKI_ASSIGN_OR_RETURN(auto fail, r.Optional(der::kBitString));
  if (fail) {
    GMPKI_ASSIGN_OR_RETURN(out.fail_info, der::ParseNamedBitString(*fail));
  }
  return OkStatus();
}

// CertRepMessage ::= SEQUENCE { caPubs [1] ... OPTIONAL, response SEQUENCE OF CertResponse }
Status ReadCertRep(ByteView content, MessageInfo& out) {
  der::Reader r(content);
  GMPKI_ASSIGN_OR_RETURN(auto rep, r.Expect(der::kSequence));
  der::Reader rr(rep.content);
  GMPKI_RETURN_IF_ERROR(AsStatus(rr.Optional(der::ContextConstructed(1))));
  GMPKI_ASSIGN_OR_RETURN(auto responses, rr.Expect(der::kSequence));
  der::Reader list(responses.content);
  if (list.empty()) return OkStatus();
  GMPKI_ASSIGN_OR_RETURN(auto resp, list.Expect(der::kSequence));
  der::Reader one(resp.content);
  GMPKI_RETURN_IF_ERROR(AsStatus(one.Expect(der::kInteger)));
  GMPKI_ASSIGN_OR_RETURN(auto si, one.Expect(der::kSequence));
  GMPKI_RETURN_IF_ERROR(ReadStatusInfo(si.whole, out));
  GMPKI_ASSIGN_OR_RETURN(auto ckp, one.Optional(der::kSequence));
  if (ckp) {
    der::Reader k(ckp->content);
    GMPKI_ASSIGN_OR_RETURN(auto coe, k.Next());
    if (coe.tag == der::ContextConstructed(0)) {
      GMPKI_ASSIGN_OR_RETURN(auto cert, der::ParseSingle(coe.content));
      out.certificates.emplace_back(cert.whole.begin(), cert.whole.end());
    }
  }
  return OkStatus();
}

Status ReadGenp(ByteView content, MessageInfo& out) {
  GMPKI_ASSIGN_OR_RETURN(auto seq, der::ParseSingle(content));
  der::Reader r(seq.content);
  while (!r.empty()) {
    GMPKI_ASSIGN_OR_RETURN(auto itav, r.Expect(der::kSequence));
    der::Reader i(itav.content);
    GMPKI_ASSIGN_OR_RETURN(auto type, i.Expect(der::kOid));
    GMPKI_ASSIGN_OR_RETURN(auto oid, der::OidToString(type.content));
    out.genp_types.push_back(oid);
    if (oid == kOidCaCerts && !i.empty()) {
      GMPKI_ASSIGN_OR_RETURN(auto certs, i.Expect(der::kSequence));
      der::Reader c(certs.content);
      while (!c.empty()) {
        GMPKI_ASSIGN_OR_RETURN(auto cert, c.Expect(der::kSequence));
        out.certificates.emplace_back(cert.whole.begin(), cert.whole.end());
      }
    }
  }
  return OkStatus();
}

Result<Bytes> OctetsOf(const der::Element& explicit_field) {
  GMPKI_ASSIGN_OR_RETURN(auto os, der::ParseSingle(explicit_field.content));
  if (os.tag != der::kOctetString) return Malformed("header field is not an OCTET STRING");
  return Bytes(os.content.begin(), os.content.end());
}

}  // namespace

Result<MessageInfo> ReadMessage(ByteView input) {
  auto parsed = der::ParseSingle(input);
  if (!parsed.ok() || parsed->tag != der::kSequence) return Malformed("no outer SEQUENCE");
  MessageInfo out;
  der::Reader msg(parsed->content);
  // PKIHeader (RFC 4210 §5.1.1)
  auto header = msg.Expect(der::kSequence);
  if (!header.ok()) return Malformed("no PKIHeader");
  der::Reader h(header->content);
  auto pvno = h.Expect(der::kInteger);
  if (!pvno.ok()) return Malformed("no pvno");
  GMPKI_ASSIGN_OR_RETURN(auto pv, der::ParseSmallInteger(*pvno));
  out.pvno = static_cast<int>(pv);
  auto sender = h.Next();
  auto recipient = sender.ok() ? h.Next() : sender;
  if (!recipient.ok()) return Malformed("no sender/recipient");
  out.sender_der.assign(sender->whole.begin(), sender->whole.end());
  while (!h.empty()) {
    GMPKI_ASSIGN_OR_RETURN(auto f, h.Next());
    if ((f.tag & 0xe0) != 0xa0) return Malformed("unexpected header field");
    switch (f.tag & 0x1f) {
      case 1: {
        GMPKI_ASSIGN_OR_RETURN(auto alg, der::ParseSingle(f.content));
        der::Reader a(alg.content);
        GMPKI_ASSIGN_OR_RETURN(auto oid, a.Expect(der::kOid));
        GMPKI_ASSIGN_OR_RETURN(out.protection_alg, der::OidToString(oid.content));
        break;
      }
      case 2: { GMPKI_ASSIGN_OR_RETURN(out.sender_kid, OctetsOf(f)); break; }
      case 4: { GMPKI_ASSIGN_OR_RETURN(out.transaction_id, OctetsOf(f)); break; }
      case 5: { GMPKI_ASSIGN_OR_RETURN(out.sender_nonce, OctetsOf(f)); break; }
      case 6: { GMPKI_ASSIGN_OR_RETURN(out.recip_nonce, OctetsOf(f)); break; }
      default: break;
    }
  }
  auto body = msg.Next();
  if (!body.ok() || (body->tag & 0xe0) != 0xa0) return Malformed("no PKIBody");
  out.body = body->tag & 0x1f;
  auto prot = msg.Optional(der::ContextConstructed(0));
  if (!prot.ok()) return Malformed("bad protection");
  out.protected_ = prot->has_value();
  switch (static_cast<BodyType>(out.body)) {
    case BodyType::kIp: case BodyType::kCp: case BodyType::kKup:
      GMPKI_RETURN_IF_ERROR(ReadCertRep(body->content, out));
      break;
    case BodyType::kRp: {
      GMPKI_ASSIGN_OR_RETURN(auto rep, der::ParseSingle(body->content));
      der::Reader r(rep.content);
      GMPKI_ASSIGN_OR_RETURN(auto list, r.Expect(der::kSequence));
      der::Reader l(list.content);
      GMPKI_ASSIGN_OR_RETURN(auto si, l.Expect(der::kSequence));
      GMPKI_RETURN_IF_ERROR(ReadStatusInfo(si.whole, out));
      break;
    }
    case BodyType::kError: {
      GMPKI_ASSIGN_OR_RETURN(auto emc, der::ParseSingle(body->content));
      der::Reader r(emc.content);
      GMPKI_ASSIGN_OR_RETURN(auto si, r.Expect(der::kSequence));
      GMPKI_RETURN_IF_ERROR(ReadStatusInfo(si.whole, out));
      break;
    }
    case BodyType::kGenp:
      GMPKI_RETURN_IF_ERROR(ReadGenp(body->content, out));
      break;
    default:
      break;
  }
  return out;
}

Result<Bytes> BuildErrorMessage(const MessageInfo& request, FailBit bit, const std::string& text,
                                TimePoint now) {
  GMPKI_ASSIGN_OR_RETURN(auto nonce, crypto::RandomBytes(16));
  GMPKI_ASSIGN_OR_RETURN(auto time, der::GeneralizedTime(now));
  // sender: directoryName [4] with the NULL-DN, as RFC 4210 §5.1.1 allows when the sender
  // is identified otherwise (here: it is not, the message is unprotected).
  Bytes null_dn = der::Explicit(4, der::Sequence({}));
  std::vector<Bytes> header{der::Integer(2), null_dn,
                            request.sender_der.empty() ? null_dn : request.sender_der,
                            der::Explicit(0, time)};
  header.push_back(der::Explicit(4, der::OctetString(request.transaction_id)));
  header.push_back(der::Explicit(5, der::OctetString(nonce)));
  if (!request.sender_nonce.empty()) {
    header.push_back(der::Explicit(6, der::OctetString(request.sender_nonce)));
  }
  Bytes status_info = der::Sequence({der::Integer(2 /* rejection */),
                                     der::Sequence({der::Utf8String(text)}),
                                     der::NamedBitString(1u << bit)});
  Bytes body = der::Explicit(static_cast<int>(BodyType::kError), der::Sequence({status_info}));
  return der::Sequence({der::Sequence(header), body});
}

}  // namespace gmpki::cmp
