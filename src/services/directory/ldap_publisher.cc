// The one home of libldap in gmpki (CONVENTIONS "one home per external library").
#include "services/directory/ldap_publisher.h"

#include <ldap.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <ctime>
#include <fstream>

namespace gmpki::directory {
namespace {

// libldap writes to its socket with plain write(2): a server that closed the connection would
// raise SIGPIPE and end the whole process. Block SIGPIPE on this thread for the duration of an
// LDAP call and swallow one raised meanwhile (the call then fails with LDAP_SERVER_DOWN), without
// changing the process-wide disposition that the rest of gmpki relies on.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        timespec zero{0, 0};
        while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};

Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// An LDAPMod array with storage that outlives the libldap call.
class ModList {
 public:
  void Add(int op, const std::string& type, const std::vector<Bytes>& values) {
    auto& e = entries_.emplace_back();
    e.type = type;
    for (const Bytes& v : values) {
      berval bv;
      bv.bv_len = static_cast<ber_len_t>(v.size());
      // libldap takes non-const pointers but does not write through them.
      bv.bv_val = const_cast<char*>(reinterpret_cast<const char*>(v.data()));
      e.values.push_back(bv);
    }
    e.op = op;
  }
  LDAPMod** get() {
    mods_.clear();
    ptrs_.clear();
    mods_.reserve(entries_.size());
    for (auto& e : entries_) {
      e.ptrs.clear();
      for (auto& bv : e.values) e.ptrs.push_back(&bv);
      e.ptrs.push_back(nullptr);
      LDAPMod m{};
      m.mod_op = e.op | LDAP_MOD_BVALUES;
      m.mod_type = e.type.data();
      m.mod_bvalues = e.ptrs.data();
      mods_.push_back(m);
    }
    for (auto& m : mods_) ptrs_.push_back(&m);
    ptrs_.push_back(nullptr);
    return ptrs_.data();
  }

 private:
  struct Entry {
    int op = 0;
    std::string type;
    std::vector<berval> values;
    std::vector<berval*> ptrs;
  };
  std::vector<Entry> entries_;
  std::vector<LDAPMod> mods_;
  std::vector<LDAPMod*> ptrs_;
};

bool ConnectionBroken(int rc) {
  return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
         rc == LDAP_LOCAL_ERROR || rc == LDAP_ENCODING_ERROR || rc == LDAP_DECODING_ERROR;
}

}  // namespace

std::string EscapeDnValue(std::string_view value) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    bool special = c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' ||
                   c == ';' || c == '=';
    bool edge = (i == 0 && (c == ' ' || c == '#')) || (i + 1 == value.size() && c == ' ');
    if (c == '\0') {
      out += "\\00";
    } else {
      if (special || edge) out.push_back('\\');
      out.push_back(c);
    }
  }
  return out;
}

std::string DitLayout::CasDn() const { return "ou=CAs," + suffix_; }
std::string DitLayout::CaDn(const std::string& ca) const {
  return "cn=" + EscapeDnValue(ca) + "," + CasDn();
}
std::string DitLayout::PartitionDn(const std::string& ca, std::int64_t partition) const {
  return "cn=crl-p" + std::to_string(partition) + "," + CaDn(ca);
}
std::string DitLayout::CertificateDn(const std::string& ca, const std::string& serial_hex) const {
  return "uid=" + EscapeDnValue(serial_hex) + "," + CaDn(ca);
}

struct LdapPublisher::Conn {
  LDAP* ld = nullptr;
  ~Conn() {
    if (ld) {
      SigpipeGuard guard;
      ldap_unbind_ext_s(ld, nullptr, nullptr);
    }
  }
};

