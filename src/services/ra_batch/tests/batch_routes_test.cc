// The batch API over a real HTTPS server with operator client certificates, driven by the
// uploader client the CLI uses: streamed upload in chunks with progress, four-eyes approval,
// a worker thread, waiting with progress, paged results, and the problems for bad requests.
#include "services/ra_batch/batch_routes.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "crypto/sm3.h"
#include "net/server.h"
#include "net/tls_pki.h"
#include "services/core/operators.h"
#include "services/ra_batch/batch_uploader.h"
#include "services/ra_batch/tests/batch_fixture.h"
#include "store/testing/backends.h"
#include "x509/pem.h"

namespace gmpki::ra_batch {
namespace {

using namespace testing;  // NOLINT: the fixture's helpers
using nlohmann::json;

std::string Fingerprint(const std::string& cert_pem) {
  auto der = x509::PemDecode(cert_pem, x509::kPemCertificate);
  EXPECT_TRUE(der.ok());
  auto d = crypto::Sm3(*der);
  return HexEncode(ByteView(d.data(), d.size()));
}

class BatchRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto scratch = store::testutil::ScratchDatabase::Create(store::Backend::kSqlite);
    ASSERT_TRUE(scratch.ok());
    scratch_ = std::move(*scratch);
    env_ = std::make_unique<BatchEnv>();
    ASSERT_TRUE(env_->Init(scratch_->db(), 30).ok());
    operators_ = std::make_unique<services::OperatorRegistry>(scratch_->db(), env_->clock, "n1");

    auto tls_ca = net::CreateTlsCa("CN=Test TLS CA,O=gmpki");
    ASSERT_TRUE(tls_ca.ok());
    tls_ca_ = std::move(*tls_ca);
    net::TlsCertSpec server_spec;
    server_spec.subject_dn = "CN=localhost,O=gmpki";
    server_spec.ip_addresses = {"127.0.0.1"};
    auto server_cred = net::IssueTlsServerCredentials(tls_ca_, server_spec);
    ASSERT_TRUE(server_cred.ok());
    auto enrol = [&](const std::optional<services::Actor>& by, const std::string& name,
                     services::Role role) {
      net::TlsCertSpec s;
      s.subject_dn = "CN=" + name + ",O=gmpki";
      auto cred = net::IssueTlsClientCredentials(tls_ca_, s);
      EXPECT_TRUE(cred.ok());
      if (by || name == "admin") {
        auto rec = operators_->Enrol(by, name, role, name + "-person", Fingerprint(cred->cert_pem));
        EXPECT_TRUE(rec.ok()) << rec.error().ToString();
      }
      return std::move(cred).value();
    };
    const services::Actor admin{"admin", services::Role::kSystemAdmin};
    enrol(std::nullopt, "admin", services::Role::kSystemAdmin);
    alice_ = enrol(admin, "alice", services::Role::kRaOperator);
    bob_ = enrol(admin, "bob", services::Role::kRaOperator);
    stranger_ = enrol(std::nullopt, "stranger", services::Role::kRaOperator);  // not enrolled

