// Staging of NDJSON chunks: validation of each line and multi-row writes (one transaction per
// chunk, a few hundred rows per INSERT, so a million items stage in minutes on either backend).
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "services/ra_batch/batch_internal.h"
#include "services/ra_batch/batch_service.h"
#include "x509/csr.h"

namespace gmpki::ra_batch::internal {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxNameLength = 128;
constexpr std::size_t kMaxCardNumberLength = 64;
constexpr std::size_t kMaxLineBytes = 64 * 1024;
// Rows per multi-row INSERT: 18 parameters a row stays far below SQLite's 32766 and
// PostgreSQL's 65535 bound parameters.
constexpr std::size_t kItemRowsPerInsert = 200;
constexpr std::size_t kClaimRowsPerInsert = 500;

const std::set<std::string, std::less<>>& KnownFields() {
  static const std::set<std::string, std::less<>> k = {
      "request_id",  "name", "id_kind", "id_number", "social_security_number",
      "card_number", "csr",  "profile", "ca"};
  return k;
}

void Fail(StagedItem& item, ErrorCode code, const std::string& message) {
  item.status = ItemStatus::kFailed;
  item.error_code = ErrorSlug(code);
  item.error_message = message;
}

// Reads an optional string field; kInvalidArgument when present with another type.
Result<std::optional<std::string>> Field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) {
    return Error(ErrorCode::kInvalidArgument, std::string("field '") + key + "' must be a string");
  }
  return std::optional<std::string>(it->get<std::string>());
}

Result<Bytes> DecodeCsr(const std::string& text) {
  if (text.find("-----BEGIN") != std::string::npos) return ToBytes(text);
  auto der = Base64Decode(text);
  if (!der.ok()) {
    return Error(ErrorCode::kMalformedInput, "'csr' is neither PEM nor base64 DER");
  }
  return std::move(der).value();
}

bool PrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

Status Validate(const json& j, std::int64_t line_no, const std::string& batch_ca,
                const std::string& batch_profile, const pii::PiiCodec& pii, StagedItem& item) {
  const std::string where = "line " + std::to_string(line_no) + ": ";
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!KnownFields().count(it.key())) {
      return Error(ErrorCode::kInvalidArgument, where + "unknown field '" + it.key() + "'");
    }
  }
  GMPKI_ASSIGN_OR_RETURN(auto request_id, Field(j, "request_id"));
  if (!request_id) return Error(ErrorCode::kInvalidArgument, where + "'request_id' is required");
  if (auto st = ValidateItemRequestId(*request_id); !st.ok()) {
    return Error(ErrorCode::kInvalidArgument, where + st.error().message());
  }
  item.request_id = *request_id;
  GMPKI_ASSIGN_OR_RETURN(auto name, Field(j, "name"));
  if (!name || name->empty() || name->size() > kMaxNameLength) {
    return Error(ErrorCode::kInvalidArgument,
                 where + "'name' is required (1.." + std::to_string(kMaxNameLength) + " bytes)");
  }
  item.name = *name;
  GMPKI_ASSIGN_OR_RETURN(auto kind_name, Field(j, "id_kind"));
  GMPKI_ASSIGN_OR_RETURN(pii::IdKind kind, pii::ParseIdKind(kind_name.value_or("resident-id")));
  if (kind == pii::IdKind::kSocialSecurity) {
    return Error(ErrorCode::kInvalidArgument,
                 where + "'id_kind' names an identity document, not social-security");
  }
  item.id_kind = std::string(pii::IdKindName(kind));
  GMPKI_ASSIGN_OR_RETURN(auto id_number, Field(j, "id_number"));
  if (!id_number) return Error(ErrorCode::kInvalidArgument, where + "'id_number' is required");
  auto id_norm = pii::NormalizeIdentifier(kind, *id_number);
  if (!id_norm.ok()) {
    // The message names what is wrong, never the number itself (CC-FPR).
    return Error(ErrorCode::kInvalidArgument, where + id_norm.error().message());
  }
  GMPKI_ASSIGN_OR_RETURN(auto ssn, Field(j, "social_security_number"));
  if (!ssn) {
    return Error(ErrorCode::kInvalidArgument, where + "'social_security_number' is required");
  }
  auto ssn_norm = pii::NormalizeIdentifier(pii::IdKind::kSocialSecurity, *ssn);
  if (!ssn_norm.ok()) {
    return Error(ErrorCode::kInvalidArgument, where + ssn_norm.error().message());
  }
  GMPKI_ASSIGN_OR_RETURN(auto card, Field(j, "card_number"));
  if (card) {
    if (card->size() > kMaxCardNumberLength || !PrintableAscii(*card)) {
      return Error(ErrorCode::kInvalidArgument,
                   where + "'card_number' must be at most 64 printable ASCII characters");
    }
    item.card_number = *card;
  }
  GMPKI_ASSIGN_OR_RETURN(auto ca, Field(j, "ca"));
  GMPKI_ASSIGN_OR_RETURN(auto profile, Field(j, "profile"));
  item.ca = ca.value_or(batch_ca);
  item.profile = profile.value_or(batch_profile);
  if (item.ca.empty() || item.profile.empty()) {
    return Error(ErrorCode::kInvalidArgument, where + "'ca' and 'profile' must not be empty");
  }
  GMPKI_ASSIGN_OR_RETURN(auto csr_text, Field(j, "csr"));
  if (!csr_text) return Error(ErrorCode::kInvalidArgument, where + "'csr' is required");
  auto csr_bytes = DecodeCsr(*csr_text);
  if (!csr_bytes.ok()) return Error(csr_bytes.error().code(), where + csr_bytes.error().message());
  auto csr = x509::CertificateRequest::Parse(*csr_bytes);
  if (!csr.ok()) {
    return Error(ErrorCode::kMalformedInput,
                 where + "'csr' does not parse: " + csr.error().message());
  }
  // The certificate must name the card holder this item is about; a CSR from another card
  // (a shuffled personalisation file) is refused here rather than certified for the wrong
  // person. The CA checks the proof of possession when it issues.
  auto cn = csr->subject().Get("CN");
  if (!cn || *cn != item.name) {
    return Error(ErrorCode::kPolicyViolation, where + "the CSR's subject CN does not match 'name'");
  }
  item.csr_der = csr->der();
  const std::string ctx = PiiContext(item.request_id);
  GMPKI_ASSIGN_OR_RETURN(item.id_enc, pii.Encrypt(kind, ctx, *id_norm));
  GMPKI_ASSIGN_OR_RETURN(item.ssn_enc, pii.Encrypt(pii::IdKind::kSocialSecurity, ctx, *ssn_norm));
  item.id_index = pii.BlindIndex(kind, *id_norm);
  item.ssn_index = pii.BlindIndex(pii::IdKind::kSocialSecurity, *ssn_norm);
  return OkStatus();
}