Result<std::unique_ptr<LdapPublisher>> LdapPublisher::Create(const LdapSettings& settings) {
  if (settings.url.empty() || settings.bind_dn.empty() || settings.suffix.empty()) {
    return Error(ErrorCode::kConfigInvalid, "[directory] url, bind_dn and suffix are required");
  }
  if (settings.url.rfind("ldap://", 0) != 0 && settings.url.rfind("ldaps://", 0) != 0) {
    return Error(ErrorCode::kConfigInvalid,
                 "[directory] url must be ldap:// or ldaps://, got '" + settings.url + "'");
  }
  std::ifstream in(settings.password_file, std::ios::binary);
  if (!in) {
    return Error(ErrorCode::kIoError,
                 "cannot read the LDAP password file '" + settings.password_file + "'");
  }
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    return Error(ErrorCode::kIoError,
                 "LDAP password file '" + settings.password_file + "' is empty");
  }
  SecretBytes password(AsBytes(line));
  std::fill(line.begin(), line.end(), '\0');
  return std::unique_ptr<LdapPublisher>(new LdapPublisher(settings, std::move(password)));
}

LdapPublisher::LdapPublisher(LdapSettings settings, SecretBytes password)
    : settings_(std::move(settings)), password_(std::move(password)), layout_(settings_.suffix) {}

LdapPublisher::~LdapPublisher() = default;

Error LdapPublisher::Fail(int rc, const std::string& what) {
  std::string detail;
  if (conn_ && conn_->ld) {
    char* diag = nullptr;
    if (ldap_get_option(conn_->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) == LDAP_OPT_SUCCESS &&
        diag) {
      if (*diag) detail = std::string(" (") + diag + ")";
      ldap_memfree(diag);
    }
  }
  std::string msg = what + " at " + settings_.url + ": " + ldap_err2string(rc) + detail;
  if (ConnectionBroken(rc)) {
    conn_.reset();  // reopened by the next call
    return Error(ErrorCode::kUnavailable, msg);
  }
  switch (rc) {
    case LDAP_INVALID_CREDENTIALS:
    case LDAP_INAPPROPRIATE_AUTH:
      conn_.reset();
      return Error(ErrorCode::kUnauthenticated, msg);
    case LDAP_INSUFFICIENT_ACCESS:
    case LDAP_STRONG_AUTH_REQUIRED:
    case LDAP_CONFIDENTIALITY_REQUIRED:
      return Error(ErrorCode::kPermissionDenied, msg);
    case LDAP_NO_SUCH_OBJECT:
      return Error(ErrorCode::kNotFound, msg);
    case LDAP_ALREADY_EXISTS:
      return Error(ErrorCode::kAlreadyExists, msg);
    case LDAP_BUSY:
    case LDAP_UNAVAILABLE:
    case LDAP_UNWILLING_TO_PERFORM:
      return Error(ErrorCode::kUnavailable, msg);
    default:
      return Error(ErrorCode::kStorageFailure, msg);
  }
}

