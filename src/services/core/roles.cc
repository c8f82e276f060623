#include "services/core/roles.h"

#include <array>

namespace gmpki::services {
namespace {
struct RoleEntry {
  Role role;
  std::string_view name;
};
constexpr std::array<RoleEntry, 4> kRoles{{
    {Role::kSystemAdmin, "system-admin"},
    {Role::kSecurityAdmin, "security-admin"},
    {Role::kAuditAdmin, "audit-admin"},
    {Role::kCaOperator, "ca-operator"},
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
    case Permission::kCrlIssue:
      return r == Role::kCaOperator;
    case Permission::kCertRead:
      return r == Role::kCaOperator || r == Role::kSecurityAdmin || r == Role::kSystemAdmin;
    case Permission::kAuditRead:
      return r == Role::kAuditAdmin;
    case Permission::kOperatorManage:
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
                   "' (expected system-admin, security-admin, audit-admin or ca-operator)");
}

std::vector<Role> AllRoles() { return {Role::kSystemAdmin, Role::kSecurityAdmin, Role::kAuditAdmin, Role::kCaOperator}; }

bool IsAdministrativeRole(Role r) { return r != Role::kCaOperator; }

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
