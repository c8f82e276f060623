#include "services/evidence/tree_head.h"

#include <nlohmann/json.hpp>

namespace gmpki::evidence {
namespace {

using nlohmann::json;

constexpr std::string_view kBundleFormat = "gmpki-evidence-bundle-v1";

void PutU64(Bytes& out, std::uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}

std::string B64(ByteView b) { return Base64Encode(b); }
std::string B64(const NodeHash& h) { return Base64Encode(ByteView(h.data(), h.size())); }

Error Malformed(const std::string& what) {
  return Error(ErrorCode::kMalformedInput, "evidence bundle: " + what);
}

Result<std::string> GetString(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return Malformed(std::string("missing string ") + key);
  return it->get<std::string>();
}

Result<std::uint64_t> GetUnsigned(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) {
    return Malformed(std::string("missing non-negative integer ") + key);
  }
  return it->get<std::uint64_t>();
}

Result<Bytes> GetBase64(const json& j, const char* key) {
  GMPKI_ASSIGN_OR_RETURN(std::string text, GetString(j, key));
  auto b = Base64Decode(text);
  if (!b) return Malformed(std::string(key) + " is not base64");
  return std::move(*b);
}

Result<NodeHash> ToNodeHash(ByteView b, const char* what) {
  if (b.size() != kNodeHashSize) return Malformed(std::string(what) + " is not 32 bytes");
  NodeHash h;
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

json TreeHeadJson(const SignedTreeHead& sth) {
  return json{{"tree_size", sth.tree_size},
              {"timestamp_ms", sth.timestamp_ms},
              {"root_hash", B64(sth.root_hash)},
              {"signature", B64(sth.signature)}};
}

Result<SignedTreeHead> TreeHeadFrom(const json& j) {
  if (!j.is_object()) return Malformed("tree_head is not an object");
  SignedTreeHead sth;
  GMPKI_ASSIGN_OR_RETURN(sth.tree_size, GetUnsigned(j, "tree_size"));
  GMPKI_ASSIGN_OR_RETURN(std::uint64_t ts, GetUnsigned(j, "timestamp_ms"));
  sth.timestamp_ms = static_cast<std::int64_t>(ts);
  GMPKI_ASSIGN_OR_RETURN(Bytes root, GetBase64(j, "root_hash"));
  GMPKI_ASSIGN_OR_RETURN(sth.root_hash, ToNodeHash(root, "root_hash"));
  GMPKI_ASSIGN_OR_RETURN(sth.signature, GetBase64(j, "signature"));
  return sth;
}

json RecordJson(const EvidenceRecord& r) {
  return json{{"kind", KindName(r.kind)},         {"time_ms", TimeMillis(r.time)},
              {"actor", r.actor},                 {"application", r.application},
              {"object", r.object},               {"decision", r.decision},
              {"outcome", OutcomeName(r.outcome)}, {"details", r.details}};
}

Result<EvidenceRecord> RecordFrom(const json& j) {
  if (!j.is_object()) return Malformed("record is not an object");
  EvidenceRecord r;
  GMPKI_ASSIGN_OR_RETURN(std::string kind, GetString(j, "kind"));
  auto k = ParseKind(kind);
  if (!k) return Malformed("unknown record kind " + kind);
  r.kind = *k;
  auto it = j.find("time_ms");
  if (it == j.end() || !it->is_number_integer()) return Malformed("missing integer time_ms");
  r.time = FromMillis(it->get<std::int64_t>());
  GMPKI_ASSIGN_OR_RETURN(r.actor, GetString(j, "actor"));
  GMPKI_ASSIGN_OR_RETURN(r.application, GetString(j, "application"));
  GMPKI_ASSIGN_OR_RETURN(r.object, GetString(j, "object"));
  GMPKI_ASSIGN_OR_RETURN(r.decision, GetString(j, "decision"));
  GMPKI_ASSIGN_OR_RETURN(std::string outcome, GetString(j, "outcome"));
  auto o = ParseOutcome(outcome);
  if (!o) return Malformed("unknown record outcome " + outcome);
  r.outcome = *o;
  GMPKI_ASSIGN_OR_RETURN(r.details, GetString(j, "details"));
  return r;
}

}  // namespace

Bytes TreeHeadTbs(const SignedTreeHead& sth) {
  // RFC 9162 §4.10 TreeHeadDataV2: uint64 timestamp; uint64 tree_size; NodeHash root_hash
  // (opaque <32..2^8-1>, so a one-byte length); Extension sth_extensions<0..2^16-1> (empty).
  Bytes out;
  out.reserve(51);
  PutU64(out, static_cast<std::uint64_t>(sth.timestamp_ms));
  PutU64(out, sth.tree_size);
  out.push_back(static_cast<std::uint8_t>(kNodeHashSize));
  out.insert(out.end(), sth.root_hash.begin(), sth.root_hash.end());
  out.push_back(0);
  out.push_back(0);
  return out;
}

Status VerifyTreeHead(const SignedTreeHead& sth, const crypto::Sm2PublicKey& log_key) {
  Status st = crypto::Sm2Verify(log_key, AsBytes(crypto::kDefaultSm2Id), TreeHeadTbs(sth),
                                sth.signature);
  if (!st) {
    return Error(ErrorCode::kBadSignature,
                 "tree head of size " + std::to_string(sth.tree_size) +
                     " is not signed by the log key");
  }
  return OkStatus();
}

std::string TreeHeadToJson(const SignedTreeHead& sth) { return TreeHeadJson(sth).dump(); }

Result<SignedTreeHead> TreeHeadFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Malformed("tree head is not JSON");
  return TreeHeadFrom(j);
}