Status LdapPublisher::ConnectLocked() {
  if (conn_) return OkStatus();
  auto conn = std::make_unique<Conn>();
  int rc = ldap_initialize(&conn->ld, settings_.url.c_str());
  if (rc != LDAP_SUCCESS || !conn->ld) {
    return Error(ErrorCode::kConfigInvalid,
                 "bad LDAP url '" + settings_.url + "': " + ldap_err2string(rc));
  }
  int version = LDAP_VERSION3;
  ldap_set_option(conn->ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(conn->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  auto ms = settings_.timeout.count();
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  ldap_set_option(conn->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(conn->ld, LDAP_OPT_TIMEOUT, &tv);
  berval cred;
  cred.bv_len = static_cast<ber_len_t>(password_.size());
  cred.bv_val = reinterpret_cast<char*>(password_.data());
  conn_ = std::move(conn);
  SigpipeGuard guard;
  rc = ldap_sasl_bind_s(conn_->ld, settings_.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr,
                        nullptr, nullptr);
  if (rc != LDAP_SUCCESS) {
    Error e = Fail(rc, "LDAP bind as '" + settings_.bind_dn + "'");
    conn_.reset();
    return e;
  }
  return OkStatus();
}

Status LdapPublisher::Connect() {
  std::lock_guard<std::mutex> lock(mu_);
  return ConnectLocked();
}

Status LdapPublisher::AddIfMissing(const std::string& dn,
                                   const std::vector<std::string>& object_classes,
                                   const std::vector<Attr>& attrs) {
  GMPKI_RETURN_IF_ERROR(ConnectLocked());
  ModList add;
  std::vector<Bytes> oc;
  for (const auto& c : object_classes) oc.push_back(Text(c));
  add.Add(LDAP_MOD_ADD, "objectClass", oc);
  for (const auto& a : attrs) add.Add(LDAP_MOD_ADD, a.type, a.values);
  SigpipeGuard guard;
  int rc = ldap_add_ext_s(conn_->ld, dn.c_str(), add.get(), nullptr, nullptr);
  if (rc == LDAP_SUCCESS || rc == LDAP_ALREADY_EXISTS) return OkStatus();
  return Fail(rc, "LDAP add '" + dn + "'");
}

Status LdapPublisher::Upsert(const std::string& dn, const std::vector<std::string>& object_classes,
                             const std::vector<Attr>& rdn_attrs, const std::vector<Attr>& attrs) {
  GMPKI_RETURN_IF_ERROR(ConnectLocked());
  SigpipeGuard guard;
  // Two rounds: a concurrent publisher may add the entry between our modify and add.
  for (int round = 0; round < 2; ++round) {
    ModList mod;
    for (const auto& a : attrs) mod.Add(LDAP_MOD_REPLACE, a.type, a.values);
    int rc = ldap_modify_ext_s(conn_->ld, dn.c_str(), mod.get(), nullptr, nullptr);
    if (rc == LDAP_SUCCESS) return OkStatus();
    if (rc != LDAP_NO_SUCH_OBJECT) return Fail(rc, "LDAP modify '" + dn + "'");
    ModList add;
    std::vector<Bytes> oc;
    for (const auto& c : object_classes) oc.push_back(Text(c));
    add.Add(LDAP_MOD_ADD, "objectClass", oc);
    for (const auto& a : rdn_attrs) add.Add(LDAP_MOD_ADD, a.type, a.values);
    for (const auto& a : attrs) add.Add(LDAP_MOD_ADD, a.type, a.values);
    rc = ldap_add_ext_s(conn_->ld, dn.c_str(), add.get(), nullptr, nullptr);
    if (rc == LDAP_SUCCESS) return OkStatus();
    if (rc != LDAP_ALREADY_EXISTS) return Fail(rc, "LDAP add '" + dn + "'");
  }
  return Error(ErrorCode::kConflict, "LDAP entry '" + dn + "' keeps changing under us");
}

Status LdapPublisher::EnsureDit() {
  std::lock_guard<std::mutex> lock(mu_);
  // The suffix entry: its object class follows its first RDN's type.
  const std::string& s = settings_.suffix;
  std::size_t eq = s.find('='), comma = s.find(',');
  if (eq == std::string::npos || (comma != std::string::npos && comma < eq)) {
    return Error(ErrorCode::kConfigInvalid, "[directory] suffix '" + s + "' is not a DN");
  }
  std::string type = s.substr(0, eq);
  std::string value =
      s.substr(eq + 1, comma == std::string::npos ? std::string::npos : comma - eq - 1);
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  Status st;
  if (type == "dc") {
    st = AddIfMissing(s, {"dcObject", "organization"},
                      {{"dc", {Text(value)}}, {"o", {Text(value)}}});
  } else if (type == "o") {
    st = AddIfMissing(s, {"organization"}, {{"o", {Text(value)}}});
  } else if (type == "ou") {
    st = AddIfMissing(s, {"organizationalUnit"}, {{"ou", {Text(value)}}});
  } else {
    return Error(ErrorCode::kConfigInvalid,
                 "[directory] suffix must start with dc=, o= or ou=, got '" + s + "'");
  }
  GMPKI_RETURN_IF_ERROR(st);
  return AddIfMissing(layout_.CasDn(), {"organizationalUnit"}, {{"ou", {Text("CAs")}}});
}

Status LdapPublisher::PublishCa(const std::string& ca, ByteView cert_der,
                                const std::string& subject) {
  std::vector<Attr> attrs = {{"cACertificate;binary", {Bytes(cert_der.begin(), cert_der.end())}}};
  if (!subject.empty()) attrs.push_back({"description", {Text(subject)}});
  Status st;
  {
    std::lock_guard<std::mutex> lock(mu_);
    st = Upsert(layout_.CaDn(ca), {"applicationProcess", "pkiCA", "deltaCRL"}, {{"cn", {Text(ca)}}},
                attrs);
  }
  if (st.ok() || st.error().code() != ErrorCode::kNotFound) return st;
  // ou=CAs or the suffix is missing (a fresh directory): create them and try once more.
  GMPKI_RETURN_IF_ERROR(EnsureDit());
  std::lock_guard<std::mutex> lock(mu_);
  return Upsert(layout_.CaDn(ca), {"applicationProcess", "pkiCA", "deltaCRL"}, {{"cn", {Text(ca)}}},
                attrs);
}

Status LdapPublisher::PublishCrl(const std::string& ca, std::optional<std::int64_t> partition,
                                 bool delta, ByteView crl_der) {
  Bytes der(crl_der.begin(), crl_der.end());
  std::vector<Attr> attrs;
  if (delta) {
    attrs.push_back({"deltaRevocationList;binary", {der}});
  } else {
    // The CA's full CRL also covers its CA certificates, so it is its ARL as well (RFC 4523
    // §2.2: authorityRevocationList holds the CRL of CA certificates); a partition's CRL
    // covers only user certificates (onlyContainsUserCerts) and is not an ARL.
    attrs.push_back({"certificateRevocationList;binary", {der}});
    if (!partition) attrs.push_back({"authorityRevocationList;binary", {der}});
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!partition) {
    GMPKI_RETURN_IF_ERROR(ConnectLocked());
    ModList mod;
    for (const auto& a : attrs) mod.Add(LDAP_MOD_REPLACE, a.type, a.values);
    std::string dn = layout_.CaDn(ca);
    SigpipeGuard guard;
    int rc = ldap_modify_ext_s(conn_->ld, dn.c_str(), mod.get(), nullptr, nullptr);
    if (rc == LDAP_SUCCESS) return OkStatus();
    return Fail(rc, "LDAP modify '" + dn + "'");
  }
  std::string name = "crl-p" + std::to_string(*partition);
  return Upsert(layout_.PartitionDn(ca, *partition), {"cRLDistributionPoint"},
                {{"cn", {Text(name)}}}, attrs);
}

Status LdapPublisher::PublishCertificate(const std::string& ca, const std::string& serial_hex,
                                         const std::string& subject, const std::string& common_name,
                                         ByteView cert_der) {
  std::string cn = common_name.empty() ? serial_hex : common_name;
  std::vector<Attr> attrs = {{"cn", {Text(cn)}},
                             {"sn", {Text(cn)}},
                             {"userCertificate;binary", {Bytes(cert_der.begin(), cert_der.end())}}};
  if (!subject.empty()) attrs.push_back({"description", {Text(subject)}});
  std::lock_guard<std::mutex> lock(mu_);
  return Upsert(layout_.CertificateDn(ca, serial_hex), {"inetOrgPerson", "pkiUser"},
                {{"uid", {Text(serial_hex)}}}, attrs);
}

Status LdapPublisher::RemoveCertificate(const std::string& ca, const std::string& serial_hex) {
  std::lock_guard<std::mutex> lock(mu_);
  GMPKI_RETURN_IF_ERROR(ConnectLocked());
  std::string dn = layout_.CertificateDn(ca, serial_hex);
  SigpipeGuard guard;
  int rc = ldap_delete_ext_s(conn_->ld, dn.c_str(), nullptr, nullptr);
  if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT) return OkStatus();
  return Fail(rc, "LDAP delete '" + dn + "'");
}

}  // namespace gmpki::directory
