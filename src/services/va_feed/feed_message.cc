#include "services/va_feed/feed_message.h"

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "crypto/sm3.h"
#include "x509/certificate.h"
#include "x509/pem.h"

namespace gmpki::va_feed {
namespace {

constexpr std::string_view kMagic = "GMVF";
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kMaxHeaderBytes = 1u << 20;
// GM/T 0009-2012 §10: the default distinguishing ID, the same as every other gmpki signature.
constexpr std::string_view kSignerId = crypto::kDefaultSm2Id;
constexpr int kMaxReason = 10;  // RFC 5280 §5.3.1 aACompromise

void PutU32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

void PutVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutBytes(std::string& out, ByteView b) {
  PutVarint(out, b.size());
  out.append(reinterpret_cast<const char*>(b.data()), b.size());
}

// Bounded reader over the body: every read checks the remaining length (one parser, one
// buffer, no unchecked offsets).
class Reader {
 public:
  explicit Reader(std::string_view data) : p_(data) {}
  bool ok() const { return ok_; }
  bool done() const { return p_.empty(); }
  std::uint8_t U8() {
    if (p_.empty()) return Fail();
    auto v = static_cast<std::uint8_t>(p_[0]);
    p_.remove_prefix(1);
    return v;
  }
  std::uint64_t Varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_.empty()) return Fail();
      auto b = static_cast<std::uint8_t>(p_[0]);
      p_.remove_prefix(1);
      if (shift == 63 && (b & 0x7e)) return Fail();  // beyond 64 bits
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return Fail();
  }
  std::int64_t NonNegative() {
    std::uint64_t v = Varint();
    if (v > static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(Fail());
    return static_cast<std::int64_t>(v);
  }
  std::string_view Take(std::size_t n) {
    if (n > p_.size()) {
      Fail();
      return {};
    }
    auto v = p_.substr(0, n);
    p_.remove_prefix(n);
    return v;
  }
  std::string_view LengthPrefixed() { return Take(static_cast<std::size_t>(Varint())); }

 private:
  std::uint8_t Fail() {
    ok_ = false;
    p_ = {};
    return 0;
  }
  std::string_view p_;
  bool ok_ = true;
};

std::uint32_t GetU32(std::string_view s) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(s[i]);
  return v;
}

// serial_hex (canonical: upper-case, no leading zeros) <-> its big-endian octets.
Result<Bytes> SerialOctets(const std::string& hex) {
  if (hex.empty() || hex.size() > 40 || hex[0] == '0') {
    return Error(ErrorCode::kInvalidArgument, "serial '" + hex + "' is not canonical hex");
  }
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
      return Error(ErrorCode::kInvalidArgument, "serial '" + hex + "' is not upper-case hex");
    }
  }
  return HexDecode(hex.size() % 2 ? "0" + hex : hex);
}

std::string SerialHex(std::string_view octets) {
  std::string hex = HexEncode(AsBytes(octets), /*upper=*/true);
  return hex[0] == '0' ? hex.substr(1) : hex;
}

Result<va::CertState> StateFromChar(std::uint8_t c) {
  switch (c) {
    case 'g':
      return va::CertState::kGood;
    case 'r':
      return va::CertState::kRevoked;
    case 'h':
      return va::CertState::kHold;
    default:
      return Error(ErrorCode::kMalformedInput, "unknown certificate state");
  }
}

