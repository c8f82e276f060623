// Test fixture of batch enrolment: a CA hierarchy (root -> industry -> biz) in a soft device,
// the PII codec, a LocalCaGateway, the batch service, and card holders with real CSRs.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "device/soft_device.h"
#include "services/ca/ca_service.h"
#include "services/pii/pii.h"
#include "services/ra_batch/batch_processor.h"
#include "services/ra_batch/batch_service.h"
#include "services/ra_link/local_gateway.h"
#include "store/store.h"

namespace gmpki::ra_batch::testing {

inline const services::Actor kAlice{"alice", services::Role::kRaOperator};
inline const services::Actor kBob{"bob", services::Role::kRaOperator};
inline const services::Actor kCaOp{"carol", services::Role::kCaOperator};

struct Holder {
  std::string request_id, name, resident_id, ssn, card;
  Bytes csr_der;
};

// A resident ID number with a valid GB 11643-1999 check character; `n` < 1000 varies it.
std::string MakeResidentId(int n);
// `count` holders "<prefix>-<i>" with fresh SM2 keys and CSRs (CN = name). Keys are reused
// round-robin after `distinct_keys` holders, to keep large runs fast.
std::vector<Holder> MakeHolders(int count, const std::string& prefix, int distinct_keys = 1000);
nlohmann::json ItemJson(const Holder& h);
std::string Ndjson(const std::vector<Holder>& holders);

class BatchEnv {
 public:
  // Migrates `db`, creates the CA hierarchy and the batch service. `max_items` caps a batch.
  Status Init(store::Database& db, std::int64_t max_items = 1'000'000);
  ~BatchEnv();

  std::unique_ptr<BatchProcessor> NewProcessor(const std::string& worker_id,
                                               std::size_t chunk = 256);
  // Create (alice), one Append, Close.
  Result<BatchInfo> Submit(const std::string& ndjson);
  std::int64_t Count(const std::string& sql);
  // All results of a batch.
  std::vector<ItemResult> AllResults(const std::string& batch_id);
  std::vector<x509::Certificate> CaCerts();  // biz, industry, root

  store::Database* db = nullptr;
  ManualClock clock{std::chrono::system_clock::now()};
  std::filesystem::path dir;
  std::unique_ptr<device::SoftDevice> device;
  std::unique_ptr<ca::CaService> ca;
  std::optional<pii::PiiCodec> pii;
  std::unique_ptr<ra::LocalCaGateway> gateway;
  std::unique_ptr<BatchService> service;
};

}  // namespace gmpki::ra_batch::testing
