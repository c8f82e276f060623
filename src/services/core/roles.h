// Operators, roles and permissions (CC-FMT, CC-FIA). Every operation of every service names the
// permission it needs; Authorize() is the single place that decides.
//
// Separation of duties (CC-FMT): the system administrator, security administrator and audit
// administrator roles are mutually exclusive for one person; enrolment refuses a second of them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace gmpki::services {

// PERSISTENT: stored by name in the operators table and in audit records.
enum class Role {
  kSystemAdmin,    // "system-admin": configuration, operator enrolment
  kSecurityAdmin,  // "security-admin": CA keys and hierarchy, trust list
  kAuditAdmin,     // "audit-admin": audit review and verification only
  kCaOperator,     // "ca-operator": certificate and CRL operations
  kRaOperator,     // "ra-operator": subscriber entry, review (never one's own entry), requests
  // "ra-system": a registration system (RA) or CMP client acting on the CA through its own
  // certificate or shared secret, within the CAs and profiles the CA authorised for it. Never
  // an operator's role: OperatorRegistry refuses to enrol a person with it.
  kRaSystem,
  // "km-officer": key management centre recovery officer. A judicial recovery needs two of them
  // (dual control, KM-09); the package they release is encrypted to the requesting authority.
  kKmOfficer,
};

std::string_view RoleName(Role r);
Result<Role> ParseRole(std::string_view name);
std::vector<Role> AllRoles();
// The roles a person may hold (every role but ra-system).
std::vector<Role> OperatorRoles();
bool IsAdministrativeRole(Role r);  // the three roles under separation of duties

enum class Permission {
  kCaCreate,         // create a root or subordinate CA, import an external root
  kCtlIssue,         // sign the certificate trust list
  kCertIssue,        // issue, renew, re-key
  kCertRevoke,       // revoke, hold, release
  kCrlIssue,
  kCertRead,         // search, export, CA and profile listings
  kAuditRead,        // audit search and verification
  kOperatorManage,   // enrol, disable operators
  kRaManage,         // CA side: enrol, authorise, suspend and resume registration systems
  kSubscriberWrite,  // RA: enter and modify subscriber records, submit batches
  kSubscriberReview, // RA: approve or reject records and requests (four-eyes: never one's own)
  kSubscriberRead,   // RA: query subscribers (personal numbers masked)
  kPiiRead,          // RA: see personal ID and social security numbers unmasked
  kCertRequest,      // RA: request, renew, download certificates, request revocation
  kKmManage,         // KM: register, suspend, resume the CAs the KM serves
  kKmRead,           // KM: key metadata, pool state, recoveries (never a private key)
  kKmRecover,        // KM: request and approve judicial recoveries (dual control)
  kKmBackup,         // KM: export and import the encrypted store backup
};

std::string_view PermissionName(Permission p);

// The authenticated caller of an operation.
struct Actor {
  std::string name;  // operator name (unique)
  Role role;
};

// kPermissionDenied with a message naming the role and the permission.
Status Authorize(const Actor& actor, Permission p);

}  // namespace gmpki::services
