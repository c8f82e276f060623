// Lexical helpers for portable SQL text, shared by the backends and Database::Migrate.
// They understand just enough SQL to know what is code and what is not: single-quoted literals
// (with '' and, after E, backslash escapes), double-quoted identifiers, -- and /* */ comments,
// and PostgreSQL dollar-quoted strings. Nothing inside those is ever rewritten or split.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace gmpki::store {

// Splits on ';' outside literals and comments. Fragments that hold only whitespace and
// comments are dropped; the others are returned trimmed, without their ';'.
std::vector<std::string> SplitStatements(std::string_view sql);

struct RewrittenSql {
  std::string text;
  std::size_t placeholders = 0;
};
// Replaces each '?' placeholder outside literals and comments by $1, $2, ... (PostgreSQL).
RewrittenSql RewritePlaceholders(std::string_view sql);

}  // namespace gmpki::store