    processor_ = env_->NewProcessor("routes-worker", 8);
    worker_ = std::make_unique<BatchWorker>(*processor_, std::chrono::milliseconds(50));
    worker_->Start();
    net::Router router;
    BatchApiDeps deps;
    deps.service = env_->service.get();
    deps.operators = operators_.get();
    deps.on_approved = [this] { worker_->Wake(); };
    ASSERT_TRUE(AddBatchRoutes(router, deps).ok());
    net::ServerConfig cfg;
    cfg.max_body_bytes = 9u << 20;
    net::TlsServerConfig tls;
    tls.cert_chain_pem = server_cred->cert_pem;
    tls.key_pem = server_cred->key_pem.Clone();
    tls.client_ca_pem = tls_ca_.cert_pem;
    tls.client_cert_mode = net::ClientCertMode::kRequired;
    cfg.tls = std::move(tls);
    server_ = std::make_unique<net::HttpServer>(std::move(cfg), std::move(router));
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.error().ToString();
    base_ = "https://127.0.0.1:" + std::to_string(server_->BoundPort());
    file_ = env_->dir / "batch.ndjson";
  }
  void TearDown() override {
    server_.reset();
    worker_.reset();
    processor_.reset();
    operators_.reset();
    env_.reset();
    scratch_.reset();
  }
  net::HttpClient Client(const net::TlsCredentials& who) {
    net::ClientConfig c;
    c.ca_bundle_pem = tls_ca_.cert_pem;
    c.client_cert_pem = who.cert_pem;
    c.client_key_pem = who.key_pem.Clone();
    auto client = net::HttpClient::Create(std::move(c));
    EXPECT_TRUE(client.ok());
    return std::move(client).value();
  }
  void WriteFile(const std::string& text) {
    std::ofstream out(file_, std::ios::binary);
    out << text;
  }

  std::unique_ptr<store::testutil::ScratchDatabase> scratch_;
  std::unique_ptr<BatchEnv> env_;
  std::unique_ptr<services::OperatorRegistry> operators_;
  net::TlsIssuer tls_ca_;
  net::TlsCredentials alice_, bob_, stranger_;
  std::unique_ptr<BatchProcessor> processor_;
  std::unique_ptr<BatchWorker> worker_;
  std::unique_ptr<net::HttpServer> server_;
  std::string base_;
  std::filesystem::path file_;
};

// req: HI-06, CC-FIA, CC-FTP
TEST_F(BatchRoutesTest, UploadApproveWaitAndFetchResultsOverMutualTls) {
  auto holders = MakeHolders(25, "http");
  WriteFile(Ndjson({holders.begin(), holders.begin() + 12}) + "this is not json\n\n" +
            Ndjson({holders.begin() + 12, holders.end()}));
  auto alice_client = Client(alice_);
  auto bob_client = Client(bob_);
  BatchUploader alice(alice_client, base_);
  BatchUploader bob(bob_client, base_ + "/");
  UploadOptions opt;
  opt.ca = "biz";
  opt.profile = "personal-sign";
  opt.label = "route test";
  opt.chunk_lines = 10;
  std::vector<UploadProgress> seen;
  auto up =
      alice.UploadFile(file_.string(), opt, [&](const UploadProgress& p) { seen.push_back(p); });
  ASSERT_TRUE(up.ok()) << up.error().ToString();
  EXPECT_EQ(up->batch.state, BatchState::kClosed);
  EXPECT_EQ(up->batch.counts.total, 26);
  EXPECT_EQ(up->batch.counts.pending, 25);
  ASSERT_EQ(up->errors.size(), 1u);
  EXPECT_EQ(up->errors[0].seq, 13);
  EXPECT_EQ(up->errors[0].code, "malformed-input");
  ASSERT_GE(seen.size(), 3u);  // three chunks, then the close
  EXPECT_EQ(seen[0].items_sent, 10);
  EXPECT_EQ(seen.back().items_sent, 26);
  EXPECT_EQ(seen.back().bytes_sent, seen.back().bytes_total);
  EXPECT_GT(seen.back().bytes_total, 0);
  const std::string id = up->batch.id;

  // Four-eyes over the API: 403 for the submitter, then the second operator approves.
  auto own = alice.Approve(id);
  ASSERT_FALSE(own.ok());
  EXPECT_EQ(own.error().code(), ErrorCode::kPermissionDenied);
  auto approved = bob.Approve(id);
  ASSERT_TRUE(approved.ok()) << approved.error().ToString();

  int polls = 0;
  WaitOptions w;
  w.interval = std::chrono::milliseconds(50);
  w.timeout = std::chrono::milliseconds(30000);
  auto done = WaitForBatch(
      alice, id, [&](const BatchInfo&) { ++polls; }, w);
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  EXPECT_EQ(done->state, BatchState::kDone);
  EXPECT_EQ(done->counts.issued, 25);
  EXPECT_GE(polls, 1);

  std::vector<ItemResult> results;
  auto n = alice.FetchResults(
      id,
      [&](const ItemResult& r) {
        results.push_back(r);
        return OkStatus();
      },
      7);
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  ASSERT_EQ(*n, 26);
  EXPECT_EQ(results[12].status, ItemStatus::kFailed);
  EXPECT_EQ(results[13].request_id, holders[12].request_id);
  for (const auto& r : results) {
    if (r.status != ItemStatus::kIssued) continue;
    auto cert = x509::Certificate::FromDer(r.certificate);
    ASSERT_TRUE(cert.ok());
    EXPECT_EQ(*ca::NormalizeSerial(HexEncode(cert->serial(), true)),
              *ca::NormalizeSerial(r.serial_hex));
  }
}

