#include "services/core/config.h"

#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

namespace gmpki::services {
namespace {

namespace fs = std::filesystem;

Error Invalid(const std::string& msg) { return Error(ErrorCode::kConfigInvalid, "gmpki.toml: " + msg); }

// Checks that a table holds only the keys we know.
Status CheckKeys(const toml::table& t, const std::string& where, const std::set<std::string>& allowed) {
  for (const auto& [k, v] : t) {
    std::string key(k.str());
    if (!allowed.count(key)) {
      return Invalid("unknown key '" + (where.empty() ? key : where + "." + key) + "'");
    }
  }
  return OkStatus();
}

template <class T>
Status Get(const toml::table& t, const std::string& table, const char* key, T& out) {
  const toml::node* n = t.get(key);
  if (!n) return OkStatus();
  if (auto v = n->value<T>()) {
    out = *v;
    return OkStatus();
  }
  return Invalid("key '" + table + "." + key + "' has the wrong type");
}

Status GetInt(const toml::table& t, const std::string& table, const char* key, int& out, int lo, int hi) {
  const toml::node* n = t.get(key);
  if (!n) return OkStatus();
  auto v = n->value<std::int64_t>();
  if (!v || !n->is_integer()) return Invalid("key '" + table + "." + key + "' must be an integer");
  if (*v < lo || *v > hi) {
    return Invalid("key '" + table + "." + key + "' = " + std::to_string(*v) + " is outside [" +
                   std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  out = static_cast<int>(*v);
  return OkStatus();
}

Status GetStrings(const toml::table& t, const std::string& table, const char* key,
                  std::vector<std::string>& out) {
  const toml::node* n = t.get(key);
  if (!n) return OkStatus();
  const toml::array* a = n->as_array();
  if (!a) return Invalid("key '" + table + "." + key + "' must be an array of strings");
  out.clear();
  for (const auto& e : *a) {
    auto s = e.value<std::string>();
    if (!s) return Invalid("key '" + table + "." + key + "' must be an array of strings");
    out.push_back(*s);
  }
  return OkStatus();
}

Status CheckHostPort(const std::string& key, const std::string& v) {
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == v.size()) {
    return Invalid("key '" + key + "' = '" + v + "' must be HOST:PORT");
  }
  for (std::size_t i = colon + 1; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') return Invalid("key '" + key + "' has a non-numeric port");
  }
  if (std::stoul(v.substr(colon + 1)) > 65535) return Invalid("key '" + key + "' port > 65535");
  return OkStatus();
}

fs::path Resolve(const fs::path& home, const fs::path& p) {
  if (p.empty() || p.is_absolute()) return p;
  return home / p;
}

}  // namespace

void Config::ApplyHomeDefaults() {
  if (database_url.empty()) database_url = "sqlite:" + (home / "gmpki.db").string();
  if (device_file.empty()) device_file = home / "device" / "keys.sealed";
  if (tls_cert.empty()) tls_cert = home / "tls" / "server.pem";
  if (tls_key.empty()) tls_key = home / "tls" / "server.key";
  if (tls_client_ca.empty()) tls_client_ca = home / "tls" / "ca.pem";
  device_file = Resolve(home, device_file);
  tls_cert = Resolve(home, tls_cert);
  tls_key = Resolve(home, tls_key);
  tls_client_ca = Resolve(home, tls_client_ca);
  for (auto& f : share_files) f = Resolve(home, f);
}

Result<Config> Config::Parse(const std::string& text, const fs::path& home) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "parse error at line " << e.source().begin.line << ": " << e.description();
    return Invalid(os.str());
  }
  Config c;
  c.home = home;
  GMPKI_RETURN_IF_ERROR(CheckKeys(root, "", {"node", "database", "device", "server", "ca", "ra", "km", "audit",
                                             "ocsp", "directory"}));
  auto table = [&](const char* name) -> Result<const toml::table*> {
    const toml::node* n = root.get(name);
    if (!n) return static_cast<const toml::table*>(nullptr);
    if (!n->is_table()) return Invalid(std::string("'") + name + "' must be a table");
    return n->as_table();
  };

