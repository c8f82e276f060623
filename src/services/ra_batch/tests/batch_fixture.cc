#include "services/ra_batch/tests/batch_fixture.h"

#include <gtest/gtest.h>

#include "audit/audit.h"
#include "crypto/random.h"
#include "crypto/sm2.h"
#include "services/core/operators.h"
#include "x509/csr.h"
#include "x509/name.h"
#include "x509/signer.h"

namespace gmpki::ra_batch::testing {

namespace fs = std::filesystem;

std::string MakeResidentId(int n) {
  // GB 11643-1999: region 110105, birth date 1990-03-07, order code, ISO 7064 MOD 11-2 check.
  char body[32];
  std::snprintf(body, sizeof body, "11010519900307%03d", n % 1000);
  static const int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (body[i] - '0') * kWeights[i];
  return std::string(body, 17) + "10X98765432"[sum % 11];
}

std::vector<Holder> MakeHolders(int count, const std::string& prefix, int distinct_keys) {
  std::vector<std::shared_ptr<crypto::Sm2PrivateKey>> keys;
  std::vector<crypto::Sm2PublicKey> pubs;
  std::vector<Holder> out;
  for (int i = 0; i < count; ++i) {
    Holder h;
    h.request_id = prefix + "-" + std::to_string(i);
    h.name = "Holder " + prefix + " " + std::to_string(i);
    h.resident_id = MakeResidentId(i);
    h.ssn = "SSN" + prefix + std::to_string(100000 + i);
    h.card = "C" + std::to_string(900000 + i);
    if (static_cast<int>(keys.size()) < distinct_keys) {
      auto kp = crypto::Sm2GenerateKeyPair();
      pubs.push_back(kp->public_key);
      keys.push_back(std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key)));
    }
    std::size_t k = static_cast<std::size_t>(i) % keys.size();
    auto name = x509::Name::Parse("C=CN,O=MOHRSS,CN=" + h.name);
    h.csr_der = *x509::BuildCsr(*name, x509::MakeSoftwareSigner(keys[k], pubs[k]));
    out.push_back(std::move(h));
  }
  return out;
}

nlohmann::json ItemJson(const Holder& h) {
  return {{"request_id", h.request_id},      {"name", h.name},
          {"id_kind", "resident-id"},        {"id_number", h.resident_id},
          {"social_security_number", h.ssn}, {"card_number", h.card},
          {"csr", Base64Encode(h.csr_der)}};
}

std::string Ndjson(const std::vector<Holder>& holders) {
  std::string out;
  for (const auto& h : holders) out += ItemJson(h).dump() + "\n";
  return out;
}

Status BatchEnv::Init(store::Database& database, std::int64_t max_items) {
  db = &database;
  dir = fs::temp_directory_path() / ("gmpki-batch-" + HexEncode(*crypto::RandomBytes(8)));
  fs::create_directories(dir);
  GMPKI_ASSIGN_OR_RETURN(auto mk, device::GenerateMasterKey());
  GMPKI_ASSIGN_OR_RETURN(device, device::SoftDevice::Create(dir / "keys.sealed", mk));
  std::vector<store::Migration> all = services::CoreMigrations();
  for (auto& m : audit::AuditMigrations()) all.push_back(m);
  for (auto& m : ca::CaMigrations()) all.push_back(m);
  for (auto& m : BatchMigrations()) all.push_back(m);
  GMPKI_RETURN_IF_ERROR(db->Migrate(all));
  ca = std::make_unique<ca::CaService>(*db, *device, clock, ca::CaSettings{});
  const services::Actor sec{"sec", services::Role::kSecurityAdmin};
  GMPKI_RETURN_IF_ERROR(ca->CreateRoot(sec, "root", "C=CN,O=Test,CN=Test Root", 7300));
  GMPKI_RETURN_IF_ERROR(
      ca->CreateSubordinate(sec, "root", "industry", "C=CN,O=Test,CN=Industry", "industry", 5000));
  GMPKI_RETURN_IF_ERROR(
      ca->CreateSubordinate(sec, "industry", "biz", "C=CN,O=Test,CN=Business", "business", 3650));
  GMPKI_ASSIGN_OR_RETURN(auto codec, pii::PiiCodec::Create(*device));
  pii.emplace(std::move(codec));
  gateway = std::make_unique<ra::LocalCaGateway>(*ca, "card-ra");
  BatchSettings s;
  s.max_items = max_items;
  service = std::make_unique<BatchService>(*db, *pii, clock, s);
  return OkStatus();
}

BatchEnv::~BatchEnv() {
  service.reset();
  gateway.reset();
  ca.reset();
  device.reset();
  std::error_code ec;
  if (!dir.empty()) fs::remove_all(dir, ec);
}

std::unique_ptr<BatchProcessor> BatchEnv::NewProcessor(const std::string& worker_id,
                                                       std::size_t chunk) {
  ProcessorSettings s;
  s.worker_id = worker_id;
  s.chunk = chunk;
  return std::make_unique<BatchProcessor>(*db, *pii, *gateway, clock, s);
}

Result<BatchInfo> BatchEnv::Submit(const std::string& ndjson) {
  GMPKI_ASSIGN_OR_RETURN(auto b, service->Create(kAlice, {"biz", "personal-sign", "test"}));
  GMPKI_RETURN_IF_ERROR(service->Append(kAlice, b.id, ndjson));
  return service->Close(kAlice, b.id);
}

std::int64_t BatchEnv::Count(const std::string& sql) {
  auto tx = db->BeginReadOnly();
  auto row = (*tx)->QueryOne(sql);
  EXPECT_TRUE(row.ok()) << row.error().ToString();
  return (**row).Int(0);
}

std::vector<ItemResult> BatchEnv::AllResults(const std::string& batch_id) {
  std::vector<ItemResult> out;
  std::int64_t after = 0;
  for (;;) {
    auto page = service->Results(kAlice, batch_id, after, 7);
    EXPECT_TRUE(page.ok()) << page.error().ToString();
    if (!page.ok() || page->empty()) break;
    after = page->back().seq;
    for (auto& r : *page) out.push_back(std::move(r));
  }
  return out;
}

std::vector<x509::Certificate> BatchEnv::CaCerts() {
  std::vector<x509::Certificate> out;
  for (const char* n : {"biz", "industry", "root"}) {
    out.push_back(*x509::Certificate::FromDer(ca->GetCa(n)->cert_der));
  }
  return out;
}

}  // namespace gmpki::ra_batch::testing