// req: HI-06, CC-FIA
TEST_F(BatchRoutesTest, ProblemsForBadRequestsAndOversizedBatches) {
  auto stranger_client = Client(stranger_);
  BatchUploader stranger(stranger_client, base_);
  auto who = stranger.Create({"biz", "personal-sign", ""});
  ASSERT_FALSE(who.ok());
  EXPECT_EQ(who.error().code(), ErrorCode::kUnauthenticated);

  auto alice_client = Client(alice_);
  BatchUploader alice(alice_client, base_);
  auto missing = alice_client.Post(base_ + "/api/v1/ra/batches", R"({"ca":"biz"})");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 400);
  EXPECT_EQ(missing->content_type, "application/problem+json");
  auto b = alice.Create({"biz", "personal-sign", ""});
  ASSERT_TRUE(b.ok());
  auto bad_offset = alice.AppendChunk(b->id, Ndjson(MakeHolders(1, "o")), 5);
  ASSERT_FALSE(bad_offset.ok());
  EXPECT_EQ(bad_offset.error().code(), ErrorCode::kConflict);
  auto bad_query = alice_client.Post(base_ + "/api/v1/ra/batches/" + b->id + "/items?offset=x", "",
                                     kNdjsonContentType);
  EXPECT_EQ(bad_query->status, 400);
  EXPECT_EQ(alice.Get("b-nope").error().code(), ErrorCode::kNotFound);

  // The server's cap is 30 items: 40 are refused and the batch is gone.
  WriteFile(Ndjson(MakeHolders(40, "big", 4)));
  UploadOptions opt;
  opt.ca = "biz";
  opt.profile = "personal-sign";
  opt.chunk_lines = 16;
  auto up = alice.UploadFile(file_.string(), opt);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().code(), ErrorCode::kTooLarge);
  auto list = alice_client.Get(base_ + "/api/v1/ra/batches?state=rejected");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->status, 200);
  auto arr = json::parse(list->body);
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["counts"]["total"], 0);
  EXPECT_EQ(env_->Count("SELECT COUNT(*) FROM ra_batch_items"), 0);
}

}  // namespace
}  // namespace gmpki::ra_batch

namespace gmpki::ra_batch {
namespace {

// req: HI-06
TEST(BatchOpenApiTest, OpenApiDescribesEveryRoute) {
  std::ifstream in(std::string(GMPKI_SOURCE_DIR) + "/docs/openapi.json");
  auto doc = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(doc.is_object());
  const auto& paths = doc["paths"];
  for (const char* p :
       {"/api/v1/ra/batches", "/api/v1/ra/batches/{id}", "/api/v1/ra/batches/{id}/items",
        "/api/v1/ra/batches/{id}/close", "/api/v1/ra/batches/{id}/approve",
        "/api/v1/ra/batches/{id}/reject", "/api/v1/ra/batches/{id}/results"}) {
    EXPECT_TRUE(paths.contains(p)) << p;
  }
}

}  // namespace
}  // namespace gmpki::ra_batch