  GMPKI_ASSIGN_OR_RETURN(const toml::table* node, table("node"));
  if (node) {
    GMPKI_RETURN_IF_ERROR(CheckKeys(*node, "node", {"name", "roles", "deployment", "demo"}));
    GMPKI_RETURN_IF_ERROR(Get(*node, "node", "name", c.node_name));
    GMPKI_RETURN_IF_ERROR(GetStrings(*node, "node", "roles", c.roles));
    GMPKI_RETURN_IF_ERROR(Get(*node, "node", "deployment", c.deployment));
    GMPKI_RETURN_IF_ERROR(Get(*node, "node", "demo", c.demo));
  }
  if (c.node_name.empty() || c.node_name.size() > 64) return Invalid("node.name must be 1..64 characters");
  static const std::set<std::string> kRoles = {"ca", "ra", "km", "va", "svs", "tsa", "seal", "mgmt"};
  for (const auto& r : c.roles) {
    if (!kRoles.count(r)) return Invalid("node.roles has unknown role '" + r + "'");
  }
  static const std::set<std::string> kDeployments = {"ministry", "province-1", "province-2", "city"};
  if (!kDeployments.count(c.deployment)) {
    return Invalid("node.deployment '" + c.deployment +
                   "' must be ministry, province-1, province-2 or city");
  }

  GMPKI_ASSIGN_OR_RETURN(const toml::table* db, table("database"));
  if (db) {
    GMPKI_RETURN_IF_ERROR(CheckKeys(*db, "database", {"url"}));
    GMPKI_RETURN_IF_ERROR(Get(*db, "database", "url", c.database_url));
    if (!c.database_url.empty() && c.database_url.rfind("sqlite:", 0) != 0 &&
        c.database_url.rfind("postgresql://", 0) != 0 && c.database_url.rfind("postgres://", 0) != 0) {
      return Invalid("database.url must start with sqlite:, postgresql:// or postgres://");
    }
  }

  GMPKI_ASSIGN_OR_RETURN(const toml::table* dev, table("device"));
  if (dev) {
    GMPKI_RETURN_IF_ERROR(CheckKeys(*dev, "device", {"kind", "file", "threshold", "shares", "share_files"}));
    GMPKI_RETURN_IF_ERROR(Get(*dev, "device", "kind", c.device_kind));
    std::string file;
    GMPKI_RETURN_IF_ERROR(Get(*dev, "device", "file", file));
    c.device_file = file;
    GMPKI_RETURN_IF_ERROR(GetInt(*dev, "device", "threshold", c.device_threshold, 2, 255));
    GMPKI_RETURN_IF_ERROR(GetInt(*dev, "device", "shares", c.device_shares, 2, 255));
    std::vector<std::string> shares;
    GMPKI_RETURN_IF_ERROR(GetStrings(*dev, "device", "share_files", shares));
    for (auto& s : shares) c.share_files.emplace_back(s);
  }
  if (c.device_kind != "soft") return Invalid("device.kind '" + c.device_kind + "' is not supported (soft)");
  if (c.device_threshold > c.device_shares) return Invalid("device.threshold exceeds device.shares");

  GMPKI_ASSIGN_OR_RETURN(const toml::table* srv, table("server"));
  if (srv) {
    GMPKI_RETURN_IF_ERROR(CheckKeys(*srv, "server", {"listen", "http_listen", "threads", "max_body_bytes",
                                                     "tls_cert", "tls_key", "tls_client_ca"}));
    GMPKI_RETURN_IF_ERROR(Get(*srv, "server", "listen", c.listen));
    GMPKI_RETURN_IF_ERROR(Get(*srv, "server", "http_listen", c.http_listen));
    GMPKI_RETURN_IF_ERROR(GetInt(*srv, "server", "threads", c.threads, 1, 256));
    int max_body = static_cast<int>(c.max_body_bytes);
    GMPKI_RETURN_IF_ERROR(GetInt(*srv, "server", "max_body_bytes", max_body, 1024, 256 << 20));
    c.max_body_bytes = static_cast<std::size_t>(max_body);
    std::string p;
    GMPKI_RETURN_IF_ERROR(Get(*srv, "server", "tls_cert", p));
    c.tls_cert = p;
    p.clear();
    GMPKI_RETURN_IF_ERROR(Get(*srv, "server", "tls_key", p));
    c.tls_key = p;
    p.clear();
    GMPKI_RETURN_IF_ERROR(Get(*srv, "server", "tls_client_ca", p));
    c.tls_client_ca = p;
  }
  GMPKI_RETURN_IF_ERROR(CheckHostPort("server.listen", c.listen));
  if (!c.http_listen.empty()) GMPKI_RETURN_IF_ERROR(CheckHostPort("server.http_listen", c.http_listen));