std::string BundleToJson(const EvidenceBundle& b) {
  json proof = json::array();
  for (const NodeHash& h : b.inclusion_proof) proof.push_back(B64(h));
  json j{{"format", kBundleFormat},
         {"leaf_index", b.leaf_index},
         {"record", RecordJson(b.record)},
         {"tree_head", TreeHeadJson(b.tree_head)},
         {"inclusion_proof", proof},
         {"log_public_key", B64(b.log_public_key.ToSpkiDer())}};
  if (!b.log_certificate.empty()) j["log_certificate"] = B64(b.log_certificate);
  return j.dump(2) + "\n";
}

Result<EvidenceBundle> ParseBundle(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Malformed("not a JSON object");
  GMPKI_ASSIGN_OR_RETURN(std::string format, GetString(j, "format"));
  if (format != kBundleFormat) return Malformed("unknown format " + format);
  EvidenceBundle b;
  GMPKI_ASSIGN_OR_RETURN(b.leaf_index, GetUnsigned(j, "leaf_index"));
  if (!j.contains("record") || !j.contains("tree_head")) return Malformed("incomplete");
  GMPKI_ASSIGN_OR_RETURN(b.record, RecordFrom(j["record"]));
  GMPKI_ASSIGN_OR_RETURN(b.tree_head, TreeHeadFrom(j["tree_head"]));
  auto proof = j.find("inclusion_proof");
  if (proof == j.end() || !proof->is_array() || proof->size() > 64) {
    return Malformed("inclusion_proof is not an array of at most 64 hashes");
  }
  for (const json& e : *proof) {
    if (!e.is_string()) return Malformed("inclusion_proof holds a non-string");
    auto bytes = Base64Decode(e.get<std::string>());
    if (!bytes) return Malformed("inclusion_proof element is not base64");
    GMPKI_ASSIGN_OR_RETURN(NodeHash h, ToNodeHash(*bytes, "inclusion_proof element"));
    b.inclusion_proof.push_back(h);
  }
  GMPKI_ASSIGN_OR_RETURN(Bytes spki, GetBase64(j, "log_public_key"));
  auto key = crypto::Sm2PublicKey::FromSpkiDer(spki);
  if (!key) return Malformed("log_public_key is not an SM2 SubjectPublicKeyInfo");
  b.log_public_key = *key;
  if (j.contains("log_certificate")) {
    GMPKI_ASSIGN_OR_RETURN(b.log_certificate, GetBase64(j, "log_certificate"));
  }
  return b;
}

Result<EvidenceBundle> VerifyBundle(std::string_view json_text,
                                    const crypto::Sm2PublicKey& trusted_log_key) {
  GMPKI_ASSIGN_OR_RETURN(EvidenceBundle b, ParseBundle(json_text));
  if (!(b.log_public_key == trusted_log_key)) {
    return Error(ErrorCode::kBadSignature, "the bundle names a log key other than the trusted one");
  }
  GMPKI_RETURN_IF_ERROR(VerifyTreeHead(b.tree_head, trusted_log_key));
  // The record must be well formed as Append requires, so the encoding is the one hashed.
  Status valid = ValidateRecord(b.record);
  if (!valid) return Malformed("record: " + valid.error().message());
  const NodeHash leaf = Sm3TreeHasher().HashLeaf(EncodeRecord(b.record));
  Status included = VerifyInclusion(Sm3TreeHasher(), b.leaf_index, b.tree_head.tree_size, leaf,
                                    b.inclusion_proof, b.tree_head.root_hash);
  if (!included) {
    if (included.error().code() == ErrorCode::kInvalidArgument) return included.error();
    return Error(ErrorCode::kIntegrityFailure,
                 "evidence record " + std::to_string(b.leaf_index) +
                     " is not the leaf the signed tree head commits to: " +
                     included.error().message());
  }
  return b;
}

}  // namespace gmpki::evidence
