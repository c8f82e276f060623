#include "services/directory/tests/slapd_fixture.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <random>
#include <sstream>

namespace gmpki::directory::testing {
namespace fs = std::filesystem;

namespace {

// A port the kernel considers free now (bind to port 0, read it back, release it).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    socklen_t len = sizeof a;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

Status Script(const std::string& args) {
  int rc = 0;
  std::string out = RunCommand(std::string(GMPKI_SLAPD_INSTANCE) + " " + args + " 2>&1", &rc);
  if (rc != 0) return Error(ErrorCode::kInternal, "slapd-instance.sh " + args + ": " + out);
  return OkStatus();
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

bool SlapdInstalled() {
  return fs::exists("/usr/sbin/slapd") && fs::exists("/usr/bin/ldapsearch") &&
         fs::exists("/usr/sbin/slappasswd");
}

std::string RunCommand(const std::string& command, int* rc) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) {
    *rc = -1;
    return out;
  }
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = pclose(p);
  *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

Result<std::unique_ptr<SlapdPair>> SlapdPair::Start() {
  auto pair = std::unique_ptr<SlapdPair>(new SlapdPair());
  std::random_device rd;
  pair->dir_ = fs::temp_directory_path() /
               ("gmpki-ldap-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(pair->dir_);
  pair->master_port_ = FreePort();
  pair->replica_port_ = FreePort();
  std::string r = (pair->dir_ / "replica").string(), m = (pair->dir_ / "master").string();
  GMPKI_RETURN_IF_ERROR(Script("init-replica " + Quote(r) + " " +
                               std::to_string(pair->replica_port_) + " " + Quote(pair->suffix_)));
  GMPKI_RETURN_IF_ERROR(Script("init-master " + Quote(m) + " " +
                               std::to_string(pair->master_port_) + " " + Quote(pair->suffix_) +
                               " " + Quote(pair->replica_url()) + " " + Quote(r + "/manager.pw")));
  GMPKI_RETURN_IF_ERROR(Script("start " + Quote(r)));
  GMPKI_RETURN_IF_ERROR(Script("start " + Quote(m)));
  return pair;
}

SlapdPair::~SlapdPair() {
  // SIGKILL: a clean shutdown takes slapd 1-2 s and the directory is deleted anyway.
  (void)Script("kill " + Quote((dir_ / "master").string()));
  (void)Script("kill " + Quote((dir_ / "replica").string()));
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

Status SlapdPair::KillMaster() { return Script("kill " + Quote((dir_ / "master").string())); }
Status SlapdPair::StartMaster() { return Script("start " + Quote((dir_ / "master").string())); }

std::string SlapdPair::master_url() const {
  return "ldap://127.0.0.1:" + std::to_string(master_port_) + "/";
}
std::string SlapdPair::replica_url() const {
  return "ldap://127.0.0.1:" + std::to_string(replica_port_) + "/";
}

std::optional<std::vector<Bytes>> LdapsearchValues(const std::string& url, const std::string& dn,
                                                   const std::string& attr) {
  int rc = 0;
  std::string out =
      RunCommand("ldapsearch -x -LLL -o ldif-wrap=no -H " + Quote(url) + " -s base -b " +
                     Quote(dn) + " '(objectClass=*)' " + Quote(attr) + " 2>/dev/null",
                 &rc);
  if (rc == 32) return std::nullopt;  // noSuchObject
  std::vector<Bytes> values;
  std::istringstream in(out);
  std::string line;
  // Binary values come base64-encoded as "attr:: <base64>" (RFC 2849).
  std::string prefix = attr + ":: ";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      auto v = Base64Decode(line.substr(prefix.size()));
      if (v.ok()) values.push_back(*v);
    }
  }
  return values;
}

std::vector<std::string> LdapsearchDns(const std::string& url, const std::string& base,
                                       const std::string& filter) {
  int rc = 0;
  std::string out = RunCommand("ldapsearch -x -LLL -o ldif-wrap=no -H " + Quote(url) + " -b " +
                                   Quote(base) + " " + Quote(filter) + " dn 2>/dev/null",
                               &rc);
  std::vector<std::string> dns;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("dn: ", 0) == 0) dns.push_back(line.substr(4));
  }
  return dns;
}

}  // namespace gmpki::directory::testing
