#include "store/sql_text.h"

#include <cctype>

#include "store/store.h"

namespace gmpki::store {
namespace {

bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$';
}

// If a literal, quoted identifier or comment starts at `i`, returns the index just past its
// end (or sql.size() when unterminated); otherwise returns `i`.
std::size_t SkipNonCode(std::string_view sql, std::size_t i) {
  const std::size_t n = sql.size();
  const char c = sql[i];
  if (c == '\'') {
    // E'...' (PostgreSQL escape string): a backslash escapes the next character.
    const bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                         (i == 1 || !IsIdentChar(sql[i - 2]));
    for (std::size_t j = i + 1; j < n; ++j) {
      if (escapes && sql[j] == '\\') {
        ++j;
      } else if (sql[j] == '\'') {
        if (j + 1 < n && sql[j + 1] == '\'') {
          ++j;  // '' is a quote inside the literal
        } else {
          return j + 1;
        }
      }
    }
    return n;
  }
  if (c == '"') {
    for (std::size_t j = i + 1; j < n; ++j) {
      if (sql[j] == '"') {
        if (j + 1 < n && sql[j + 1] == '"') {
          ++j;
        } else {
          return j + 1;
        }
      }
    }
    return n;
  }
  if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
    const std::size_t eol = sql.find('\n', i);
    return eol == std::string_view::npos ? n : eol + 1;
  }
  if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
    int depth = 0;  // PostgreSQL block comments nest
    for (std::size_t j = i; j + 1 < n; ++j) {
      if (sql[j] == '/' && sql[j + 1] == '*') {
        ++depth;
        ++j;
      } else if (sql[j] == '*' && sql[j + 1] == '/') {
        ++j;
        if (--depth == 0) return j + 1;
      }
    }
    return n;
  }
  if (c == '$' && (i == 0 || !IsIdentChar(sql[i - 1]))) {
    // $tag$ ... $tag$ where tag is empty or an identifier (not $1, a parameter).
    std::size_t j = i + 1;
    if (j < n && std::isdigit(static_cast<unsigned char>(sql[j])) != 0) return i;
    while (j < n && IsIdentChar(sql[j]) && sql[j] != '$') ++j;
    if (j >= n || sql[j] != '$') return i;
    const std::string_view tag = sql.substr(i, j - i + 1);
    const std::size_t close = sql.find(tag, j + 1);
    return close == std::string_view::npos ? n : close + tag.size();
  }
  return i;
}

bool IsBlankOrComment(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t end = SkipNonCode(s, i);
    if (end != i) {
      const bool comment = s[i] == '-' || s[i] == '/';
      if (!comment) return false;
      i = end;
    } else if (std::isspace(static_cast<unsigned char>(s[i])) != 0) {
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

std::string Trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b])) != 0) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])) != 0) --e;
  return std::string(s.substr(b, e - b));
}

bool StartsWithWordCi(std::string_view sql, std::size_t i, std::string_view word) {
  if (sql.size() - i < word.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k) {
    if (std::toupper(static_cast<unsigned char>(sql[i + k])) != word[k]) return false;
  }
  if (i > 0 && IsIdentChar(sql[i - 1])) return false;
  const std::size_t after = i + word.size();
  return after == sql.size() || !IsIdentChar(sql[after]);
}

}  // namespace

std::vector<std::string> SplitStatements(std::string_view sql) {
  std::vector<std::string> out;
  std::size_t start = 0;
  auto flush = [&](std::size_t end) {
    const std::string_view piece = sql.substr(start, end - start);
    if (!IsBlankOrComment(piece)) out.push_back(Trim(piece));
  };
  for (std::size_t i = 0; i < sql.size();) {
    const std::size_t end = SkipNonCode(sql, i);
    if (end != i) {
      i = end;
    } else if (sql[i] == ';') {
      flush(i);
      start = ++i;
    } else {
      ++i;
    }
  }
  flush(sql.size());
  return out;
}

RewrittenSql RewritePlaceholders(std::string_view sql) {
  RewrittenSql r;
  r.text.reserve(sql.size() + 16);
  for (std::size_t i = 0; i < sql.size();) {
    const std::size_t end = SkipNonCode(sql, i);
    if (end != i) {
      r.text.append(sql.substr(i, end - i));
      i = end;
    } else if (sql[i] == '?') {
      r.text += '$';
      r.text += std::to_string(++r.placeholders);
      ++i;
    } else {
      r.text += sql[i++];
    }
  }
  return r;
}

std::string ValuesPlaceholders(std::size_t rows, std::size_t columns) {
  std::string row = "(";
  for (std::size_t c = 0; c < columns; ++c) row += c ? ",?" : "?";
  row += ")";
  std::string out;
  out.reserve(rows * (row.size() + 1));
  for (std::size_t r = 0; r < rows; ++r) {
    if (r) out += ',';
    out += row;
  }
  return out;
}

Result<std::string> PortableSql(Backend backend, std::string_view sql) {
  const bool pg = backend == Backend::kPostgres;
  std::string out;
  out.reserve(sql.size() + 32);
  for (std::size_t i = 0; i < sql.size();) {
    const std::size_t end = SkipNonCode(sql, i);
    if (end != i) {
      out.append(sql.substr(i, end - i));
      i = end;
      continue;
    }
    if (sql.compare(i, 2, "{{") == 0) {
      const std::size_t close = sql.find("}}", i + 2);
      if (close == std::string_view::npos) {
        return Error(ErrorCode::kInvalidArgument, "unterminated {{ in SQL");
      }
      const std::string_view name = sql.substr(i + 2, close - i - 2);
      if (name == "blob") {
        out += pg ? "BYTEA" : "BLOB";
      } else if (name == "autoid") {
        out += pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT";
      } else {
        return Error(ErrorCode::kInvalidArgument,
                     "unknown SQL substitution {{" + std::string(name) + "}}");
      }
      i = close + 2;
    } else if (pg && StartsWithWordCi(sql, i, "INTEGER")) {
      out += "BIGINT";
      i += 7;
    } else {
      out += sql[i++];
    }
  }
  return out;
}

}  // namespace gmpki::store