store::Value TextOrNull(const std::string& s) {
  if (s.empty()) return store::Null{};
  return s;
}
store::Value BlobOrNull(const Bytes& b) {
  if (b.empty()) return store::Null{};
  return b;
}

}  // namespace

std::string PiiContext(std::string_view request_id) {
  return "ra-batch-item:" + std::string(request_id);
}

std::string ErrorSlug(ErrorCode code) { return std::string(InfoFor(code).slug); }

std::vector<std::string_view> SplitLines(std::string_view chunk) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < chunk.size()) {
    std::size_t end = chunk.find('\n', pos);
    if (end == std::string_view::npos) end = chunk.size();
    std::string_view line = chunk.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
    if (!blank) out.push_back(line);
    pos = end + 1;
  }
  return out;
}

StagedItem ParseItemLine(std::string_view line, std::int64_t line_no, const std::string& batch_ca,
                         const std::string& batch_profile, const pii::PiiCodec& pii) {
  StagedItem item;
  const std::string where = "line " + std::to_string(line_no) + ": ";
  if (line.size() > kMaxLineBytes) {
    Fail(item, ErrorCode::kTooLarge, where + "longer than 64 KiB");
    return item;
  }
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    Fail(item, ErrorCode::kMalformedInput, where + "not a JSON object");
    return item;
  }
  Status st = Validate(j, line_no, batch_ca, batch_profile, pii, item);
  if (!st.ok()) {
    std::string request_id = item.request_id;
    std::string name = item.name;
    item = StagedItem{};
    // Keep what identifies the line for the submitter; drop everything personal beyond it.
    item.request_id = request_id;
    item.name = name;
    Fail(item, st.error().code(), st.error().message());
  }
  return item;
}