  GMPKI_ASSIGN_OR_RETURN(const toml::table* ca, table("ca"));
  if (ca) {
    GMPKI_RETURN_IF_ERROR(CheckKeys(*ca, "ca", {"public_base_url", "default_validity_days", "crl_validity_hours",
                                                "crl_partition_size", "crl_refresh_seconds"}));
    GMPKI_RETURN_IF_ERROR(Get(*ca, "ca", "public_base_url", c.public_base_url));
    GMPKI_RETURN_IF_ERROR(GetInt(*ca, "ca", "default_validity_days", c.default_validity_days, 1, 36500));
    GMPKI_RETURN_IF_ERROR(GetInt(*ca, "ca", "crl_validity_hours", c.crl_validity_hours, 1, 24 * 366));
    GMPKI_RETURN_IF_ERROR(GetInt(*ca, "ca", "crl_partition_size", c.crl_partition_size, 0, 10'000'000));
    GMPKI_RETURN_IF_ERROR(GetInt(*ca, "ca", "crl_refresh_seconds", c.crl_refresh_seconds, 0, 86400));
  }
  if (c.public_base_url.rfind("http://", 0) != 0 && c.public_base_url.rfind("https://", 0) != 0) {
    return Invalid("ca.public_base_url must be an http:// or https:// URL");
  }

  GMPKI_ASSIGN_OR_RETURN(const toml::table* ra, table("ra"));
  if (ra) {
    GMPKI_RETURN_IF_ERROR(CheckKeys(*ra, "ra", {"name", "ca_url"}));
    GMPKI_RETURN_IF_ERROR(Get(*ra, "ra", "name", c.ra_name));
    GMPKI_RETURN_IF_ERROR(Get(*ra, "ra", "ca_url", c.ra_ca_url));
  }
  if (!IsValidRaName(c.ra_name)) return Invalid("ra.name must be 1..64 of a-z, 0-9 and '-'");
  if (!c.ra_ca_url.empty() && c.ra_ca_url.rfind("https://", 0) != 0) {
    return Invalid("ra.ca_url must be an https:// URL (the RA reaches its CA over mutual TLS)");
  }
  {
    bool has_ra = false, has_ca = false;
    for (const auto& r : c.roles) {
      has_ra |= r == "ra";
      has_ca |= r == "ca";
    }
    if (has_ra && !has_ca && c.ra_ca_url.empty()) {
      return Invalid("node.roles has 'ra' without 'ca': set ra.ca_url to the CA this RA attaches to");
    }
  }

  GMPKI_ASSIGN_OR_RETURN(const toml::table* km, table("km"));
  if (km) {
    GMPKI_RETURN_IF_ERROR(CheckKeys(*km, "km", {"url", "pool_target", "pool_low_water", "retention_years",
                                                "recovery_window_hours"}));
    GMPKI_RETURN_IF_ERROR(Get(*km, "km", "url", c.km_url));
    GMPKI_RETURN_IF_ERROR(GetInt(*km, "km", "pool_target", c.km_pool_target, 0, 10'000'000));
    GMPKI_RETURN_IF_ERROR(GetInt(*km, "km", "pool_low_water", c.km_pool_low_water, 0, 10'000'000));
    GMPKI_RETURN_IF_ERROR(GetInt(*km, "km", "retention_years", c.km_retention_years, 10, 100));
    GMPKI_RETURN_IF_ERROR(GetInt(*km, "km", "recovery_window_hours", c.km_recovery_window_hours, 1, 24 * 30));
  }
  if (!c.km_url.empty() && c.km_url.rfind("https://", 0) != 0) {
    return Invalid("km.url must be an https:// URL (the CA reaches its KM over mutual TLS)");
  }
  if (c.km_pool_low_water > c.km_pool_target) return Invalid("km.pool_low_water must not exceed km.pool_target");

  GMPKI_ASSIGN_OR_RETURN(const toml::table* oc, table("ocsp"));
  if (oc) {
    GMPKI_RETURN_IF_ERROR(CheckKeys(*oc, "ocsp", {"enabled", "validity_minutes", "refresh_margin_minutes",
                                                  "cache_mb"}));
    GMPKI_RETURN_IF_ERROR(Get(*oc, "ocsp", "enabled", c.ocsp_enabled));
    GMPKI_RETURN_IF_ERROR(GetInt(*oc, "ocsp", "validity_minutes", c.ocsp_validity_minutes, 5, 7 * 24 * 60));
    GMPKI_RETURN_IF_ERROR(GetInt(*oc, "ocsp", "refresh_margin_minutes", c.ocsp_refresh_margin_minutes, 1,
                                 7 * 24 * 60));
    GMPKI_RETURN_IF_ERROR(GetInt(*oc, "ocsp", "cache_mb", c.ocsp_cache_mb, 1, 1 << 20));
  }
  if (c.ocsp_refresh_margin_minutes >= c.ocsp_validity_minutes) {
    return Invalid("ocsp.refresh_margin_minutes must be less than ocsp.validity_minutes");
  }
  GMPKI_ASSIGN_OR_RETURN(const toml::table* dir, table("directory"));
  if (dir) {
    GMPKI_RETURN_IF_ERROR(CheckKeys(*dir, "directory", {"url", "bind_dn", "password_file", "suffix",
                                                        "revoked_policy", "replica_url"}));
    GMPKI_RETURN_IF_ERROR(Get(*dir, "directory", "url", c.directory_url));
    GMPKI_RETURN_IF_ERROR(Get(*dir, "directory", "bind_dn", c.directory_bind_dn));
    std::string pw;
    GMPKI_RETURN_IF_ERROR(Get(*dir, "directory", "password_file", pw));
    c.directory_password_file = pw;
    GMPKI_RETURN_IF_ERROR(Get(*dir, "directory", "suffix", c.directory_suffix));
    GMPKI_RETURN_IF_ERROR(Get(*dir, "directory", "revoked_policy", c.directory_revoked_policy));
    GMPKI_RETURN_IF_ERROR(Get(*dir, "directory", "replica_url", c.directory_replica_url));
  }
  if (!c.directory_url.empty()) {
    if (c.directory_url.rfind("ldap://", 0) != 0 && c.directory_url.rfind("ldaps://", 0) != 0) {
      return Invalid("directory.url must be an ldap:// or ldaps:// URL");
    }
    if (c.directory_bind_dn.empty() || c.directory_password_file.empty()) {
      return Invalid("directory.url needs directory.bind_dn and directory.password_file");
    }
  }
  if (c.directory_revoked_policy != "keep" && c.directory_revoked_policy != "remove") {
    return Invalid("directory.revoked_policy must be \"keep\" or \"remove\"");
  }