// The body (README "Message format"): a CA name table, then issuers, statuses, CRLs, each
// naming its CA by index in the table.
Result<std::string> EncodeBody(const FeedMessage& m) {
  std::map<std::string, std::uint64_t> index;
  std::vector<const std::string*> names;
  auto idx = [&](const std::string& ca) {
    auto [it, fresh] = index.emplace(ca, names.size());
    if (fresh) names.push_back(&it->first);
    return it->second;
  };
  for (const auto& i : m.issuers) idx(i.ca);
  for (const auto& s : m.statuses) idx(s.ca);
  for (const auto& c : m.crls) idx(c.ca);
  std::string out;
  std::size_t est = 64;
  for (const auto& s : m.statuses) est += EstimatedSize(s);
  for (const auto& i : m.issuers) est += i.cert_der.size() + 8;
  for (const auto& c : m.crls) est += c.der.size() + 32;
  out.reserve(est);
  PutVarint(out, names.size());
  for (const auto* n : names) {
    if (n->empty() || n->size() > 255) {
      return Error(ErrorCode::kInvalidArgument, "CA name must be 1..255 bytes");
    }
    PutBytes(out, AsBytes(*n));
  }
  PutVarint(out, m.issuers.size());
  for (const auto& i : m.issuers) {
    PutVarint(out, index[i.ca]);
    PutBytes(out, i.cert_der);
  }
  PutVarint(out, m.statuses.size());
  const std::string* last_ca = nullptr;
  std::uint64_t last_idx = 0;
  for (const auto& s : m.statuses) {
    if (last_ca == nullptr || *last_ca != s.ca) {
      last_idx = index[s.ca];
      last_ca = &s.ca;
    }
    GMPKI_ASSIGN_OR_RETURN(Bytes serial, SerialOctets(s.serial_hex));
    if (s.reason < -1 || s.reason > kMaxReason || s.revoked_unix < 0 || s.not_after < 0) {
      return Error(ErrorCode::kInvalidArgument,
                   "status record of " + s.serial_hex + " out of range");
    }
    PutVarint(out, last_idx);
    PutBytes(out, serial);
    out.push_back(static_cast<char>(s.state));
    out.push_back(static_cast<char>(s.reason + 1));
    PutVarint(out, static_cast<std::uint64_t>(s.revoked_unix));
    PutVarint(out, static_cast<std::uint64_t>(s.not_after));
  }
  PutVarint(out, m.crls.size());
  for (const auto& c : m.crls) {
    if (c.partition < -1) return Error(ErrorCode::kInvalidArgument, "CRL partition below -1");
    PutVarint(out, index[c.ca]);
    PutVarint(out, static_cast<std::uint64_t>(c.partition + 1));
    out.push_back(c.delta ? 1 : 0);
    PutVarint(out, c.number);
    PutVarint(out, c.delta_base);
    PutBytes(out, c.der);
  }
  return out;
}

Status DecodeBody(std::string_view body, std::size_t max_records, FeedMessage& m) {
  Reader r(body);
  auto bad = [](const char* what) {
    return Error(ErrorCode::kMalformedInput, std::string("feed body: ") + what);
  };
  std::uint64_t n_names = r.Varint();
  if (!r.ok() || n_names > body.size()) return bad("CA name table");
  std::vector<std::string> names;
  names.reserve(n_names);
  for (std::uint64_t i = 0; i < n_names; ++i) {
    auto n = r.LengthPrefixed();
    if (!r.ok() || n.empty() || n.size() > 255) return bad("CA name");
    names.emplace_back(n);
  }
  auto name = [&](std::uint64_t i) -> const std::string* {
    return i < names.size() ? &names[i] : nullptr;
  };
  std::size_t total = 0;
  // Counts are bounded by the body size before anything is reserved for them.
  auto count = [&](std::uint64_t n, const char* what) -> Status {
    if (!r.ok() || n > body.size()) return bad(what);
    if (total + n > max_records)
      return Error(ErrorCode::kTooLarge, "feed message holds too many records");
    total += n;
    return OkStatus();
  };
  std::uint64_t n_issuers = r.Varint();
  GMPKI_RETURN_IF_ERROR(count(n_issuers, "issuer count"));
  m.issuers.reserve(n_issuers);
  for (std::uint64_t i = 0; i < n_issuers; ++i) {
    const std::string* ca = name(r.Varint());
    auto der = r.LengthPrefixed();
    if (!r.ok() || !ca || der.empty()) return bad("issuer record");
    m.issuers.push_back(va::IssuerRecord{*ca, Bytes(der.begin(), der.end())});
  }
  std::uint64_t n_status = r.Varint();
  GMPKI_RETURN_IF_ERROR(count(n_status, "status count"));
  m.statuses.resize(n_status);
  for (auto& s : m.statuses) {
    const std::string* ca = name(r.Varint());
    auto serial = r.LengthPrefixed();
    std::uint8_t state = r.U8();
    int reason = static_cast<int>(r.U8()) - 1;
    s.revoked_unix = r.NonNegative();
    s.not_after = r.NonNegative();
    if (!r.ok() || !ca) return bad("status record");
    // Canonical serials only: 1..20 octets, not starting with a zero octet (serials are
    // positive, RFC 5280 §4.1.2.2, and serial_hex carries no leading zeros).
    if (serial.empty() || serial.size() > 20 || serial[0] == '\0') {
      return bad("serial number");
    }
    auto st = StateFromChar(state);
    if (!st.ok() || reason > kMaxReason) return bad("state or reason");
    s.ca = *ca;
    s.serial_hex = SerialHex(serial);
    s.state = *st;
    s.reason = reason;
  }
  std::uint64_t n_crls = r.Varint();
  GMPKI_RETURN_IF_ERROR(count(n_crls, "CRL count"));
  m.crls.resize(n_crls);
  for (auto& c : m.crls) {
    const std::string* ca = name(r.Varint());
    std::uint64_t part = r.Varint();
    std::uint8_t delta = r.U8();
    c.number = r.Varint();
    c.delta_base = r.Varint();
    auto der = r.LengthPrefixed();
    if (!r.ok() || !ca || delta > 1 || der.empty() ||
        part > static_cast<std::uint64_t>(INT64_MAX)) {
      return bad("CRL record");
    }
    c.ca = *ca;
    c.partition = static_cast<std::int64_t>(part) - 1;
    c.delta = delta == 1;
    c.der.assign(der.begin(), der.end());
  }
  if (!r.done()) return bad("trailing bytes");
  return OkStatus();
}

