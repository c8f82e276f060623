// Registration points (LD/T 02.1 §7.5.2 "证书注册点"; RA-02): the operator terminals of this RA
// and the binding of ra-operators to them. Managed by the system administrator
// (kOperatorManage): a point is operator configuration, like operator enrolment, which that
// role already owns; the security administrator's remit is keys and trust, and giving it
// points too would let one person both enrol an operator's terminal and the CA's trust.
#include <algorithm>

#include "services/ra/ra_internal.h"

namespace gmpki::ra {
namespace {

using services::Permission;

Status ValidatePointName(const std::string& name, std::string_view what) {
  if (name.empty() || name.size() > 64) {
    return Error(ErrorCode::kInvalidArgument, std::string(what) + " must have 1..64 characters");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || (c >= 'A' && c <= 'Z');
    if (!ok) {
      return Error(ErrorCode::kInvalidArgument,
                   std::string(what) + " may hold only letters, digits and . _ -");
    }
  }
  return OkStatus();
}

Result<PointRecord> LoadPoint(store::Transaction& tx, const std::string& ra,
                              const std::string& name) {
  GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT name, ra, description, location, status, "
                                               "created_unix FROM ra_points WHERE name = ?",
                                               {name}));
  if (!row || row->Text(1) != ra) {
    return Error(ErrorCode::kNotFound, "no registration point '" + name + "' in RA '" + ra + "'");
  }
  PointRecord p{row->Text(0), row->Text(1), row->Text(2), row->Text(3), row->Text(4), {},
                row->Int(5)};
  GMPKI_ASSIGN_OR_RETURN(auto ops, tx.Query("SELECT operator FROM ra_point_operators WHERE "
                                            "point = ? ORDER BY operator",
                                            {name}));
  for (const auto& o : ops) p.operators.push_back(o.Text(0));
  return p;
}

}  // namespace

Result<PointRecord> RaService::CreatePoint(const services::Actor& actor, const std::string& name,
                                           const std::string& description,
                                           const std::string& location) {
  PointRecord out;
  GMPKI_RETURN_IF_ERROR(Run(actor, "ra.point.create", "ra-point:" + name,
                            Permission::kOperatorManage, false,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx&) -> Status {
    GMPKI_RETURN_IF_ERROR(ValidatePointName(name, "point name"));
    if (description.size() > 256 || location.size() > 256) {
      return Error(ErrorCode::kInvalidArgument, "description and location: at most 256 bytes");
    }
    std::int64_t now = ToUnixSeconds(clock_.Now());
    auto ins = tx.Exec("INSERT INTO ra_points (name, ra, description, location, status, created_by,"
                       " created_unix, updated_unix) VALUES (?, ?, ?, ?, 'active', ?, ?, ?)",
                       {name, settings_.ra_name, description, location, actor.name, now, now});
    if (!ins.ok()) {
      if (ins.error().code() == ErrorCode::kAlreadyExists) {
        return Error(ErrorCode::kAlreadyExists, "registration point '" + name + "' exists");
      }
      return ins.error();
    }
    GMPKI_ASSIGN_OR_RETURN(out, LoadPoint(tx, settings_.ra_name, name));
    return OkStatus();
  }));
  return out;
}

Result<std::vector<PointRecord>> RaService::ListPoints(const services::Actor& actor) {
  std::vector<PointRecord> out;
  GMPKI_RETURN_IF_ERROR(Run(actor, "ra.point.list", "", Permission::kOperatorManage, false,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx&) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT name FROM ra_points WHERE ra = ? ORDER BY "
                                               "name",
                                               {settings_.ra_name}));
    for (const auto& r : rows) {
      GMPKI_ASSIGN_OR_RETURN(auto p, LoadPoint(tx, settings_.ra_name, r.Text(0)));
      out.push_back(std::move(p));
    }
    return OkStatus();
  }));
  return out;
}

Result<PointRecord> RaService::SetPointActive(const services::Actor& actor, const std::string& name,
                                              bool active) {
  PointRecord out;
  GMPKI_RETURN_IF_ERROR(Run(actor, active ? "ra.point.resume" : "ra.point.suspend",
                            "ra-point:" + name, Permission::kOperatorManage, false,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx&) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto p, LoadPoint(tx, settings_.ra_name, name));
    std::string want = active ? "active" : "suspended";
    if (p.status == want) {
      return Error(ErrorCode::kConflict, "registration point '" + name + "' is already " + want);
    }
    GMPKI_RETURN_IF_ERROR(tx.Exec("UPDATE ra_points SET status = ?, updated_unix = ? WHERE name = ?",
                                  {want, ToUnixSeconds(clock_.Now()), name}));
    p.status = want;
    out = std::move(p);
    return OkStatus();
  }));
  return out;
}

Status RaService::BindOperator(const services::Actor& actor, const std::string& operator_name,
                               const std::string& point) {
  return Run(actor, "ra.point.bind", "operator:" + operator_name, Permission::kOperatorManage,
             false, [&](store::Transaction& tx, audit::AuditEvent&, const Ctx& ctx) -> Status {
    GMPKI_RETURN_IF_ERROR(ValidatePointName(operator_name, "operator name"));
    (*ctx.detail)["point"] = point;
    GMPKI_RETURN_IF_ERROR(LoadPoint(tx, settings_.ra_name, point));
    std::int64_t now = ToUnixSeconds(clock_.Now());
    GMPKI_RETURN_IF_ERROR(tx.Exec("DELETE FROM ra_point_operators WHERE operator = ?",
                                  {operator_name}));
    GMPKI_RETURN_IF_ERROR(tx.Exec("INSERT INTO ra_point_operators (operator, point, bound_by, "
                                  "bound_unix) VALUES (?, ?, ?, ?)",
                                  {operator_name, point, actor.name, now}));
    return OkStatus();
  });
}

Status RaService::UnbindOperator(const services::Actor& actor, const std::string& operator_name) {
  return Run(actor, "ra.point.unbind", "operator:" + operator_name, Permission::kOperatorManage,
             false, [&](store::Transaction& tx, audit::AuditEvent&, const Ctx&) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto n, tx.Exec("DELETE FROM ra_point_operators WHERE operator = ?",
                                           {operator_name}));
    if (n == 0) {
      return Error(ErrorCode::kNotFound,
                   "operator '" + operator_name + "' is not bound to a registration point");
    }
    return OkStatus();
  });
}

}  // namespace gmpki::ra
