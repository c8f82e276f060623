// Entry names of the directory layout (README.md "DIT"): unique, stable, escaped per RFC 4514.
#include <gtest/gtest.h>

#include "services/directory/ldap_publisher.h"

namespace gmpki::directory {
namespace {

// req: CA-03
TEST(DitLayoutTest, NamesFollowTheDocumentedLayout) {
  DitLayout l("dc=gmpki,dc=test");
  EXPECT_EQ(l.CasDn(), "ou=CAs,dc=gmpki,dc=test");
  EXPECT_EQ(l.CaDn("biz"), "cn=biz,ou=CAs,dc=gmpki,dc=test");
  EXPECT_EQ(l.PartitionDn("biz", 7), "cn=crl-p7,cn=biz,ou=CAs,dc=gmpki,dc=test");
  EXPECT_EQ(l.CertificateDn("biz", "1A2B"), "uid=1A2B,cn=biz,ou=CAs,dc=gmpki,dc=test");
}

// req: CA-03
TEST(DitLayoutTest, DnValuesAreEscapedPerRfc4514) {
  EXPECT_EQ(EscapeDnValue("plain-name_1"), "plain-name_1");
  EXPECT_EQ(EscapeDnValue("a,b+c=d"), "a\\,b\\+c\\=d");
  EXPECT_EQ(EscapeDnValue("\"q\";<x>\\"), "\\\"q\\\"\\;\\<x\\>\\\\");
  EXPECT_EQ(EscapeDnValue("#lead"), "\\#lead");
  EXPECT_EQ(EscapeDnValue(" sp "), "\\ sp\\ ");
  EXPECT_EQ(EscapeDnValue(std::string("a\0b", 3)), "a\\00b");
  DitLayout l("o=Test");
  EXPECT_EQ(l.CaDn("x,y"), "cn=x\\,y,ou=CAs,o=Test");
}

}  // namespace
}  // namespace gmpki::directory