nlohmann::json HeaderJson(const FeedHeader& h) {
  nlohmann::json j{{"v", kVersion},      {"kind", std::string(KindName(h.kind))},
                   {"source", h.source}, {"seq", h.seq},
                   {"base", h.base},     {"created_ms", h.created_ms},
                   {"part", h.part},     {"last", h.last},
                   {"key_id", h.key_id}};
  if (!h.signer_chain.empty()) {
    auto chain = nlohmann::json::array();
    for (const auto& c : h.signer_chain) chain.push_back(Base64Encode(c));
    j["signer_chain"] = chain;
  }
  return j;
}

Result<FeedHeader> ParseHeader(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  auto bad = [](const std::string& what) {
    return Error(ErrorCode::kMalformedInput, "feed header: " + what);
  };
  if (!j.is_object()) return bad("not a JSON object");
  try {
    if (j.at("v").get<int>() != kVersion) return bad("unsupported version");
    FeedHeader h;
    std::string kind = j.at("kind").get<std::string>();
    if (kind == "snapshot") {
      h.kind = MessageKind::kSnapshot;
    } else if (kind == "delta") {
      h.kind = MessageKind::kDelta;
    } else {
      return bad("unknown kind '" + kind + "'");
    }
    h.source = j.at("source").get<std::string>();
    h.seq = j.at("seq").get<std::int64_t>();
    h.base = j.at("base").get<std::int64_t>();
    h.created_ms = j.at("created_ms").get<std::int64_t>();
    h.part = j.at("part").get<std::uint32_t>();
    h.last = j.at("last").get<bool>();
    h.key_id = j.at("key_id").get<std::string>();
    if (j.contains("signer_chain")) {
      for (const auto& c : j["signer_chain"]) {
        GMPKI_ASSIGN_OR_RETURN(Bytes der, Base64Decode(c.get<std::string>()));
        h.signer_chain.push_back(std::move(der));
      }
    }
    if (h.seq < 0 || h.base < 0 || (h.kind == MessageKind::kDelta && (h.part != 0 || !h.last))) {
      return bad("inconsistent sequence or part fields");
    }
    return h;
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
}

}  // namespace

std::string_view KindName(MessageKind kind) {
  return kind == MessageKind::kSnapshot ? "snapshot" : "delta";
}

std::string KeyId(const crypto::Sm2PublicKey& key) {
  auto d = crypto::Sm3(key.ToSpkiDer());
  return HexEncode(ByteView(d.data(), d.size()));
}

std::size_t EstimatedSize(const va::StatusRecord& r) { return r.serial_hex.size() / 2 + 14; }

Result<FeedSigner> DeviceFeedSigner(device::CryptoDevice& device, std::string_view key_label,
                                    std::vector<Bytes> chain) {
  GMPKI_ASSIGN_OR_RETURN(auto session, device.OpenSession());
  GMPKI_ASSIGN_OR_RETURN(auto key, session->FindKey(key_label));
  if (key.purpose != device::KeyPurpose::kSign) {
    return Error(ErrorCode::kInvalidArgument,
                 "device key '" + std::string(key_label) + "' is not a signing key");
  }
  // A Session is used by one thread at a time (device.h): the signer owns one behind a mutex.
  struct Shared {
    std::mutex mu;
    std::unique_ptr<device::Session> session;
  };
  auto shared = std::make_shared<Shared>();
  shared->session = std::move(session);
  FeedSigner s;
  s.public_key = key.public_key;
  s.chain = std::move(chain);
  s.sign_digest = [shared, index = key.index](ByteView e32) -> Result<Bytes> {
    std::lock_guard<std::mutex> lock(shared->mu);
    return shared->session->InternalSign(index, e32);
  };
  return s;
}

