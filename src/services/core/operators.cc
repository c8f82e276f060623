#include "services/core/operators.h"

#include <nlohmann/json.hpp>

namespace gmpki::services {

std::vector<store::Migration> CoreMigrations() {
  return {
      {10, "operators",
       "CREATE TABLE operators ("
       " name TEXT PRIMARY KEY,"
       " role TEXT NOT NULL,"
       " person TEXT NOT NULL,"
       " cert_fingerprint TEXT NOT NULL UNIQUE,"
       " status TEXT NOT NULL,"
       " created_unix INTEGER NOT NULL);"
       "CREATE INDEX operators_person ON operators(person)"},
  };
}

namespace {
Result<OperatorRecord> RowToOperator(const store::Row& r) {
  OperatorRecord o;
  o.name = r.Text(0);
  GMPKI_ASSIGN_OR_RETURN(o.role, ParseRole(r.Text(1)));
  o.person = r.Text(2);
  o.cert_fingerprint = r.Text(3);
  o.status = r.Text(4);
  o.created_unix = r.Int(5);
  return o;
}
constexpr const char* kColumns = "name, role, person, cert_fingerprint, status, created_unix";

Status CheckName(const std::string& name, const char* what) {
  if (name.empty() || name.size() > 64) {
    return Error(ErrorCode::kInvalidArgument, std::string(what) + " must be 1..64 characters");
  }
  for (char c : name) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return Error(ErrorCode::kInvalidArgument,
                   std::string(what) + " may hold only letters, digits, '-', '_' and '.'");
    }
  }
  return OkStatus();
}
}  // namespace

Result<OperatorRecord> OperatorRegistry::Enrol(const std::optional<Actor>& by,
                                               const std::string& name, Role role,
                                               const std::string& person,
                                               const std::string& cert_fingerprint) {
  GMPKI_RETURN_IF_ERROR(CheckName(name, "operator name"));
  GMPKI_RETURN_IF_ERROR(CheckName(person, "person"));
  if (cert_fingerprint.size() != 64) {
    return Error(ErrorCode::kInvalidArgument, "certificate fingerprint must be 64 hex digits (SM3)");
  }
  if (by) GMPKI_RETURN_IF_ERROR(Authorize(*by, Permission::kOperatorManage));
  if (role == Role::kRaSystem) {
    return Error(ErrorCode::kInvalidArgument,
                 "role ra-system belongs to registration systems enrolled by the CA "
                 "(gmpki ra enrol), not to operators");
  }

  audit::AuditEvent ev;
  ev.actor = by ? by->name : "bootstrap";
  ev.role = by ? std::string(RoleName(by->role)) : "";
  ev.action = "operator.enrol";
  ev.object = "operator:" + name;
  ev.detail = nlohmann::json{{"role", RoleName(role)}, {"cert_fingerprint", cert_fingerprint}}.dump();
  ev.time = clock_.Now();
  ev.node = node_;
  OperatorRecord rec{name, role, person, cert_fingerprint, "active", ToUnixSeconds(clock_.Now())};
  GMPKI_RETURN_IF_ERROR(audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    if (!by) {
      GMPKI_ASSIGN_OR_RETURN(auto count, tx.QueryOne("SELECT COUNT(*) FROM operators"));
      // The bootstrap path enrols the initial operators of a new home only.
      if (count && count->Int(0) >= static_cast<std::int64_t>(OperatorRoles().size())) {
        return Error(ErrorCode::kPermissionDenied, "bootstrap enrolment is closed; an operator "
                                                   "with role system-admin must enrol operators");
      }
    }
    if (IsAdministrativeRole(role)) {
      // CC-FMT separation of duties: one person, at most one of the three administrative roles.
      GMPKI_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT role FROM operators WHERE person = ? AND "
                                                 "status = 'active'",
                                                 {person}));
      for (const auto& r : rows) {
        auto other = ParseRole(r.Text(0));
        if (other.ok() && IsAdministrativeRole(*other) && *other != role) {
          return Error(ErrorCode::kPolicyViolation,
                       "separation of duties: person '" + person + "' already holds role " +
                           std::string(RoleName(*other)));
        }
      }
    }
    auto ins = tx.Exec("INSERT INTO operators (name, role, person, cert_fingerprint, status, "
                       "created_unix) VALUES (?, ?, ?, ?, 'active', ?)",
                       {name, std::string(RoleName(role)), person, cert_fingerprint,
                        rec.created_unix});
    if (!ins.ok()) {
      if (ins.error().code() == ErrorCode::kAlreadyExists) {
        return Error(ErrorCode::kAlreadyExists,
                     "an operator with name '" + name + "' or with this certificate exists");
      }
      return ins.error();
    }
    return OkStatus();
  }));
  return rec;
}

Status OperatorRegistry::Disable(const Actor& by, const std::string& name) {
  audit::AuditEvent ev{by.name, std::string(RoleName(by.role)), "operator.disable",
                       "operator:" + name, audit::Outcome::kSuccess, "", clock_.Now(), node_};
  return audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    GMPKI_RETURN_IF_ERROR(Authorize(by, Permission::kOperatorManage));
    if (by.name == name) return Error(ErrorCode::kConflict, "an operator cannot disable itself");
    GMPKI_ASSIGN_OR_RETURN(auto n, tx.Exec("UPDATE operators SET status = 'disabled' WHERE name = ? "
                                           "AND status = 'active'",
                                           {name}));
    if (n == 0) return Error(ErrorCode::kNotFound, "no active operator named '" + name + "'");
    return OkStatus();
  });
}

Result<std::vector<OperatorRecord>> OperatorRegistry::List(const Actor& by) {
  GMPKI_RETURN_IF_ERROR(Authorize(by, Permission::kOperatorManage));
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto rows, tx->Query(std::string("SELECT ") + kColumns +
                                              " FROM operators ORDER BY name"));
  std::vector<OperatorRecord> out;
  for (const auto& r : rows) {
    GMPKI_ASSIGN_OR_RETURN(auto o, RowToOperator(r));
    out.push_back(std::move(o));
  }
  return out;
}

Result<Actor> OperatorRegistry::Authenticate(const std::string& fp, const std::string& channel) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto row, tx->QueryOne(std::string("SELECT ") + kColumns +
                                                " FROM operators WHERE cert_fingerprint = ?",
                                                {fp}));
  GMPKI_RETURN_IF_ERROR(tx->Rollback());
  if (row) {
    GMPKI_ASSIGN_OR_RETURN(auto o, RowToOperator(*row));
    if (o.status == "active") return Actor{o.name, o.role};
  }
  // CC-FIA / CC-FAU: a failed identification is itself an auditable event.
  audit::AuditEvent ev{"unknown", "", "operator.authenticate", "cert:" + fp,
                       audit::Outcome::kFailure,
                       nlohmann::json{{"channel", channel}}.dump(), clock_.Now(), node_};
  GMPKI_ASSIGN_OR_RETURN(auto atx, db_.Begin());
  if (audit::AppendAudit(*atx, ev).ok()) (void)atx->Commit();
  return Error(ErrorCode::kUnauthenticated,
               row ? "operator certificate is disabled" : "certificate is not enrolled as an operator");
}

}  // namespace gmpki::services
