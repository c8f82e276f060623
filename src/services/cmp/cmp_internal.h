// Internals shared by cmp_clients.cc and cmp_server.cc.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "services/cmp/cmp_message.h"
#include "services/cmp/cmp_service.h"

namespace gmpki::cmp {

struct LoadedClient {
  CmpClient client;
  SecretBytes secret;  // MAC clients only
  Bytes cert_der;      // signature clients only: the registered certificate
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
  // Shared by CreateClient and CreateCertClient: reference, profiles and CA checks, then the
  // cmp_clients row (iv/ct empty for a signature client).
  Status InsertClient(store::Transaction& tx, const CmpClient& c, ByteView secret_iv,
                      ByteView secret_ct);

  // cmp_cert_clients.cc
  // The signature client named by senderKID (its certificate's SKI) or, without one, by the
  // first extraCerts certificate. kNotFound when none is registered.
  Result<LoadedClient> FindCertClient(const std::optional<Bytes>& sender_kid,
                                      const std::vector<Bytes>& extra_certs);
  // kOk when the client's certificate is "good" at its CA and valid now; otherwise the CMP
  // failure bit and text to refuse with.
  std::optional<std::pair<FailBit, std::string>> CheckClientCertificate(const LoadedClient& c);
  // Signs an answer for a signature client with the CA's key in the device (GM/T ID),
  // senderKID = the CA certificate's SKI, extraCerts = the CA chain, CA first.
  Result<Bytes> SignAnswer(const std::string& ca_alias, ByteView unprotected_answer);
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