Result<std::string> EncodeSigned(const FeedMessage& message, const FeedSigner& signer) {
  FeedHeader h = message.header;
  h.key_id = KeyId(signer.public_key);
  h.signer_chain = signer.chain;
  std::string header = HeaderJson(h).dump();
  GMPKI_ASSIGN_OR_RETURN(std::string body, EncodeBody(message));
  if (body.size() > UINT32_MAX) return Error(ErrorCode::kTooLarge, "feed message body over 4 GiB");
  std::string out;
  out.reserve(kMagic.size() + 1 + 8 + header.size() + body.size() + 80);
  out.append(kMagic);
  out.push_back(static_cast<char>(kVersion));
  PutU32(out, static_cast<std::uint32_t>(header.size()));
  out.append(header);
  PutU32(out, static_cast<std::uint32_t>(body.size()));
  out.append(body);
  // e = SM3(Z || M) (GB/T 32918.2 §6.1), so the device signs a digest, not megabytes.
  GMPKI_ASSIGN_OR_RETURN(auto z, crypto::Sm2ComputeZ(signer.public_key, AsBytes(kSignerId)));
  crypto::Sm3Hasher hasher;
  hasher.Update(ByteView(z.data(), z.size()));
  hasher.Update(AsBytes(out));
  auto e = hasher.Final();
  GMPKI_ASSIGN_OR_RETURN(Bytes sig, signer.sign_digest(ByteView(e.data(), e.size())));
  if (sig.empty() || sig.size() > 0xffff) return Error(ErrorCode::kDeviceFailure, "signature size");
  out.push_back(static_cast<char>(sig.size() >> 8));
  out.push_back(static_cast<char>(sig.size() & 0xff));
  out.append(reinterpret_cast<const char*>(sig.data()), sig.size());
  return out;
}

Result<FeedMessage> DecodeVerified(std::string_view wire, const crypto::Sm2PublicKey& trusted,
                                   std::size_t max_records) {
  auto bad = [](const char* what) {
    return Error(ErrorCode::kMalformedInput, std::string("feed message: ") + what);
  };
  if (wire.size() < kMagic.size() + 1 + 4 || wire.substr(0, 4) != kMagic)
    return bad("not a feed message");
  if (static_cast<std::uint8_t>(wire[4]) != kVersion) return bad("unsupported version");
  std::size_t pos = 5;
  std::uint32_t header_len = GetU32(wire.substr(pos));
  pos += 4;
  if (header_len > kMaxHeaderBytes || wire.size() - pos < header_len + 4)
    return bad("header length");
  std::string_view header_text = wire.substr(pos, header_len);
  pos += header_len;
  std::uint32_t body_len = GetU32(wire.substr(pos));
  pos += 4;
  if (wire.size() - pos < static_cast<std::size_t>(body_len) + 2) return bad("body length");
  std::string_view body = wire.substr(pos, body_len);
  pos += body_len;
  std::size_t signed_len = pos;
  std::size_t sig_len =
      (static_cast<std::uint8_t>(wire[pos]) << 8) | static_cast<std::uint8_t>(wire[pos + 1]);
  pos += 2;
  if (wire.size() - pos != sig_len || sig_len == 0) return bad("signature length");
  std::string_view sig = wire.substr(pos);

  GMPKI_ASSIGN_OR_RETURN(FeedHeader header, ParseHeader(header_text));
  std::string trusted_id = KeyId(trusted);
  if (header.key_id != trusted_id) {
    return Error(ErrorCode::kUnauthenticated, "feed message signed by key " + header.key_id +
                                                  ", the trusted feed key is " + trusted_id);
  }
  GMPKI_ASSIGN_OR_RETURN(auto e, crypto::Sm2MessageDigest(trusted, AsBytes(kSignerId),
                                                          AsBytes(wire.substr(0, signed_len))));
  Status v = crypto::Sm2VerifyDigest(trusted, ByteView(e.data(), e.size()), AsBytes(sig));
  if (!v.ok()) return Error(ErrorCode::kBadSignature, "feed message signature does not verify");
  FeedMessage m;
  m.header = std::move(header);
  GMPKI_RETURN_IF_ERROR(DecodeBody(body, max_records, m));
  return m;
}

Result<crypto::Sm2PublicKey> ParseTrustedFeedKey(std::string_view pem) {
  if (auto spki = x509::PemDecode(pem, "PUBLIC KEY"); spki.ok()) {
    return crypto::Sm2PublicKey::FromSpkiDer(*spki);
  }
  if (auto cert = x509::Certificate::FromPem(pem); cert.ok()) return cert->public_key();
  return Error(ErrorCode::kInvalidArgument,
               "trusted feed key: neither a PUBLIC KEY nor a CERTIFICATE PEM");
}

}  // namespace gmpki::va_feed
