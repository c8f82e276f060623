#include "store/sql_text.h"

#include <gtest/gtest.h>

#include "store/store.h"

namespace gmpki::store {
namespace {

TEST(SqlText, ValuesPlaceholdersListsRowsOfColumns) {
  EXPECT_EQ(ValuesPlaceholders(1, 1), "(?)");
  EXPECT_EQ(ValuesPlaceholders(2, 3), "(?,?,?),(?,?,?)");
  EXPECT_EQ(ValuesPlaceholders(0, 3), "");
}

TEST(SqlText, RewritesPlaceholdersOutsideLiteralsOnly) {
  auto r = RewritePlaceholders(
      "SELECT '?', \"a?\", ? -- why?\n, /* ? /* nested ? */ ? */ E'\\'?', $t$?$t$, ?");
  EXPECT_EQ(r.text,
            "SELECT '?', \"a?\", $1 -- why?\n, /* ? /* nested ? */ ? */ E'\\'?', $t$?$t$, $2");
  EXPECT_EQ(r.placeholders, 2u);
  EXPECT_EQ(RewritePlaceholders("x = 'it''s?' AND y = ?").text, "x = 'it''s?' AND y = $1");
  // Without the E prefix a backslash is an ordinary character: the literal ends at the quote.
  EXPECT_EQ(RewritePlaceholders("'\\' = ?").text, "'\\' = $1");
  EXPECT_EQ(RewritePlaceholders("no params").placeholders, 0u);
}

TEST(SqlText, SplitsStatementsOutsideLiterals) {
  auto parts = SplitStatements(
      "CREATE TABLE a (x TEXT DEFAULT ';');\n -- only a comment;\n"
      "INSERT INTO a VALUES ('b;c') ; ;  /* c; */  \nSELECT $$;$$");
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], "CREATE TABLE a (x TEXT DEFAULT ';')");
  EXPECT_EQ(parts[1], "-- only a comment;\nINSERT INTO a VALUES ('b;c')");
  EXPECT_EQ(parts[2], "/* c; */  \nSELECT $$;$$");
  EXPECT_TRUE(SplitStatements("  ;\n-- nothing\n").empty());
}

TEST(SqlText, PortableSqlSubstitutesPerBackend) {
  const std::string sql =
      "CREATE TABLE t (id {{autoid}}, n INTEGER, b {{blob}}, s TEXT DEFAULT 'INTEGER {{blob}}', "
      "integer_count integer)";
  EXPECT_EQ(*PortableSql(Backend::kSqlite, sql),
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER, b BLOB, "
            "s TEXT DEFAULT 'INTEGER {{blob}}', integer_count integer)");
  EXPECT_EQ(*PortableSql(Backend::kPostgres, sql),
            "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, n BIGINT, b BYTEA, "
            "s TEXT DEFAULT 'INTEGER {{blob}}', integer_count BIGINT)");
  EXPECT_EQ(PortableSql(Backend::kSqlite, "x {{float}}").error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(PortableSql(Backend::kSqlite, "x {{blob").error().code(),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace gmpki::store
