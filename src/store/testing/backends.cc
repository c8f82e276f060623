#include "store/testing/backends.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>

namespace gmpki::store::testutil {
namespace {

std::string RandomSuffix() {
  std::random_device rd;
  std::uniform_int_distribution<std::uint64_t> dist;
  return fmt::format("{:016x}", dist(rd));
}

Status DropSchema(const std::string& admin_url, const std::string& schema) {
  GMPKI_ASSIGN_OR_RETURN(auto admin, OpenDatabase(admin_url));
  GMPKI_ASSIGN_OR_RETURN(auto tx, admin->Begin());
  GMPKI_RETURN_IF_ERROR(tx->Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE"));
  return tx->Commit();
}

}  // namespace

Result<std::string> PostgresTestUrl() {
  const char* file = std::getenv("GMPKI_TEST_PG_URL_FILE");
  if (file == nullptr || *file == '\0') {
    return Error(ErrorCode::kFailedPrecondition,
                 "GMPKI_TEST_PG_URL_FILE is not set: PostgreSQL tests run only under the CTest "
                 "fixture `pg` (ctest -R '<suite>_postgres'), or start a server with "
                 "tools/pg/pg-instance.sh start DIR and export GMPKI_TEST_PG_URL_FILE=DIR/url");
  }
  std::ifstream in(file);
  std::string url;
  if (!in || !std::getline(in, url) || url.empty()) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("cannot read a PostgreSQL URL from {} (did pg_start run?)", file));
  }
  return url;
}

Result<std::unique_ptr<ScratchDatabase>> ScratchDatabase::Create(Backend backend) {
  std::unique_ptr<ScratchDatabase> s(new ScratchDatabase());
  s->backend_ = backend;
  if (backend == Backend::kSqlite) {
    std::error_code ec;
    std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
    if (ec) tmp = "/tmp";
    std::filesystem::path dir = tmp / ("gmpki-store-" + RandomSuffix());
    if (!std::filesystem::create_directory(dir, ec)) {
      return Error(ErrorCode::kIoError, "cannot create " + dir.string() + ": " + ec.message());
    }
    s->cleanup_ = dir.string();
    s->url_ = "sqlite:" + (dir / "test.db").string();
  } else {
    GMPKI_ASSIGN_OR_RETURN(s->admin_url_, PostgresTestUrl());
    const std::string schema = "t_" + RandomSuffix();
    {
      GMPKI_ASSIGN_OR_RETURN(auto admin, OpenDatabase(s->admin_url_));
      GMPKI_ASSIGN_OR_RETURN(auto tx, admin->Begin());
      GMPKI_RETURN_IF_ERROR(tx->Exec("CREATE SCHEMA " + schema));
      GMPKI_RETURN_IF_ERROR(tx->Commit());
    }
    s->cleanup_ = schema;
    // libpq URI query parameter; %3D is '='. Only unqualified names go to the schema.
    const char sep = s->admin_url_.find('?') == std::string::npos ? '?' : '&';
    s->url_ = s->admin_url_ + sep + "options=-csearch_path%3D" + schema;
  }
  GMPKI_ASSIGN_OR_RETURN(s->db_, OpenDatabase(s->url_));
  return s;
}

Status ScratchDatabase::Reopen() {
  db_.reset();
  GMPKI_ASSIGN_OR_RETURN(db_, OpenDatabase(url_));
  return OkStatus();
}

ScratchDatabase::~ScratchDatabase() {
  db_.reset();
  if (cleanup_.empty()) return;
  if (backend_ == Backend::kSqlite) {
    std::error_code ec;
    std::filesystem::remove_all(cleanup_, ec);
  } else {
    Status s = DropSchema(admin_url_, cleanup_);
    if (!s) ADD_FAILURE() << "dropping scratch schema " << cleanup_ << ": " << s.error().ToString();
  }
}

}  // namespace gmpki::store::testutil
