#include "net/http.h"

#include <nlohmann/json.hpp>

namespace gmpki::net {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    char x = Lower(a[i]), y = Lower(b[i]);
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

std::string HttpRequest::Header(std::string_view name, std::string_view fallback) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string(fallback) : it->second;
}

HttpResponse JsonResponse(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  // Replace invalid UTF-8 rather than throwing: a handler's data must not crash the response.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.content_type = std::string(kJsonContentType);
  return r;
}

HttpResponse TextResponse(int status, std::string body, std::string_view content_type) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::string(content_type);
  return r;
}

std::string ProblemTypeUri(std::string_view slug) {
  return "https://gmpki.dev/problems/" + std::string(slug);
}

HttpResponse ProblemResponse(int status, std::string_view slug, std::string_view title,
                             std::string_view detail, std::string_view instance) {
  // RFC 9457 §3.1: type, title, status, detail, instance members.
  nlohmann::json j = {{"type", ProblemTypeUri(slug)},
                      {"title", std::string(title)},
                      {"status", status}};
  if (!detail.empty()) j["detail"] = std::string(detail);
  if (!instance.empty()) j["instance"] = std::string(instance);
  HttpResponse r = JsonResponse(status, j);
  r.content_type = std::string(kProblemContentType);
  return r;
}

HttpResponse ProblemResponse(const Error& error, std::string_view instance) {
  const ErrorInfo& info = error.info();
  return ProblemResponse(info.http_status, info.slug, info.title, error.message(), instance);
}

Result<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) {
        return Error(ErrorCode::kMalformedInput, "truncated percent escape");
      }
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return Error(ErrorCode::kMalformedInput, "bad percent escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Status ParseTarget(std::string_view target, std::string* path,
                   std::map<std::string, std::string>* query) {
  std::size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  // The path stays undecoded here: the router splits on '/' first and decodes each segment,
  // so an encoded "%2F" cannot forge an extra segment.
  *path = std::string(raw_path);
  query->clear();
  if (q == std::string_view::npos) return OkStatus();
  std::string_view rest = target.substr(q + 1);
  std::size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  while (!rest.empty()) {
    std::size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    GMPKI_ASSIGN_OR_RETURN(std::string key, PercentDecode(pair.substr(0, eq), true));
    std::string value;
    if (eq != std::string_view::npos) {
      GMPKI_ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(eq + 1), true));
    }
    (*query)[std::move(key)] = std::move(value);
  }
  return OkStatus();
}

}  // namespace gmpki::net
