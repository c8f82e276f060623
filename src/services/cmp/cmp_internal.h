// Internals shared by cmp_clients.cc and cmp_server.cc.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "services/cmp/cmp_message.h"
#include "services/cmp/cmp_service.h"

namespace gmpki::cmp {

struct LoadedClient {
  CmpClient client;
  SecretBytes secret;
};

// An ir/cr/p10cr/kur answered without implicit confirmation, waiting for its certConf
// (RFC 4210 §5.3.18). Defined in cmp_server.cc (it owns OpenSSL objects).
struct PendingTransaction;

struct CmpService::Impl {
  Impl(store::Database& d, device::CryptoDevice& dev, ca::CaService& c, const Clock& cl,
       std::string node_name)
      : db(d), device(dev), ca(c), clock(cl), node(std::move(node_name)) {}

  // cmp_clients.cc
  Result<LoadedClient> LoadClient(const std::string& reference);
  Result<SecretBytes> WrappingKey();
  // Appends one audit record in a transaction of its own (refusals, confirmations).
  void Audit(const std::string& actor, const std::string& action, const std::string& object,
             bool success, const std::string& detail_json);

  // cmp_server.cc
  Result<CmpResponse> Handle(std::string_view ca_alias, ByteView der);

  store::Database& db;
  device::CryptoDevice& device;
  ca::CaService& ca;
  const Clock& clock;
  std::string node;  // audit records name it

  std::mutex pending_mu;
  // key: "<reference>:<transactionID hex>"
  std::map<std::string, std::shared_ptr<PendingTransaction>> pending;
};

// References are printable and short: they reach audit records and error texts.
bool ValidReference(std::string_view reference);

}  // namespace gmpki::cmp