Status StageItems(store::Transaction& tx, const std::string& batch_id,
                  std::vector<StagedItem>& items) {
  // 1. Duplicates inside the chunk: the first occurrence claims the ID.
  std::map<std::string, std::int64_t, std::less<>> first_in_chunk;
  std::vector<StagedItem*> claimants;
  for (auto& it : items) {
    if (it.status != ItemStatus::kPending) continue;
    auto [pos, inserted] = first_in_chunk.emplace(it.request_id, it.seq);
    if (inserted) {
      claimants.push_back(&it);
    } else {
      it.status = ItemStatus::kDuplicate;
      it.dup_batch = batch_id;
      it.dup_seq = pos->second;
    }
  }
  // 2. Claim the IDs; the ones already held by an earlier item become duplicates of it.
  for (std::size_t start = 0; start < claimants.size(); start += kClaimRowsPerInsert) {
    std::size_t n = std::min(kClaimRowsPerInsert, claimants.size() - start);
    std::vector<store::Value> params;
    params.reserve(n * 3);
    for (std::size_t i = 0; i < n; ++i) {
      const StagedItem& it = *claimants[start + i];
      params.push_back(it.request_id);
      params.push_back(batch_id);
      params.push_back(it.seq);
    }
    GMPKI_ASSIGN_OR_RETURN(
        auto inserted,
        tx.Query("INSERT INTO ra_batch_requests (request_id, batch_id, seq) VALUES " +
                     store::ValuesPlaceholders(n, 3) +
                     " ON CONFLICT (request_id) DO NOTHING RETURNING request_id",
                 params));
    if (inserted.size() == n) continue;
    std::set<std::string, std::less<>> won;
    for (const auto& r : inserted) won.insert(r.Text(0));
    std::vector<store::Value> lost_ids;
    std::map<std::string, StagedItem*, std::less<>> lost;
    for (std::size_t i = 0; i < n; ++i) {
      StagedItem* it = claimants[start + i];
      if (!won.count(it->request_id)) {
        lost_ids.push_back(it->request_id);
        lost.emplace(it->request_id, it);
      }
    }
    std::string in = "(";
    for (std::size_t i = 0; i < lost_ids.size(); ++i) in += i ? ",?" : "?";
    in += ")";
    GMPKI_ASSIGN_OR_RETURN(
        auto owners,
        tx.Query(
            "SELECT request_id, batch_id, seq FROM ra_batch_requests WHERE request_id IN " + in,
            lost_ids));
    for (const auto& r : owners) {
      auto f = lost.find(r.Text(0));
      if (f == lost.end()) continue;
      StagedItem& it = *f->second;
      it.status = ItemStatus::kDuplicate;
      it.dup_batch = r.Text(1);
      it.dup_seq = r.Int(2);
    }
  }
  // 3. Write the items. Duplicates keep no personal data: the original holds it.
  for (auto& it : items) {
    if (it.status == ItemStatus::kDuplicate) {
      it.id_enc.clear();
      it.ssn_enc.clear();
      it.id_index.clear();
      it.ssn_index.clear();
      it.csr_der.clear();
    }
  }
  for (std::size_t start = 0; start < items.size(); start += kItemRowsPerInsert) {
    std::size_t n = std::min(kItemRowsPerInsert, items.size() - start);
    std::vector<store::Value> params;
    params.reserve(n * 18);
    for (std::size_t i = 0; i < n; ++i) {
      const StagedItem& it = items[start + i];
      params.push_back(batch_id);
      params.push_back(it.seq);
      params.push_back(TextOrNull(it.request_id));
      params.push_back(std::string(ItemStatusName(it.status)));
      params.push_back(TextOrNull(it.name));
      params.push_back(TextOrNull(it.id_kind));
      params.push_back(BlobOrNull(it.id_enc));
      params.push_back(TextOrNull(it.id_index));
      params.push_back(BlobOrNull(it.ssn_enc));
      params.push_back(TextOrNull(it.ssn_index));
      params.push_back(TextOrNull(it.card_number));
      params.push_back(BlobOrNull(it.csr_der));
      params.push_back(TextOrNull(it.ca));
      params.push_back(TextOrNull(it.profile));
      params.push_back(TextOrNull(it.dup_batch));
      params.push_back(it.dup_batch.empty() ? store::Value(store::Null{})
                                            : store::Value(it.dup_seq));
      params.push_back(TextOrNull(it.error_code));
      params.push_back(TextOrNull(it.error_message));
    }
    GMPKI_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO ra_batch_items (batch_id, seq, request_id, status, holder_name, "
        "id_kind, id_number_enc, id_number_index, ssn_enc, ssn_index, card_number, csr, ca, "
        "profile, dup_batch, dup_seq, error_code, error_message) VALUES " +
            store::ValuesPlaceholders(n, 18),
        params));
  }
  return OkStatus();
}

}  // namespace gmpki::ra_batch::internal
