#include "services/core/roles.h"

#include <array>

namespace gmpki::services {
namespace {
struct RoleEntry {
  Role role;
  std::string_view name;
};
constexpr std::array<RoleEntry, 7> kRoles{{
    {Role::kSystemAdmin, "system-admin"},
    {Role::kSecurityAdmin, "security-admin"},
    {Role::kAuditAdmin, "audit-admin"},
    {Role::kCaOperator, "ca-operator"},
    {Role::kRaOperator, "ra-operator"},
    {Role::kRaSystem, "ra-system"},
    {Role::kKmOfficer, "km-officer"},
}};

// The permission matrix. Read permissions are granted to the roles that need to see
// certificates; the audit administrator sees only the audit trail (CC-FMT separation).
bool Allowed(Role r, Permission p) {
  switch (p) {
    case Permission::kCaCreate:
    case Permission::kCtlIssue:
      return r == Role::kSecurityAdmin;
    case Permission::kCertIssue:
    case Permission::kCertRevoke:
      // A registration system's requests are further limited to the CAs and profiles the CA
      // authorised for it (services/ca/ra_trust.h).
      return r == Role::kCaOperator || r == Role::kRaSystem;
    case Permission::kCrlIssue:
      return r == Role::kCaOperator;
    case Permission::kCertRead:
      return r == Role::kCaOperator || r == Role::kSecurityAdmin || r == Role::kSystemAdmin ||
             r == Role::kRaSystem;
    case Permission::kAuditRead:
      return r == Role::kAuditAdmin;
    case Permission::kOperatorManage:
      return r == Role::kSystemAdmin;
    case Permission::kRaManage:
      return r == Role::kSecurityAdmin;
    case Permission::kSubscriberWrite:
    case Permission::kSubscriberReview:
    case Permission::kSubscriberRead:
    case Permission::kPiiRead:
    case Permission::kCertRequest:
      return r == Role::kRaOperator;
    case Permission::kKmManage:
      return r == Role::kSecurityAdmin;
    case Permission::kKmRead:
      return r == Role::kSecurityAdmin || r == Role::kKmOfficer;
    case Permission::kKmRecover:
      return r == Role::kKmOfficer;
    case Permission::kKmBackup:
      return r == Role::kSystemAdmin;
  }
  return false;
}
}  // namespace

std::string_view RoleName(Role r) {
  for (const auto& e : kRoles)
    if (e.role == r) return e.name;
  return "unknown";
}

Result<Role> ParseRole(std::string_view name) {
  for (const auto& e : kRoles)
    if (e.name == name) return e.role;
  return Error(ErrorCode::kInvalidArgument,
               "unknown role '" + std::string(name) +
                   "' (expected system-admin, security-admin, audit-admin, ca-operator, "
                   "ra-operator, ra-system or km-officer)");
}

std::vector<Role> AllRoles() {
  return {Role::kSystemAdmin, Role::kSecurityAdmin, Role::kAuditAdmin,
          Role::kCaOperator,  Role::kRaOperator,    Role::kRaSystem, Role::kKmOfficer};
}

std::vector<Role> OperatorRoles() {
  std::vector<Role> out;
  for (Role r : AllRoles())
    if (r != Role::kRaSystem) out.push_back(r);
  return out;
}

bool IsAdministrativeRole(Role r) {
  return r == Role::kSystemAdmin || r == Role::kSecurityAdmin || r == Role::kAuditAdmin;
}

std::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kCaCreate: return "ca.create";
    case Permission::kCtlIssue: return "ctl.issue";
    case Permission::kCertIssue: return "cert.issue";
    case Permission::kCertRevoke: return "cert.revoke";
    case Permission::kCrlIssue: return "crl.issue";
    case Permission::kCertRead: return "cert.read";
    case Permission::kAuditRead: return "audit.read";
    case Permission::kOperatorManage: return "operator.manage";
    case Permission::kRaManage: return "ra.manage";
    case Permission::kSubscriberWrite: return "subscriber.write";
    case Permission::kSubscriberReview: return "subscriber.review";
    case Permission::kSubscriberRead: return "subscriber.read";
    case Permission::kPiiRead: return "pii.read";
    case Permission::kCertRequest: return "cert.request";
    case Permission::kKmManage: return "km.manage";
    case Permission::kKmRead: return "km.read";
    case Permission::kKmRecover: return "km.recover";
    case Permission::kKmBackup: return "km.backup";
  }
  return "unknown";
}

Status Authorize(const Actor& actor, Permission p) {
  if (Allowed(actor.role, p)) return OkStatus();
  return Error(ErrorCode::kPermissionDenied, "operator '" + actor.name + "' with role " +
                                                 std::string(RoleName(actor.role)) +
                                                 " may not perform " + std::string(PermissionName(p)));
}

}  // namespace gmpki::services
