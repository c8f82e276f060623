// Test helper: a private slapd master and replica (tools/ldap/slapd-instance.sh, push-based
// replication) on free 127.0.0.1 ports in a temporary directory, stopped by PID; and the
// `ldapsearch` CLI as the independent client that reads entries back.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace gmpki::directory::testing {

// True when Debian's slapd and ldap-utils are installed.
bool SlapdInstalled();

// Runs `command` with /bin/sh; returns its stdout and sets *rc to its exit status.
std::string RunCommand(const std::string& command, int* rc);

class SlapdPair {
 public:
  static Result<std::unique_ptr<SlapdPair>> Start();
  ~SlapdPair();

  // SIGKILL, as a crash (LMDB keeps every committed write).
  Status KillMaster();
  Status StartMaster();

  const std::string& suffix() const { return suffix_; }
  std::string master_url() const;
  std::string replica_url() const;
  std::string manager_dn() const { return "cn=manager," + suffix_; }
  std::filesystem::path master_password_file() const { return dir_ / "master" / "manager.pw"; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::string suffix_ = "dc=gmpki,dc=test";
  int master_port_ = 0, replica_port_ = 0;
};

// The values of `attr` (e.g. "userCertificate;binary") on the entry `dn`, read with the
// ldapsearch CLI (anonymous, base scope). nullopt when the entry does not exist.
std::optional<std::vector<Bytes>> LdapsearchValues(const std::string& url, const std::string& dn,
                                                   const std::string& attr);
// The DNs under `base` (subtree) matching `filter`, read with ldapsearch.
std::vector<std::string> LdapsearchDns(const std::string& url, const std::string& base,
                                       const std::string& filter);

}  // namespace gmpki::directory::testing
