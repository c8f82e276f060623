#include <gtest/gtest.h>

#include "services/core/config.h"
#include "services/core/roles.h"

namespace gmpki::services {
namespace {

Status ParseOnly(const std::string& text) {
  auto r = Config::Parse(text, "/srv/gmpki");
  if (!r.ok()) return r.error();
  return OkStatus();
}

// req: CC-FMT
TEST(ConfigTest, DefaultsAndRoundTrip) {
  auto c = Config::Parse("", "/srv/gmpki");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->database_url, "sqlite:/srv/gmpki/gmpki.db");
  EXPECT_EQ(c->device_file, "/srv/gmpki/device/keys.sealed");
  c->node_name = "province-a-1";
  c->roles = {"ca", "ra"};
  c->deployment = "province-2";
  auto again = Config::Parse(c->ToToml(), "/srv/gmpki");
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->node_name, "province-a-1");
  EXPECT_EQ(again->roles, (std::vector<std::string>{"ca", "ra"}));
  EXPECT_EQ(again->deployment, "province-2");
  // A province in mode 1 runs the RA only and attaches to the ministry CA by configuration.
  auto ra_only = Config::Parse("[node]\nroles = ['ra']\ndeployment = 'province-1'\n"
                               "[ra]\nname = 'gd-ra'\nca_url = 'https://ca.example:8443'\n",
                               "/srv/gmpki");
  ASSERT_TRUE(ra_only.ok()) << ra_only.error().ToString();
  EXPECT_EQ(ra_only->ra_name, "gd-ra");
  EXPECT_EQ(Config::Parse(ra_only->ToToml(), "/srv/gmpki")->ra_ca_url, "https://ca.example:8443");
  // No [directory] section unless publication is configured (the all-in-one appends one).
  EXPECT_EQ(c->ToToml().find("[directory]"), std::string::npos);
  c->directory_url = "ldap://127.0.0.1:3890/";
  c->directory_bind_dn = "cn=manager,dc=gmpki,dc=test";
  c->directory_password_file = "/srv/gmpki/ldap/master/manager.pw";
  auto dir = Config::Parse(c->ToToml(), "/srv/gmpki");
  ASSERT_TRUE(dir.ok()) << dir.error().ToString();
  EXPECT_EQ(dir->directory_url, "ldap://127.0.0.1:3890/");
  EXPECT_EQ(dir->directory_password_file, "/srv/gmpki/ldap/master/manager.pw");
  EXPECT_EQ(dir->crl_refresh_seconds, 5);
}

// req: CC-FMT
TEST(ConfigTest, EveryKeyIsValidated) {
  struct Case {
    const char* toml;
    const char* message;
  } cases[] = {
      {"[server]\nlisen = '1.2.3.4:5'\n", "unknown key 'server.lisen'"},
      {"[nodes]\n", "unknown key 'nodes'"},
      {"[server]\nlisten = 'no-port'\n", "server.listen"},
      {"[server]\nlisten = '127.0.0.1:99999'\n", "port > 65535"},
      {"[server]\nthreads = 0\n", "server.threads"},
      {"[server]\nthreads = 'four'\n", "server.threads"},
      {"[node]\nroles = ['ca', 'printer']\n", "unknown role 'printer'"},
      {"[node]\ndeployment = 'county'\n", "node.deployment"},
      {"[device]\nkind = 'hsm9000'\n", "device.kind"},
      {"[device]\nthreshold = 4\nshares = 3\n", "threshold exceeds"},
      {"[database]\nurl = 'mysql://x'\n", "database.url"},
      {"[ca]\npublic_base_url = 'ftp://x'\n", "public_base_url"},
      {"[ca]\ncrl_validity_hours = 0\n", "crl_validity_hours"},
      {"[ca]\ncrl_partition_size = -1\n", "crl_partition_size"},
      {"[ca]\ncrl_refresh_seconds = -5\n", "crl_refresh_seconds"},
      {"[directory]\nurl = 'http://ldap'\n", "directory.url must be an ldap://"},
      {"[directory]\nurl = 'ldap://127.0.0.1:389/'\n", "needs directory.bind_dn"},
      {"[directory]\nrevoked_policy = 'burn'\n", "directory.revoked_policy"},
      {"[directory]\nbase = 'x'\n", "unknown key 'directory.base'"},
      {"[ocsp]\nvalidity_minutes = 10\nrefresh_margin_minutes = 10\n", "refresh_margin_minutes must be less"},
      {"[ocsp]\nenabled = 'yes'\n", "ocsp.enabled"},
      {"[km]\nretention_years = 5\n", "km.retention_years"},
      {"[km]\nurl = 'http://km:8444'\n", "km.url must be an https://"},
      {"[km]\npool_target = 10\npool_low_water = 20\n", "pool_low_water must not exceed"},
      {"[km]\npooltarget = 10\n", "unknown key 'km.pooltarget'"},
      {"node = 3\n", "'node' must be a table"},
      {"[server\n", "parse error at line 1"},
      {"[ra]\nname = 'Prov RA'\n", "ra.name"},
      {"[ra]\nca_url = 'http://ca:8080'\n", "ra.ca_url must be an https://"},
      {"[ra]\ncaurl = 'https://ca:8443'\n", "unknown key 'ra.caurl'"},
      {"[node]\nroles = ['ra']\n", "set ra.ca_url"},
  };
  for (const auto& c : cases) {
    auto st = ParseOnly(c.toml);
    ASSERT_FALSE(st.ok()) << c.toml;
    EXPECT_EQ(st.error().code(), ErrorCode::kConfigInvalid);
    EXPECT_NE(st.error().message().find(c.message), std::string::npos)
        << c.toml << " -> " << st.error().message();
  }
}