  GMPKI_ASSIGN_OR_RETURN(const toml::table* au, table("audit"));
  if (au) {
    GMPKI_RETURN_IF_ERROR(CheckKeys(*au, "audit", {"checkpoint_interval_seconds"}));
    GMPKI_RETURN_IF_ERROR(GetInt(*au, "audit", "checkpoint_interval_seconds", c.checkpoint_interval_seconds, 1, 86400));
  }
  c.ApplyHomeDefaults();
  return c;
}

bool IsValidRaName(std::string_view n) {
  bool ok = !n.empty() && n.size() <= 64;
  for (char c : n) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  return ok;
}

Result<Config> Config::Load(const fs::path& home) {
  std::ifstream in(home / "gmpki.toml");
  if (!in) {
    return Error(ErrorCode::kConfigInvalid,
                 "cannot read " + (home / "gmpki.toml").string() + " (is --home a gmpki home?)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), home);
}

std::string Config::ToToml() const {
  toml::array roles_arr;
  for (const auto& r : roles) roles_arr.push_back(r);
  toml::array share_arr;
  for (const auto& s : share_files) share_arr.push_back(fs::relative(s, home).string());
  toml::table t{
      {"node", toml::table{{"name", node_name}, {"roles", roles_arr}, {"deployment", deployment}, {"demo", demo}}},
      {"database", toml::table{{"url", database_url}}},
      {"device", toml::table{{"kind", device_kind},
                             {"file", fs::relative(device_file, home).string()},
                             {"threshold", device_threshold},
                             {"shares", device_shares},
                             {"share_files", share_arr}}},
      {"server", toml::table{{"listen", listen},
                             {"http_listen", http_listen},
                             {"threads", threads},
                             {"max_body_bytes", static_cast<std::int64_t>(max_body_bytes)}}},
      {"ca", toml::table{{"public_base_url", public_base_url},
                         {"default_validity_days", default_validity_days},
                         {"crl_validity_hours", crl_validity_hours},
                         {"crl_partition_size", crl_partition_size},
                         {"crl_refresh_seconds", crl_refresh_seconds}}},
      {"ra", toml::table{{"name", ra_name}, {"ca_url", ra_ca_url}}},
      {"km", toml::table{{"url", km_url},
                         {"pool_target", km_pool_target},
                         {"pool_low_water", km_pool_low_water},
                         {"retention_years", km_retention_years},
                         {"recovery_window_hours", km_recovery_window_hours}}},
      {"audit", toml::table{{"checkpoint_interval_seconds", checkpoint_interval_seconds}}},
      {"ocsp", toml::table{{"enabled", ocsp_enabled},
                           {"validity_minutes", ocsp_validity_minutes},
                           {"refresh_margin_minutes", ocsp_refresh_margin_minutes},
                           {"cache_mb", ocsp_cache_mb}}},
  };
  if (!directory_url.empty()) {
    t.insert("directory", toml::table{{"url", directory_url},
                                      {"bind_dn", directory_bind_dn},
                                      {"password_file", directory_password_file.string()},
                                      {"suffix", directory_suffix},
                                      {"revoked_policy", directory_revoked_policy},
                                      {"replica_url", directory_replica_url}});
  }
  std::ostringstream os;
  os << "# gmpki node configuration. Every key is validated at start.\n" << t << "\n";
  return os.str();
}

}  // namespace gmpki::services
