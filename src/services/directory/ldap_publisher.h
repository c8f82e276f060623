// Publishes CA certificates, end-entity certificates and CRLs to an LDAP directory (OpenLDAP
// slapd) under the attributes of RFC 4523 (X.509 certificates and CRLs in LDAP) and RFC 4517 /
// X.509 (2019) §11: cACertificate, userCertificate, certificateRevocationList,
// authorityRevocationList and deltaRevocationList, always with the ";binary" transfer option
// (RFC 4523 §2: "values of this syntax are to be transferred using the binary encoding").
// LD/T 02.1-2022 §7.3.2 (CA-03): the CA publishes certificates and CRLs to the directory.
//
// Directory layout under the suffix S (README.md "DIT"):
//   S                                   dcObject + organization
//   ou=CAs,S                            organizationalUnit
//   cn=<ca>,ou=CAs,S                    applicationProcess + pkiCA + deltaCRL: cACertificate,
//                                       certificateRevocationList, authorityRevocationList
//                                       (both the CA's full CRL), deltaRevocationList
//   cn=crl-p<N>,cn=<ca>,ou=CAs,S        cRLDistributionPoint: partition N's full and delta CRL
//   uid=<SERIAL>,cn=<ca>,ou=CAs,S       inetOrgPerson + pkiUser: userCertificate, cn / sn (the
//                                       subject's CN), description (the subject, RFC 4514)
// <ca> is the CA's name in gmpki and <SERIAL> the upper-case hex serial, so every name is unique
// and stable. Every write is an upsert (replace the attribute, or add the entry when missing):
// replaying an event is harmless.
//
// libldap (OpenLDAP's C API) lives only in this component's .cc files; this header names none of
// its types.
//
// Thread safety: thread-safe (one connection, used under a mutex). The connection is opened on
// first use and reopened after it breaks: a call that fails with kUnavailable may be retried.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace gmpki::directory {

struct LdapSettings {
  std::string url;            // "ldap://127.0.0.1:389/" (the master)
  std::string bind_dn;        // "cn=manager,dc=gmpki,dc=test"
  std::string password_file;  // the bind password: the file's first line (mode 0600)
  std::string suffix = "dc=gmpki,dc=test";
  // Network (connect) and per-operation timeout: a hung server fails the call, not the caller.
  std::chrono::milliseconds timeout{3000};
};

// What happens to a certificate's entry when the certificate is revoked or put on hold.
// kKeep (the default): the entry stays as issued; a relying party learns the status from the
// CRL published on the CA entry (and from OCSP), as X.509 §11 intends: the directory holds
// certificates and revocation lists, not status. kRemove: the entry is deleted while the
// certificate is not "good" (and published again on release from hold), for directories used
// to find encryption certificates, so no one encrypts to a revoked key.
enum class RevokedPolicy { kKeep, kRemove };

// Escapes a string for use as an RDN attribute value (RFC 4514 §2.4).
std::string EscapeDnValue(std::string_view value);

// The names of the layout above.
class DitLayout {
 public:
  explicit DitLayout(std::string suffix) : suffix_(std::move(suffix)) {}
  const std::string& suffix() const { return suffix_; }
  std::string CasDn() const;
  std::string CaDn(const std::string& ca) const;
  std::string PartitionDn(const std::string& ca, std::int64_t partition) const;
  std::string CertificateDn(const std::string& ca, const std::string& serial_hex) const;

 private:
  std::string suffix_;
};

class LdapPublisher {
 public:
  // Reads the password file and checks the settings; connects lazily (first call). Errors:
  // kConfigInvalid (empty url / bind_dn / suffix, or a url that is not ldap:// or ldaps://),
  // kIoError (password file unreadable or empty).
  static Result<std::unique_ptr<LdapPublisher>> Create(const LdapSettings& settings);
  ~LdapPublisher();
  LdapPublisher(const LdapPublisher&) = delete;
  LdapPublisher& operator=(const LdapPublisher&) = delete;

  const DitLayout& layout() const { return layout_; }

  // Connects and binds now (otherwise done by the first write). Errors, for every call below:
  // kUnavailable (server down, connection lost, timeout: retry later), kUnauthenticated (the
  // bind DN / password were refused: a configuration error, retrying will not help),
  // kPermissionDenied (the bound DN may not write there), kStorageFailure (anything else the
  // server refused, with its diagnostic message).
  Status Connect();
  // Creates the suffix entry and ou=CAs when missing.
  Status EnsureDit();
  // The CA entry with its certificate (DER X.509). Creates the DIT when missing.
  Status PublishCa(const std::string& ca, ByteView cert_der, const std::string& subject);
  // A CRL of `ca`: the full CRL (certificateRevocationList and authorityRevocationList) or a
  // delta (deltaRevocationList), on the CA entry or, for a partition, on its
  // cRLDistributionPoint entry. kNotFound when the CA entry does not exist yet.
  Status PublishCrl(const std::string& ca, std::optional<std::int64_t> partition, bool delta,
                    ByteView crl_der);
  // An end-entity certificate (userCertificate). `subject` is its RFC 4514 subject and
  // `common_name` its CN (empty: the serial is used, inetOrgPerson requires cn and sn).
  // kNotFound when the CA entry does not exist yet.
  Status PublishCertificate(const std::string& ca, const std::string& serial_hex,
                            const std::string& subject, const std::string& common_name,
                            ByteView cert_der);
  // Deletes a certificate's entry; success when it is absent already.
  Status RemoveCertificate(const std::string& ca, const std::string& serial_hex);

 private:
  struct Conn;
  struct Attr {
    std::string type;
    std::vector<Bytes> values;
  };
  LdapPublisher(LdapSettings settings, SecretBytes password);
  Status ConnectLocked();
  // Replaces `attrs` on `dn`; adds the entry with `object_classes` + `rdn_attrs` + `attrs`
  // when it does not exist.
  Status Upsert(const std::string& dn, const std::vector<std::string>& object_classes,
                const std::vector<Attr>& rdn_attrs, const std::vector<Attr>& attrs);
  Status AddIfMissing(const std::string& dn, const std::vector<std::string>& object_classes,
                      const std::vector<Attr>& attrs);
  // Maps a libldap result code to an Error, dropping the connection when it is broken.
  Error Fail(int rc, const std::string& what);

  LdapSettings settings_;
  SecretBytes password_;
  DitLayout layout_;
  std::mutex mu_;
  std::unique_ptr<Conn> conn_;
};

}  // namespace gmpki::directory