// req: CC-FMT
TEST(RolesTest, PermissionMatrixSeparatesDuties) {
  Actor op{"o", Role::kCaOperator}, sec{"s", Role::kSecurityAdmin}, aud{"a", Role::kAuditAdmin},
      sys{"y", Role::kSystemAdmin};
  EXPECT_TRUE(Authorize(op, Permission::kCertIssue).ok());
  EXPECT_FALSE(Authorize(sec, Permission::kCertIssue).ok());
  EXPECT_TRUE(Authorize(sec, Permission::kCaCreate).ok());
  EXPECT_FALSE(Authorize(op, Permission::kCaCreate).ok());
  EXPECT_TRUE(Authorize(aud, Permission::kAuditRead).ok());
  for (auto p : {Permission::kCaCreate, Permission::kCertIssue, Permission::kCertRevoke,
                 Permission::kCrlIssue, Permission::kCertRead, Permission::kOperatorManage}) {
    EXPECT_EQ(Authorize(aud, p).error().code(), ErrorCode::kPermissionDenied);
  }
  EXPECT_FALSE(Authorize(sys, Permission::kAuditRead).ok());
  EXPECT_TRUE(Authorize(sys, Permission::kOperatorManage).ok());
  // Registration: RA operators enter and review; the CA side's RA registry is the security
  // administrator's; an RA system may issue and revoke but never manage or review.
  Actor raop{"r", Role::kRaOperator}, rasys{"ra:x", Role::kRaSystem};
  EXPECT_TRUE(Authorize(raop, Permission::kSubscriberReview).ok());
  EXPECT_FALSE(Authorize(raop, Permission::kCertIssue).ok());
  EXPECT_TRUE(Authorize(sec, Permission::kRaManage).ok());
  EXPECT_FALSE(Authorize(op, Permission::kRaManage).ok());
  EXPECT_TRUE(Authorize(rasys, Permission::kCertIssue).ok());
  EXPECT_FALSE(Authorize(rasys, Permission::kRaManage).ok());
  EXPECT_FALSE(Authorize(rasys, Permission::kSubscriberReview).ok());
  EXPECT_FALSE(Authorize(rasys, Permission::kCrlIssue).ok());
  EXPECT_FALSE(IsAdministrativeRole(Role::kRaOperator));
  EXPECT_EQ(OperatorRoles().size(), AllRoles().size() - 1);
  for (Role r : AllRoles()) EXPECT_EQ(*ParseRole(RoleName(r)), r);
  EXPECT_FALSE(ParseRole("root").ok());
}

}  // namespace
}  // namespace gmpki::services
