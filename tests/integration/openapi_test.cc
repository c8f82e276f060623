// docs/openapi.json describes every operator route the server registers: the CA, the RA-to-CA
// link and RA registry, the RA, and batch enrolment (the same route sets gmpki-server adds).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "crypto/random.h"
#include "services/ca/ca_routes.h"
#include "services/ca/ra_routes.h"
#include "services/km/km_routes.h"
#include "services/node/node.h"
#include "services/ra/ra_routes.h"
#include "services/ra_batch/batch_routes.h"
#include "services/ra_batch/batch_service.h"

namespace gmpki {
namespace {
namespace fs = std::filesystem;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// req: CA-02, RA-01, CA-01, HI-06
TEST(OpenApiTest, EveryOperatorRouteIsDocumented) {
  fs::path home = fs::temp_directory_path() / ("gmpki-openapi-" + HexEncode(*crypto::RandomBytes(6)));
  node::InitOptions o;
  o.home = home;
  o.demo = true;
  SystemClock clock;
  ASSERT_TRUE(node::InitHome(o, clock).ok());
  auto n = node::Node::Open(home);
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  net::Router api;
  ca::ApiDeps d;
  d.ca = &(*n)->ca();
  d.operators = &(*n)->operators();
  d.db = &(*n)->db();
  d.verify_audit = [&] { return (*n)->VerifyAudit(); };
  ASSERT_TRUE(ca::AddCaApiRoutes(api, d).ok());
  ASSERT_TRUE(ca::AddRaLinkRoutes(api, (*n)->ra_trust()).ok());
  ASSERT_TRUE(ca::AddRaManagementRoutes(api, (*n)->ra_trust(), (*n)->operators()).ok());
  auto ra = (*n)->Ra();
  ASSERT_TRUE(ra.ok());
  ASSERT_TRUE(ra::AddRaApiRoutes(api, ra::RaApiDeps{*ra, &(*n)->operators()}).ok());
  auto pii = (*n)->Pii();
  ASSERT_TRUE(pii.ok());
  ra_batch::BatchService batches((*n)->db(), **pii, clock, ra_batch::BatchSettings{});
  ASSERT_TRUE(ra_batch::AddBatchRoutes(api, ra_batch::BatchApiDeps{&batches, &(*n)->operators(), {}}).ok());
  // The KM's routes (a KM node mounts them; here only their patterns are listed).
  km::KmService km((*n)->db(), (*n)->device(), clock, km::KmSettings{});
  ASSERT_TRUE(km::AddKmRoutes(api, km, (*n)->operators()).ok());

  std::ifstream in(std::string(GMPKI_SOURCE_DIR) + "/docs/openapi.json");
  auto doc = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(doc.is_object());
  const auto& paths = doc["paths"];
  std::size_t checked = 0;
  for (const auto& [method, pattern] : api.Routes()) {
    if (pattern == "/openapi.json") continue;
    ++checked;
    ASSERT_TRUE(paths.contains(pattern)) << pattern << " is not in docs/openapi.json";
    EXPECT_TRUE(paths[pattern].contains(Lower(method))) << method << " " << pattern << " is not documented";
  }
  EXPECT_GT(checked, 40u);
  n->reset();
  std::error_code ec;
  fs::remove_all(home, ec);
}

}  // namespace
}  // namespace gmpki
